#include "meanfield/kkt.hpp"

#include <LBFGS.h>

#include <cmath>
#include <limits>

#include "core/random.hpp"

namespace absrep {

std::string to_string(KktMethod m) { return m == KktMethod::exact ? "exact" : "search"; }

double kkt_ratio(const EffectiveProblem& pr, const Eigen::MatrixXd& G, const Eigen::VectorXd& h,
                 Eigen::VectorXd* grad) {
  const Activation& act = pr.activation();
  const auto P = h.size();
  Eigen::VectorXd phi(P), dphi(P);
  for (Eigen::Index p = 0; p < P; ++p) {
    phi(p) = act.value(h(p));
    dphi(p) = act.derivative(h(p));
  }
  const Eigen::VectorXd Gphi = G * phi, Kh = pr.Kx_pinv() * h;
  const double num = phi.dot(Gphi), den = h.dot(Kh), w = pr.lam2() / pr.lam1();
  if (!(den > 0)) {
    if (grad) grad->setZero(P);
    return 1.0;
  }
  if (grad) *grad = -w * (2.0 * dphi.cwiseProduct(Gphi) * den - num * 2.0 * Kh) / (den * den);
  return 1.0 - w * num / den;
}

namespace {

// relu: the largest sign-consistent generalised eigenvalue over all faces.
KktReport exact_relu(const EffectiveProblem& pr, const Eigen::MatrixXd& G) {
  const int P = pr.P();
  const Eigen::MatrixXd& Kinv = pr.Kx_pinv();
  KktReport rep;
  rep.method = KktMethod::exact;
  double best = 0.0;  // R ≥ 0 always (the face with no positive entry gives φ = 0)
  Eigen::VectorXd best_h = Eigen::VectorXd::Zero(P);
  std::vector<int> sigma(P, 0);  // digits: 0 → 0, 1 → +, 2 → −
  std::vector<int> J;
  J.reserve(P);
  Eigen::GeneralizedSelfAdjointEigenSolver<Eigen::MatrixXd> ges;
  while (true) {
    int i = 0;  // next pattern (base-3 counter)
    while (i < P && sigma[i] == 2) sigma[i++] = 0;
    if (i == P) break;
    ++sigma[i];
    J.clear();
    bool any_plus = false;
    for (int p = 0; p < P; ++p)
      if (sigma[p]) {
        J.push_back(p);
        any_plus |= sigma[p] == 1;
      }
    if (!any_plus) continue;  // φ(h) = 0 on this face
    ++rep.evaluated;
    const int n = static_cast<int>(J.size());
    Eigen::MatrixXd A(n, n), B(n, n);
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < n; ++b) {
        B(a, b) = Kinv(J[a], J[b]);
        A(a, b) = (sigma[J[a]] == 1 && sigma[J[b]] == 1) ? G(J[a], J[b]) : 0.0;
      }
    ges.compute(A, B);
    // The eigenvalue only screens candidates: it carries the pencil's rounding (~1e-10 at
    // λ2 = 1e-3), so each sign-consistent eigenvector is scored by its Rayleigh quotient.
    const double screen = best - 1e-8 * (1.0 + best);
    for (int e = n - 1; e >= 0 && ges.eigenvalues()(e) > screen; --e) {
      const Eigen::VectorXd v = ges.eigenvectors().col(e);
      for (double sign : {1.0, -1.0}) {
        bool consistent = true;
        for (int a = 0; a < n && consistent; ++a)
          consistent = (sigma[J[a]] == 1 ? sign * v(a) > 0 : sign * v(a) < 0);
        if (!consistent) continue;
        Eigen::VectorXd h = Eigen::VectorXd::Zero(P);
        for (int a = 0; a < n; ++a) h(J[a]) = sign * v(a);
        const Eigen::VectorXd phi = h.cwiseMax(0.0);
        const double value = phi.dot(G * phi) / h.dot(Kinv * h);
        if (value > best) {
          best = value;
          best_h = h;
        }
      }
    }
  }
  rep.kkt_min = 1.0 - pr.lam2() / pr.lam1() * best;
  rep.argmin = best_h.normalized();
  return rep;
}

// Top generalised eigenpair of (G, Kx⁺) on col(Kx): the linear quotient's maximum.
std::pair<double, Eigen::VectorXd> linear_top(const EffectiveProblem& pr, const Eigen::MatrixXd& G) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(pr.Kx());
  const Eigen::VectorXd& lam = eig.eigenvalues();
  const double tol = 1e-12 * pr.P() * std::max(1.0, lam.cwiseAbs().maxCoeff());
  std::vector<int> keep;
  for (int i = 0; i < pr.P(); ++i)
    if (lam(i) > tol) keep.push_back(i);
  // h = U_r Λ^{1/2} z: hᵀKx⁺h = |z|², so the quotient is an ordinary eigenproblem in z.
  Eigen::MatrixXd T(pr.P(), keep.size());
  for (std::size_t a = 0; a < keep.size(); ++a) T.col(a) = std::sqrt(lam(keep[a])) * eig.eigenvectors().col(keep[a]);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> top(T.transpose() * G * T);
  const auto last = top.eigenvalues().size() - 1;
  return {top.eigenvalues()(last), (T * top.eigenvectors().col(last)).normalized()};
}

