#include "theory/deep_box.hpp"

#include <LBFGS.h>

#include <cmath>

#include "theory/closed_form.hpp"

namespace absrep {

namespace {

// E over u = log A (so A > 0 without constraints), with its gradient.
struct BoxEnergy {
  double m, P, q;
  const std::vector<double>& lams;
  double operator()(const Eigen::VectorXd& u, Eigen::VectorXd& grad) const {
    const auto L = u.size();
    const Eigen::VectorXd A = u.array().exp();
    grad.setZero(L);
    double E = lams[0] * m * q * A(0);
    grad(0) += lams[0] * m * q * A(0);
    for (Eigen::Index l = 1; l < L; ++l) {
      const double term = lams[l] * (m + 1) * A(l) / (2 * A(l - 1));
      E += term;
      grad(l) += term;      // ∂/∂u_ℓ of A_ℓ/A_{ℓ−1}
      grad(l - 1) -= term;  // ∂/∂u_{ℓ−1}
    }
    const double lo = lams[L], cL = A(L - 1) / 2, denom = cL * P + lo;
    E += 0.5 * lo * m * P / denom;
    grad(L - 1) += -0.5 * lo * m * P * P * cL / (denom * denom);  // dc/du = c
    return E;
  }
};

}  // namespace

DeepBox deep_relu_box(const Task& task, const GeometrySpec& g, const std::vector<double>& lams) {
  DeepBox out;
  const int L = static_cast<int>(lams.size()) - 1;
  if (L < 1 || !task.isotropic() || g.kind == GeometryKind::gaussian || g.alpha.size() != 1 || g.alpha[0] < g.beta)
    return out;
  const BoxEnergy f{double(task.labels()), double(task.samples()), relu_ray_weight(task, g, 0), lams};
  LBFGSpp::LBFGSParam<double> param;
  param.epsilon = 1e-12;
  param.epsilon_rel = 0.0;
  param.max_iterations = 2000;
  LBFGSpp::LBFGSSolver<double> solver(param);
  Eigen::VectorXd u = Eigen::VectorXd::Zero(L);
  double E = 0.0;
  try {
    solver.minimize(f, u, E);
  } catch (const std::exception&) {
    // converged to the precision of E: u is the last accepted point
  }
  Eigen::VectorXd grad;
  out.energy = f(u, grad);
  const int P = task.samples(), m = task.labels();
  const Eigen::MatrixXd box = task.Ky() + m * Eigen::MatrixXd::Ones(P, P);
  for (int l = 0; l < L; ++l) {
    out.c.push_back(std::exp(u(l)) / 2);
    out.K.push_back(out.c.back() * box);
  }
  out.applicable = true;
  return out;
}

}  // namespace absrep
