#include "meanfield/kkt.hpp"

#include <LBFGS.h>

#include <algorithm>
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

// The tunings with the lowest ratios seen so far: distinct, negative, at most `cap`, best first.
class CandidateList {
 public:
  explicit CandidateList(int cap) : cap_(cap) {}
  // A tuning enters only with a ratio below this (−∞ when no list is kept).
  double entry() const {
    if (cap_ <= 0) return -std::numeric_limits<double>::infinity();
    return static_cast<int>(list_.size()) < cap_ ? 0.0 : list_.back().ratio;
  }
  void offer(double ratio, const Eigen::VectorXd& h) {
    if (!(ratio < entry())) return;
    for (auto& c : list_)
      if ((c.h - h).norm() <= 1e-8 * h.norm()) {
        if (ratio < c.ratio) c = {ratio, h};
        sort();
        return;
      }
    list_.push_back({ratio, h});
    sort();
    if (static_cast<int>(list_.size()) > cap_) list_.pop_back();
  }
  std::vector<KktCandidate> take() { return std::move(list_); }

 private:
  void sort() {
    std::sort(list_.begin(), list_.end(), [](const auto& a, const auto& b) { return a.ratio < b.ratio; });
  }
  int cap_;
  std::vector<KktCandidate> list_;
};

// Sign patterns: 0 → 0, 1 → +, 2 → −. On the face of σ (support J) the relu quotient is
// (D_σ G D_σ, (Kx⁺)_JJ): A holds G on the positive entries, B the weight metric.
struct Face {
  std::vector<int> J;
  Eigen::MatrixXd A, B;
};

void build_face(const std::vector<int>& sigma, const Eigen::MatrixXd& G, const Eigen::MatrixXd& Kinv, Face& f) {
  f.J.clear();
  for (int p = 0; p < static_cast<int>(sigma.size()); ++p)
    if (sigma[p]) f.J.push_back(p);
  const auto n = static_cast<Eigen::Index>(f.J.size());
  f.A.resize(n, n);
  f.B.resize(n, n);
  for (Eigen::Index a = 0; a < n; ++a)
    for (Eigen::Index b = 0; b < n; ++b) {
      f.B(a, b) = Kinv(f.J[a], f.J[b]);
      f.A(a, b) = (sigma[f.J[a]] == 1 && sigma[f.J[b]] == 1) ? G(f.J[a], f.J[b]) : 0.0;
    }
}

// v (on J) with the signs of σ, up to one global sign: the full vector h, or empty.
Eigen::VectorXd signed_on_face(const std::vector<int>& sigma, const Face& f, const Eigen::VectorXd& v) {
  for (double sign : {1.0, -1.0}) {
    bool consistent = true;
    for (std::size_t a = 0; a < f.J.size() && consistent; ++a)
      consistent = (sigma[f.J[a]] == 1 ? sign * v(a) > 0 : sign * v(a) < 0);
    if (consistent) {
      Eigen::VectorXd h = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(sigma.size()));
      for (std::size_t a = 0; a < f.J.size(); ++a) h(f.J[a]) = sign * v(a);
      return h;
    }
  }
  return {};
}

// [h]₊ᵀG[h]₊ / hᵀKx⁺h.
double relu_quotient(const Eigen::MatrixXd& G, const Eigen::MatrixXd& Kinv, const Eigen::VectorXd& h) {
  const Eigen::VectorXd phi = h.cwiseMax(0.0);
  return phi.dot(G * phi) / h.dot(Kinv * h);
}

// The entry resting at 0 whose move (up: to +, down: to −) raises the quotient R of h (hᵀKx⁺h = 1)
// the most, as (p, new sign digit); p = −1 when none raises it: h is then a local maximum.
// dR/dh_p⁺ ∝ (G[h]₊)_p − R(Kx⁺h)_p and dR/dh_p⁻ ∝ (Kx⁺h)_p (φ stays 0 below the kink).
std::pair<int, int> best_release(const Eigen::MatrixXd& G, const Eigen::MatrixXd& Kinv, const Eigen::VectorXd& h,
                                 double R) {
  const Eigen::VectorXd Ga = G * h.cwiseMax(0.0), Bh = Kinv * h;
  const double tol = 1e-10 * (Ga.cwiseAbs().maxCoeff() + R * Bh.cwiseAbs().maxCoeff());
  std::pair<int, int> best{-1, 0};
  double gain = tol;
  for (int p = 0; p < static_cast<int>(h.size()); ++p) {
    if (h(p) != 0.0) continue;
    if (Ga(p) - R * Bh(p) > gain) gain = Ga(p) - R * Bh(p), best = {p, 1};
    if (Bh(p) > gain) gain = Bh(p), best = {p, 2};
  }
  return best;
}

