#pragma once
#include <Eigen/Dense>

#include <cmath>
#include <limits>
#include <vector>

namespace absrep {

// The last digits of a smooth minimisation. Near a minimum, differences of the objective
// fall below its own rounding (|∇f|·|step| ~ 1e-13·|f| for our energies), so line searches
// that compare function values (LBFGSpp's) stop with gradients ~1e-8. This L-BFGS uses an
// approximate-Wolfe line search (Hager & Zhang 2005): the sufficient-decrease test allows a
// slack of the rounding noise and the curvature test, on directional derivatives, does the
// real work. Variables resting on a bound (lb or ub) stay there; the others move.
// f(x, grad) → value, as LBFGSpp functors. Returns the iterations taken.
template <class F>
int finish_lbfgs(F& f, Eigen::VectorXd& x, const Eigen::VectorXd& lb, const Eigen::VectorXd& ub, double tol,
                 int max_iter = 5000) {
  const Eigen::Index n = x.size();
  Eigen::Array<bool, Eigen::Dynamic, 1> free(n);
  for (Eigen::Index j = 0; j < n; ++j) free(j) = x(j) > lb(j) && x(j) < ub(j);
  auto masked = [&](Eigen::VectorXd v) {
    for (Eigen::Index j = 0; j < n; ++j)
      if (!free(j)) v(j) = 0.0;
    return v;
  };
  Eigen::VectorXd g(n);
  double fx = f(x, g);
  g = masked(g);
  const int memory = 10;
  std::vector<Eigen::VectorXd> S, Y;
  int it = 0;
  for (; it < max_iter && g.norm() > tol; ++it) {
    // Two-loop recursion.
    Eigen::VectorXd d = -g;
    std::vector<double> alpha(S.size());
    for (int k = static_cast<int>(S.size()) - 1; k >= 0; --k) {
      alpha[k] = S[k].dot(d) / Y[k].dot(S[k]);
      d -= alpha[k] * Y[k];
    }
    if (!S.empty()) d *= S.back().dot(Y.back()) / Y.back().squaredNorm();
    for (std::size_t k = 0; k < S.size(); ++k) d += (alpha[k] - Y[k].dot(d) / Y[k].dot(S[k])) * S[k];
    double slope0 = g.dot(d);
    if (!(slope0 < 0)) {
      d = -g;
      slope0 = -g.squaredNorm();
      S.clear();
      Y.clear();
    }
    double step = S.empty() ? std::min(1.0, 1e-3 * (1.0 + x.norm()) / g.norm()) : 1.0;
    double lo = 0.0, hi = std::numeric_limits<double>::infinity();  // bracket on the step
    const double slack = 1e-12 * std::abs(fx);  // E is evaluated to ~1e-13 relative (cond(K+λ2I)·eps)
    Eigen::VectorXd xt, gt(n);
    double ft = fx;
    bool accepted = false;
    for (int ls = 0; ls < 60; ++ls) {
      xt = (x + step * d).cwiseMax(lb).cwiseMin(ub);
      ft = f(xt, gt);
      gt = masked(gt);
      const double slope = gt.dot(d);
      if (ft > fx + 1e-4 * step * slope0 + slack) {
        hi = step;  // too far
      } else if (slope < 0.9 * slope0) {
        lo = step;  // still steep: further
      } else {
        accepted = true;
        break;
      }
      step = std::isfinite(hi) ? 0.5 * (lo + hi) : 2.0 * step;
    }
    if (!accepted || !(ft <= fx + slack)) break;
    const Eigen::VectorXd s = xt - x, y = gt - g;
    if (s.dot(y) > 1e-300) {
      if (static_cast<int>(S.size()) == memory) {
        S.erase(S.begin());
        Y.erase(Y.begin());
      }
      S.push_back(s);
      Y.push_back(y);
    }
    x = xt;
    g = gt;
    fx = ft;
  }
  return it;
}

}  // namespace absrep
