#include "metrics/metrics.hpp"

#include <cmath>
#include <limits>

namespace absrep {

ParallelismScore parallelism_score(const Task& task, const Eigen::MatrixXd& K) {
  const Eigen::MatrixXd M = task.class_means();
  const Eigen::MatrixXd Kc = M.transpose() * K * M;  // kernel between class prototypes
  const int m = task.labels(), C = task.classes();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double floor = 1e-14 * std::max(Kc.diagonal().cwiseAbs().maxCoeff(), 1e-300);
  ParallelismScore out;
  for (int k = 0; k < m; ++k) {
    // Coding vectors for label k: pairs (class with bit k set, the same with bit k clear).
    std::vector<int> plus, minus;
    for (int j = 0; j < C; ++j)
      if ((j >> k) & 1) {
        plus.push_back(j);
        minus.push_back(j & ~(1 << k));
      }
    const int D = static_cast<int>(plus.size());
    Eigen::MatrixXd inner(D, D);  // ⟨Δ_a, Δ_b⟩ from the prototype kernel
    for (int a = 0; a < D; ++a)
      for (int b = 0; b < D; ++b)
        inner(a, b) = Kc(plus[a], plus[b]) - Kc(plus[a], minus[b]) - Kc(minus[a], plus[b]) +
                      Kc(minus[a], minus[b]);
    double sum = 0.0;
    bool defined = inner.diagonal().minCoeff() > floor;
    for (int a = 0; a < D && defined; ++a)
      for (int b = a + 1; b < D; ++b) sum += inner(a, b) / std::sqrt(inner(a, a) * inner(b, b));
    out.per_label.push_back(defined ? sum / (D * (D - 1) / 2) : nan);
  }
  double total = 0.0;
  for (double v : out.per_label) total += v;
  out.ps = total / m;
  return out;
}

ParallelismScore parallelism_score_from_activity(const Task& task, const Eigen::MatrixXd& R) {
  return parallelism_score(task, R.transpose() * R);
}

double kernel_relative_error(const Eigen::MatrixXd& K, const Eigen::MatrixXd& K_ref) {
  return (K - K_ref).norm() / K_ref.norm();
}

double participation_ratio(const Eigen::MatrixXd& K) {
  const auto P = K.rows();
  const Eigen::MatrixXd C = Eigen::MatrixXd::Identity(P, P) - Eigen::MatrixXd::Constant(P, P, 1.0 / P);
  const Eigen::VectorXd lam =
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(C * K * C, Eigen::EigenvaluesOnly)
          .eigenvalues()
          .cwiseMax(0.0);
  const double s2 = lam.squaredNorm();
  return s2 > 0 ? lam.sum() * lam.sum() / s2 : std::numeric_limits<double>::quiet_NaN();
}

Selectivity selectivity(const Task& task, const Eigen::MatrixXd& R, double tol, double active_tol) {
  const int m = task.labels(), C = task.classes();
  const Eigen::MatrixXd means = R * task.class_means();  // neurons × C
  // Walsh coefficient of label k alone: ⟨r, y_k⟩/C over the class corners.
  Eigen::MatrixXd Wk(C, m);
  for (int j = 0; j < C; ++j)
    for (int k = 0; k < m; ++k) Wk(j, k) = Task::sign(j, k) / C;
  Selectivity s;
  const double max_norm = R.rowwise().norm().maxCoeff();
  for (Eigen::Index i = 0; i < R.rows(); ++i) {
    if (!(R.row(i).norm() > active_tol * max_norm)) continue;
    ++s.active;
    const Eigen::RowVectorXd r = means.row(i);
    const double variance = (r.array() - r.mean()).square().sum();  // = C·Σ_{S≠∅} coef_S²
    const Eigen::RowVectorXd coef = r * Wk;
    const double best = C * coef.array().square().maxCoeff();
    if (variance > 0 && best >= (1 - tol) * variance)
      ++s.single_label;
    else
      ++s.mixed;
  }
  s.fraction_single = s.active ? double(s.single_label) / s.active : std::numeric_limits<double>::quiet_NaN();
  return s;
}

}  // namespace absrep