// relu: the largest sign-consistent generalised eigenvalue over all faces. Listed candidates
// are the faces' top eigenvectors that are local maxima of the quotient.
KktReport exact_relu(const EffectiveProblem& pr, const Eigen::MatrixXd& G, int max_candidates) {
  const int P = pr.P();
  const Eigen::MatrixXd& Kinv = pr.Kx_pinv();
  const double w = pr.lam2() / pr.lam1();
  KktReport rep;
  rep.method = KktMethod::exact;
  CandidateList list(max_candidates);
  double best = 0.0;  // R ≥ 0 always (the face with no positive entry gives φ = 0)
  Eigen::VectorXd best_h = Eigen::VectorXd::Zero(P);
  std::vector<int> sigma(P, 0);
  Face face;
  Eigen::GeneralizedSelfAdjointEigenSolver<Eigen::MatrixXd> ges;
  while (true) {
    int i = 0;  // next pattern (base-3 counter)
    while (i < P && sigma[i] == 2) sigma[i++] = 0;
    if (i == P) break;
    ++sigma[i];
    if (std::find(sigma.begin(), sigma.end(), 1) == sigma.end()) continue;  // φ(h) = 0 on this face
    ++rep.evaluated;
    build_face(sigma, G, Kinv, face);
    ges.compute(face.A, face.B);
    const auto n = ges.eigenvalues().size();
    // Eigenvalues above the best so far (or a list entry) can matter. The eigenvalue only screens
    // candidates: it carries the pencil's rounding (~1e-10 at λ2 = 1e-3), so each sign-consistent
    // eigenvector is scored by its Rayleigh quotient.
    const double floor = std::min(best, (1.0 - list.entry()) / w);
    const double screen = floor - 1e-8 * (1.0 + floor);
    for (auto e = n - 1; e >= 0 && ges.eigenvalues()(e) > screen; --e) {
      const Eigen::VectorXd h = signed_on_face(sigma, face, ges.eigenvectors().col(e));
      if (h.size() == 0) continue;
      const double R = relu_quotient(G, Kinv, h);
      if (R > best) best = R, best_h = h;
      if (e == n - 1 && best_release(G, Kinv, h, R).first < 0) list.offer(1.0 - w * R, h.normalized());
    }
  }
  rep.kkt_min = 1.0 - w * best;
  rep.argmin = best_h.normalized();
  rep.candidates = list.take();
  return rep;
}

// Exact local ascent of the relu quotient over sign faces from h (Kx full rank): snap h's
// near-zero entries to 0, take its face's top eigenvector if it has the face's signs, release
// the best entry resting at 0, repeat. Returns (R, h) or an empty h when the snapped face's
// eigenvector leaves the face (then the local search's own answer stands).
std::pair<double, Eigen::VectorXd> relu_face_ascent(const EffectiveProblem& pr, const Eigen::MatrixXd& G,
                                                    const Eigen::VectorXd& h0) {
  const int P = pr.P();
  const double snap = 1e-4 * h0.cwiseAbs().maxCoeff();
  std::vector<int> sigma(P);
  for (int p = 0; p < P; ++p) sigma[p] = h0(p) > snap ? 1 : (h0(p) < -snap ? 2 : 0);
  std::pair<double, Eigen::VectorXd> best{0.0, {}};
  Face face;
  Eigen::GeneralizedSelfAdjointEigenSolver<Eigen::MatrixXd> ges;
  for (int step = 0; step < 4 * P; ++step) {
    if (std::find(sigma.begin(), sigma.end(), 1) == sigma.end()) break;
    build_face(sigma, G, pr.Kx_pinv(), face);
    ges.compute(face.A, face.B);
    const auto top = ges.eigenvalues().size() - 1;
    const Eigen::VectorXd h = signed_on_face(sigma, face, ges.eigenvectors().col(top));
    if (h.size() == 0) break;
    const double R = relu_quotient(G, pr.Kx_pinv(), h);
    if (R <= best.first) break;
    best = {R, h};
    const auto [p, digit] = best_release(G, pr.Kx_pinv(), h, best.first);
    if (p < 0) break;
    sigma[p] = digit;
  }
  return best;
}

// Generalised eigenpairs of (G, Kx⁺) on col(Kx), largest first: the linear quotient's
// stationary points (h normalised).
std::pair<Eigen::VectorXd, Eigen::MatrixXd> linear_spectrum(const EffectiveProblem& pr, const Eigen::MatrixXd& G) {
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
  const Eigen::VectorXd values = top.eigenvalues().reverse();
  Eigen::MatrixXd vectors = (T * top.eigenvectors().rowwise().reverse()).colwise().normalized();
  return {values, vectors};
}

