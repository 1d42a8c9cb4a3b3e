#include "core/box_qp.hpp"

#include <vector>

namespace absrep {

Eigen::VectorXd solve_box_qp(const Eigen::MatrixXd& Q, const Eigen::VectorXd& q, const Eigen::VectorXd& lo,
                             const Eigen::VectorXd& hi, int max_iter) {
  const Eigen::Index n = q.size();
  auto objective = [&](const Eigen::VectorXd& s) { return 0.5 * s.dot(Q * s) + q.dot(s); };
  auto project = [&](const Eigen::VectorXd& s) { return s.cwiseMax(lo).cwiseMin(hi).eval(); };
  Eigen::VectorXd s = project(Eigen::VectorXd::Zero(n));
  const double scale = 1.0 + Q.diagonal().cwiseAbs().maxCoeff();
  for (int it = 0; it < max_iter; ++it) {
    const Eigen::VectorXd g = Q * s + q;
    // Variables held at a bound by their gradient stay fixed this step.
    std::vector<Eigen::Index> free;
    for (Eigen::Index i = 0; i < n; ++i) {
      const bool at_lo = s(i) <= lo(i) && g(i) > 0, at_hi = s(i) >= hi(i) && g(i) < 0;
      if (!at_lo && !at_hi) free.push_back(i);
    }
    if (free.empty()) break;
    const auto F = static_cast<Eigen::Index>(free.size());
    Eigen::MatrixXd QF(F, F);
    Eigen::VectorXd gF(F);
    for (Eigen::Index a = 0; a < F; ++a) {
      gF(a) = g(free[a]);
      for (Eigen::Index b = 0; b < F; ++b) QF(a, b) = Q(free[a], free[b]);
    }
    if (gF.norm() <= 1e-15 * scale * (1.0 + s.norm())) break;
    QF.diagonal().array() += 1e-14 * scale;  // PSD, possibly singular: a whisker of ridge
    const Eigen::VectorXd dF = -QF.ldlt().solve(gF);
    Eigen::VectorXd d = Eigen::VectorXd::Zero(n);
    for (Eigen::Index a = 0; a < F; ++a) d(free[a]) = dF(a);
    const double f0 = objective(s);
    double t = 1.0;
    Eigen::VectorXd trial = project(s + d);
    while (objective(trial) > f0 && t > 1e-12) {
      t *= 0.5;
      trial = project(s + t * d);
    }
    if ((trial - s).norm() <= 1e-16 * (1.0 + s.norm())) break;
    s = trial;
  }
  return s;
}

}  // namespace absrep