struct RatioObjective {
  const EffectiveProblem& pr;
  const Eigen::MatrixXd& G;
  const Eigen::MatrixXd& basis;  // h = basis·z, basis spans col(Kx)
  double operator()(const Eigen::VectorXd& z, Eigen::VectorXd& grad) {
    Eigen::VectorXd gh;
    const double r = kkt_ratio(pr, G, basis * z, &gh);
    grad = basis.transpose() * gh;
    return r;
  }
};

KktReport search(const EffectiveProblem& pr, const Eigen::MatrixXd& G, const KktOptions& opt) {
  const int P = pr.P();
  const Activation& act = pr.activation();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(pr.Kx());
  const double tol = 1e-12 * P * std::max(1.0, eig.eigenvalues().cwiseAbs().maxCoeff());
  std::vector<int> keep;
  for (int i = 0; i < P; ++i)
    if (eig.eigenvalues()(i) > tol) keep.push_back(i);
  Eigen::MatrixXd basis(P, keep.size());
  for (std::size_t a = 0; a < keep.size(); ++a) basis.col(a) = eig.eigenvectors().col(keep[a]);

  std::vector<Eigen::VectorXd> starts;
  // The small-amplitude limit: φ(h) ≈ φ′(0)h, whose best direction is the top linear eigenvector.
  const auto [lin_value, lin_dir] = linear_top(pr, G);
  for (double s : {1e-4, 1e-2, 0.3, 1.0, 3.0}) starts.push_back(s * lin_dir * std::sqrt(P));
  if (opt.candidates)
    for (Eigen::Index c = 0; c < opt.candidates->cols(); ++c) starts.push_back(opt.candidates->col(c));
  Rng rng(derive_seed(opt.seed, {0x6B6B74}));
  for (int s = 0; s < opt.starts; ++s) {
    Eigen::VectorXd h(P);
    for (int p = 0; p < P; ++p) h(p) = rng.normal();
    starts.push_back(std::pow(10.0, -2.0 + 2.5 * rng.uniform()) * h);
  }

  LBFGSpp::LBFGSParam<double> param;
  param.epsilon = 1e-10;
  param.epsilon_rel = 0.0;
  param.max_iterations = 400;
  param.past = 5;
  param.delta = 1e-14;
  LBFGSpp::LBFGSSolver<double> solver(param);
  RatioObjective f{pr, G, basis};
  KktReport rep;
  rep.method = KktMethod::search;
  rep.kkt_min = std::numeric_limits<double>::infinity();
  for (const auto& h0 : starts) {
    Eigen::VectorXd z = basis.transpose() * h0;
    if (!(z.norm() > 0)) continue;
    double fz = 0.0;
    try {
      solver.minimize(f, z, fz);
    } catch (const std::exception&) {
      // stalled line search: z is still a valid point
    }
    Eigen::VectorXd g;
    const double r = f(z, g);
    ++rep.evaluated;
    if (r < rep.kkt_min) {
      rep.kkt_min = r;
      rep.argmin = basis * z;
    }
  }
  // The linear limit itself is a value the search can only approach from above.
  const double slope = act.slope_at_origin();
  const double limit = 1.0 - pr.lam2() / pr.lam1() * slope * slope * lin_value;
  if (act.family() != ActivationClass::threshold && act.value(0.0) == 0.0 && limit < rep.kkt_min) {
    rep.kkt_min = limit;
    rep.argmin = 1e-8 * lin_dir;
  }
  return rep;
}

}  // namespace

KktReport kkt_min(const EffectiveProblem& pr, const Eigen::MatrixXd& K, const KktOptions& opt) {
  const Eigen::MatrixXd G = pr.G(K);
  const ActivationKind kind = pr.activation().kind();
  if (kind == ActivationKind::linear) {
    const auto [value, dir] = linear_top(pr, G);
    KktReport rep;
    rep.method = KktMethod::exact;
    rep.kkt_min = 1.0 - pr.lam2() / pr.lam1() * value;
    rep.argmin = dir;
    rep.evaluated = 1;
    return rep;
  }
  if (kind == ActivationKind::relu && pr.full_rank() && pr.P() <= opt.exact_max_samples) return exact_relu(pr, G);
  return search(pr, G, opt);
}

}  // namespace absrep