std::pair<double, Eigen::VectorXd> linear_top(const EffectiveProblem& pr, const Eigen::MatrixXd& G) {
  const auto [values, vectors] = linear_spectrum(pr, G);
  return {values(0), vectors.col(0)};
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
    // relu maximisers sit on sign faces with many exact zeros; half of the relu starts are
    // noisy sign patterns (a random share of + entries), which reach faces Gaussian starts miss.
    if (act.kind() == ActivationKind::relu && s % 2 == 1) {
      const double density = rng.uniform();
      for (int p = 0; p < P; ++p) {
        const double u = rng.uniform();
        h(p) = u < density ? 1.0 + 0.1 * rng.normal() : (u < 0.5 * (1 + density) ? -1.0 + 0.1 * rng.normal() : 0.0);
      }
    } else {
      for (int p = 0; p < P; ++p) h(p) = rng.normal();
    }
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
  const bool faces = act.kind() == ActivationKind::relu && pr.full_rank();
  KktReport rep;
  rep.method = KktMethod::search;
  rep.kkt_min = std::numeric_limits<double>::infinity();
  CandidateList list(opt.max_candidates);
  auto consider = [&](double r, const Eigen::VectorXd& h) {
    if (r < rep.kkt_min) rep.kkt_min = r, rep.argmin = h;
    list.offer(r, h);
  };
  // Each start's local search is independent: split them over the ranks, then consider every
  // result in start order. A result is [ran?, ratio, h] (a start at zero does not run).
  const Reducer& ranks = opt.reducer ? *opt.reducer : serial_reducer();
  const int R = ranks.ranks(), me = ranks.rank(), n = static_cast<int>(starts.size());
  Eigen::MatrixXd mine(P + 2, (n - me + R - 1) / R);
  for (int i = me, k = 0; i < n; i += R, ++k) {
    mine.col(k).setZero();
    Eigen::VectorXd z = basis.transpose() * starts[i];
    if (!(z.norm() > 0)) continue;
    double fz = 0.0;
    try {
      solver.minimize(f, z, fz);
    } catch (const std::exception&) {
      // stalled line search: z is still a valid point
    }
    Eigen::VectorXd g;
    double r = f(z, g);
    Eigen::VectorXd h = basis * z;
    if (faces) {
      const auto [Rf, hf] = relu_face_ascent(pr, G, h);
      if (hf.size() && 1.0 - pr.lam2() / pr.lam1() * Rf < r) r = 1.0 - pr.lam2() / pr.lam1() * Rf, h = hf;
      h.normalize();  // relu is homogeneous: directions only
    }
    mine(0, k) = 1.0;
    mine(1, k) = r;
    mine.col(k).tail(P) = h;
  }
  const Eigen::MatrixXd all = R == 1 ? mine : ranks.gather_columns(mine);
  std::vector<Eigen::Index> column(n);  // start i → its column of `all` (rank blocks in rank order)
  for (int r = 0, at = 0; r < R; ++r)
    for (int i = r; i < n; i += R) column[i] = at++;
  for (int i = 0; i < n; ++i) {
    const auto c = all.col(column[i]);
    if (c(0) == 0.0) continue;
    ++rep.evaluated;
    consider(c(1), c.tail(P));
  }
  // The linear limit itself is a value the search can only approach from above.
  const double slope = act.slope_at_origin();
  const double limit = 1.0 - pr.lam2() / pr.lam1() * slope * slope * lin_value;
  if (act.family() != ActivationClass::threshold && act.value(0.0) == 0.0) consider(limit, 1e-8 * lin_dir);
  rep.candidates = list.take();
  return rep;
}

}  // namespace

KktReport kkt_min(const EffectiveProblem& pr, const Eigen::MatrixXd& K, const KktOptions& opt) {
  const Eigen::MatrixXd G = pr.G(K);
  const ActivationKind kind = pr.activation().kind();
  if (kind == ActivationKind::linear) {
    const auto [values, vectors] = linear_spectrum(pr, G);
    const double w = pr.lam2() / pr.lam1();
    KktReport rep;
    rep.method = KktMethod::exact;
    rep.kkt_min = 1.0 - w * values(0);
    rep.argmin = vectors.col(0);
    rep.evaluated = 1;
    CandidateList list(opt.max_candidates);
    for (Eigen::Index e = 0; e < values.size(); ++e) list.offer(1.0 - w * values(e), vectors.col(e));
    rep.candidates = list.take();
    return rep;
  }
  if (kind == ActivationKind::relu && pr.full_rank() && pr.P() <= opt.exact_max_samples)
    return exact_relu(pr, G, opt.max_candidates);
  return search(pr, G, opt);
}

}  // namespace absrep
