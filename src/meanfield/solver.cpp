#include "meanfield/solver.hpp"

#include <LBFGSB.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "core/box_qp.hpp"
#include "core/finish_lbfgs.hpp"
#include "core/random.hpp"

namespace absrep {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// ψ, the feature map of rays: φ where φ is positively homogeneous, otherwise φ's linearisation
// at 0 with slopes φ′(0−) below and φ′(0+) above. Rays exist only where that limit is one the
// oracle can solve exactly: a relu (slope 0 below) or a line (equal slopes). (φ(0) = 0 throughout.)
struct RayFeature {
  bool exists = false;
  bool homogeneous = false;  // ψ = φ: rays are ordinary neurons
  double below = 0.0, above = 0.0;
  // φ = ψ on (−∞, linear_end] (clipped_relu: 1): a ray is then a finite neuron at scale
  // linear_end / max(d), so the optimum is attained although φ is not homogeneous.
  double linear_end = 0.0;

  bool kinked() const { return below != above; }
  bool attained() const { return homogeneous || linear_end > 0; }
  const std::vector<double>& kinks() const {
    static const std::vector<double> none, zero = {0.0};
    return kinked() ? zero : none;
  }
  double slope(int region) const { return kinked() && region == 0 ? below : above; }
  Eigen::VectorXd apply(const Eigen::VectorXd& d) const {
    return d.unaryExpr([this](double x) { return x > 0 ? above * x : below * x; });
  }
};

RayFeature ray_feature(const Activation& act) {
  RayFeature f;
  f.homogeneous = act.positively_homogeneous();
  f.above = f.homogeneous ? act.value(1.0) : act.slope_at_origin();
  f.below = f.homogeneous ? -act.value(-1.0) : act.derivative(0.0);  // derivative: the left one at a kink
  f.exists = f.below == 0.0 || f.below == f.above;
  if (act.kind() == ActivationKind::clipped_relu) f.linear_end = 1.0;
  return f;
}

// Coordinates rounded at 1e-9 of v's scale: vectors equal to rounding share a key.
std::vector<long long> rounded(const Eigen::VectorXd& v) {
  const double scale = 1e-9 * v.cwiseAbs().maxCoeff();
  std::vector<long long> k(static_cast<std::size_t>(v.size()));
  for (Eigen::Index p = 0; p < v.size(); ++p) k[p] = std::llround(v(p) / scale);
  return k;
}

// ---- Symmetry ----------------------------------------------------------------------------------
//
// A permutation group of the samples, from generators. Its orbitals (orbits on pairs (p, q))
// partition the P×P entries, and the group average of a matrix is its mean over each orbital.
// Invariant matrices form an algebra (the commutant), so K invariant ⇒ (K + λ2 I)⁻¹ and G invariant.
class Symmetry {
 public:
  // Keeps the generators that are permutations preserving Kx and Ky (to rounding); `dropped` counts the rest.
  Symmetry(const Eigen::MatrixXd& Kx, const Eigen::MatrixXd& Ky, const std::vector<std::vector<int>>& generators,
           int& dropped)
      : P_(static_cast<int>(Kx.rows())) {
    dropped = 0;
    for (const auto& g : generators) {
      if (preserves(g, Kx) && preserves(g, Ky))
        gens_.push_back(g);
      else
        ++dropped;
    }
    if (!gens_.empty()) build_orbitals();
  }

  bool active() const { return !gens_.empty(); }

  Eigen::MatrixXd average(const Eigen::MatrixXd& M) const {
    if (!active()) return M;
    std::vector<double> sum(size_.size(), 0.0);
    for (Eigen::Index e = 0; e < M.size(); ++e) sum[orbital_[e]] += M(e);
    Eigen::MatrixXd out(M.rows(), M.cols());
    for (Eigen::Index e = 0; e < M.size(); ++e) out(e) = sum[orbital_[e]] / size_[orbital_[e]];
    return out;
  }

  // The distinct images of h under the group (h itself first); empty if there are more than `cap`.
  std::vector<Eigen::VectorXd> orbit(const Eigen::VectorXd& h, std::size_t cap) const {
    std::vector<Eigen::VectorXd> members{h};
    std::set<std::vector<long long>> seen{rounded(h)};
    for (std::size_t i = 0; i < members.size(); ++i)
      for (const auto& g : gens_) {
        Eigen::VectorXd image(P_);
        for (int p = 0; p < P_; ++p) image(g[p]) = members[i](p);
        if (!seen.insert(rounded(image)).second) continue;
        if (members.size() == cap) return {};
        members.push_back(std::move(image));
      }
    return members;
  }

 private:
  bool preserves(const std::vector<int>& g, const Eigen::MatrixXd& M) const {
    if (static_cast<int>(g.size()) != P_) return false;
    std::vector<bool> hit(P_, false);
    for (int p : g) {
      if (p < 0 || p >= P_ || hit[p]) return false;
      hit[p] = true;
    }
    const double tol = 1e-12 * (1.0 + M.cwiseAbs().maxCoeff());
    for (int q = 0; q < P_; ++q)
      for (int p = 0; p < P_; ++p)
        if (std::abs(M(g[p], g[q]) - M(p, q)) > tol) return false;
    return true;
  }

  void build_orbitals() {
    std::vector<int> parent(static_cast<std::size_t>(P_) * P_);
    for (std::size_t e = 0; e < parent.size(); ++e) parent[e] = static_cast<int>(e);
    auto find = [&](int e) {
      while (parent[e] != e) e = parent[e] = parent[parent[e]];
      return e;
    };
    for (const auto& g : gens_)
      for (int q = 0; q < P_; ++q)
        for (int p = 0; p < P_; ++p) parent[find(p + P_ * q)] = find(g[p] + P_ * g[q]);
    std::vector<int> label(parent.size(), -1);
    orbital_.resize(parent.size());
    for (std::size_t e = 0; e < parent.size(); ++e) {
      int& l = label[find(static_cast<int>(e))];
      if (l < 0) {
        l = static_cast<int>(size_.size());
        size_.push_back(0.0);
      }
      orbital_[e] = l;
      size_[l] += 1.0;
    }
  }

  int P_;
  std::vector<std::vector<int>> gens_;
  std::vector<int> orbital_;  // of entry (p, q), column-major
  std::vector<double> size_;
};

// An atom of the measure (see solver.hpp): a finite position h, or a ray direction d
// (dᵀKx⁺d = 1), with its mass.
struct Atom {
  Eigen::VectorXd x;
  double w = 0.0;
  bool ray = false;
};

struct Context {
  const EffectiveProblem& pr;
  RayFeature ray;
  // The problem the rays solve: ψ's quotient is (λ2/λ1)·φ′(0+)²·[d]₊ᵀG[d]₊ / dᵀKx⁺d (or the
  // linear one), i.e. relu or linear with λ1 rescaled by 1/φ′(0+)².
  std::optional<EffectiveProblem> ray_problem;
  bool finite = false;  // finite atoms exist: φ is not positively homogeneous
  int dropped_symmetries = 0;
  Symmetry sym;         // each atom stands for its orbit: K = average of Σ w aaᵀ over the group

  Context(const EffectiveProblem& problem, const std::vector<std::vector<int>>& symmetries)
      : pr(problem),
        ray(ray_feature(problem.activation())),
        sym(problem.Kx(), problem.Ky(), symmetries, dropped_symmetries) {
    finite = !ray.homogeneous;
    if (ray.exists)
      ray_problem.emplace(pr.Kx(), pr.Ky(), Activation(ray.kinked() ? ActivationKind::relu : ActivationKind::linear),
                          pr.lam1() / (ray.above * ray.above), pr.lam2());
  }

  Eigen::VectorXd features(const Atom& a) const {
    if (a.ray) return ray.apply(a.x);
    return a.x.unaryExpr([this](double x) { return pr.activation().value(x); });
  }
  double cost(const Atom& a) const {  // weight cost per unit mass
    return 0.5 * pr.lam1() * (a.ray ? 1.0 : a.x.dot(pr.Kx_pinv() * a.x));
  }
  Eigen::MatrixXd kernel(const std::vector<Atom>& atoms) const {
    Eigen::MatrixXd K = Eigen::MatrixXd::Zero(pr.P(), pr.P());
    for (const Atom& a : atoms) {
      const Eigen::VectorXd f = features(a);
      K.noalias() += a.w * f * f.transpose();
    }
    return sym.average(K);
  }
  double energy(const std::vector<Atom>& atoms) const {
    double weight = 0.0;
    for (const Atom& a : atoms) weight += a.w * cost(a);
    return weight + pr.readout_energy(kernel(atoms));
  }
};

// ---- The fully corrective step: masses on fixed atoms ------------------------------------------
//
// F(w) = cᵀw + ½λ2 tr(Ky (Σ_j w_j S_j + λ2 I)⁻¹) over w ≥ 0, S_j = Π(a_j a_jᵀ) the group average of
// the atom's features (a_j a_jᵀ itself without symmetry), costs c; smooth and convex. With
// M = (K + λ2 I)⁻¹ and G invariant: ∂F/∂w_j = c_j − ½λ2 a_jᵀGa_j (the atom's e per unit mass) and
// ∂²F/∂w_i∂w_j = λ2 tr(M S_i G S_j) = λ2 a_iᵀ M S_j G a_i, which is λ2 (a_iᵀMa_j)(a_iᵀGa_j) without symmetry.
struct MassProblem {
  const EffectiveProblem& pr;
  const Symmetry& sym;
  Eigen::MatrixXd A;
  Eigen::VectorXd c;

  Eigen::MatrixXd kernel(const Eigen::VectorXd& w) const { return sym.average(A * w.asDiagonal() * A.transpose()); }
  double value(const Eigen::VectorXd& w) const { return c.dot(w) + pr.readout_energy(kernel(w)); }
  void derivatives(const Eigen::VectorXd& w, Eigen::VectorXd& g, Eigen::MatrixXd& H) const {
    Eigen::MatrixXd Kr = kernel(w);
    Kr.diagonal().array() += pr.lam2();
    const Eigen::LLT<Eigen::MatrixXd> llt(Kr);
    const Eigen::MatrixXd MA = llt.solve(A);
    const Eigen::MatrixXd GA = llt.solve(pr.Ky() * MA);
    g = c - 0.5 * pr.lam2() * A.cwiseProduct(GA).colwise().sum().transpose();
    if (!sym.active()) {
      H = pr.lam2() * (A.transpose() * MA).cwiseProduct(A.transpose() * GA);
      return;
    }
    H.resize(A.cols(), A.cols());
    for (Eigen::Index j = 0; j < A.cols(); ++j) {
      const Eigen::MatrixXd S = sym.average(A.col(j) * A.col(j).transpose());
      H.col(j) = pr.lam2() * MA.cwiseProduct(S * GA).colwise().sum().transpose();  // a_iᵀ M S_j G a_i
    }
    H = 0.5 * (H + H.transpose()).eval();
  }
};

// Projected Newton: each step solves the quadratic model on w + s ≥ 0 (core/box_qp), then a
// backtracking search on F whose sufficient-decrease test tolerates F's rounding, so that the
// final, quadratically convergent steps are taken. Ends when every mass satisfies its KKT
// condition to 1e-13 of its cost (g_j = 0 if w_j > 0, g_j ≥ 0 if w_j = 0).
Eigen::VectorXd optimise_masses(const MassProblem& mp, Eigen::VectorXd w) {
  const auto n = w.size();
  double f = mp.value(w);
  Eigen::VectorXd g;
  Eigen::MatrixXd H;
  for (int it = 0; it < 100; ++it) {
    mp.derivatives(w, g, H);
    double violation = 0.0;
    for (Eigen::Index j = 0; j < n; ++j)
      violation = std::max(violation, (w(j) > 0 ? std::abs(g(j)) : std::max(0.0, -g(j))) / mp.c(j));
    if (violation <= 1e-13) break;
    const Eigen::VectorXd s = solve_box_qp(H, g, -w, Eigen::VectorXd::Constant(n, kInf));
    const double predicted = g.dot(s) + 0.5 * s.dot(H * s);
    if (!(predicted < 0)) break;
    const double slack = 1e-14 * std::abs(f);
    double t = 1.0, ft = kInf;
    Eigen::VectorXd wt;
    for (int ls = 0; ls < 50; ++ls, t *= 0.5) {
      wt = (w + t * s).cwiseMax(0.0);
      ft = mp.value(wt);
      if (ft <= f + 1e-4 * t * predicted + slack) break;
    }
    if (!(ft <= f + slack)) break;
    w = wt;
    f = ft;
  }
  return w;
}

// Re-optimises all masses and drops the atoms that no longer carry any (their share of tr K
// below rounding).
void refit_masses(const Context& ctx, std::vector<Atom>& atoms) {
  if (atoms.empty()) return;
  MassProblem mp{ctx.pr, ctx.sym, Eigen::MatrixXd(ctx.pr.P(), atoms.size()), Eigen::VectorXd(atoms.size())};
  Eigen::VectorXd w(atoms.size());
  for (std::size_t j = 0; j < atoms.size(); ++j) {
    mp.A.col(j) = ctx.features(atoms[j]);
    mp.c(j) = ctx.cost(atoms[j]);
    w(j) = atoms[j].w;
  }
  w = optimise_masses(mp, w);
  const Eigen::VectorXd share = mp.A.colwise().squaredNorm().transpose().cwiseProduct(w);
  const double total = share.sum();
  std::vector<Atom> kept;
  for (std::size_t j = 0; j < atoms.size(); ++j)
    if (share(j) > 1e-15 * total) kept.push_back({atoms[j].x, w(j), atoms[j].ray});
  atoms = std::move(kept);
}

// ---- Particle polish --------------------------------------------------------------------------
//
// E as a function of every atom's position and mass, with each position entry pinned to one
// smooth piece of its feature map, as train/polish does for networks (optima sit exactly on
// kinks). A ray carries g = √w·d (ψ is homogeneous, so E depends on g alone), a finite atom its
// position h and s with w = s². Needs Kx of full rank (positions are not projected on col(Kx)).
class PinnedMeasure {
 public:
  PinnedMeasure(const Context& ctx, const std::vector<Atom>& atoms) : ctx_(ctx), P_(ctx.pr.P()) {
    for (const Atom& a : atoms) {
      offset_.push_back(size_);
      ray_.push_back(a.ray);
      size_ += P_ + (a.ray ? 0 : 1);
    }
    region_.assign(static_cast<std::size_t>(size_), 0);
  }

  Eigen::VectorXd pack(const std::vector<Atom>& atoms) const {
    Eigen::VectorXd x(size_);
    for (std::size_t k = 0; k < atoms.size(); ++k) {
      if (atoms[k].ray) {
        x.segment(offset_[k], P_) = std::sqrt(atoms[k].w) * atoms[k].x;
      } else {
        x.segment(offset_[k], P_) = atoms[k].x;
        x(offset_[k] + P_) = std::sqrt(atoms[k].w);
      }
    }
    return x;
  }

  std::vector<Atom> unpack(const Eigen::VectorXd& x) const {
    std::vector<Atom> atoms;
    for (std::size_t k = 0; k < offset_.size(); ++k) {
      const Eigen::VectorXd v = x.segment(offset_[k], P_);
      if (ray_[k]) {
        const double w = v.dot(ctx_.pr.Kx_pinv() * v);
        if (w > 0) atoms.push_back({v / std::sqrt(w), w, true});
      } else {
        atoms.push_back({v, x(offset_[k] + P_) * x(offset_[k] + P_), false});
      }
    }
    return atoms;
  }

  // Pins every position entry to the piece it lies in now.
  void pin(const Eigen::VectorXd& x) {
    for_each_entry([&](Eigen::Index j, std::size_t k) {
      int r = 0;
      for (double kink : kinks_of(k)) r += x(j) > kink;
      region_[j] = r;
    });
  }

  // The bounds of the pinned pieces.
  void bounds(Eigen::VectorXd& lb, Eigen::VectorXd& ub) const {
    lb.setConstant(size_, -kInf);
    ub.setConstant(size_, kInf);
    for_each_entry([&](Eigen::Index j, std::size_t k) {
      const auto& kinks = kinks_of(k);
      const int r = region_[j];
      if (r > 0) lb(j) = kinks[r - 1];
      if (r < static_cast<int>(kinks.size())) ub(j) = kinks[r];
    });
  }

  double operator()(const Eigen::VectorXd& x, Eigen::VectorXd& grad) {
    evaluate(x);
    grad = grad_;
    return energy_;
  }

  // Entries resting on a kink whose one-sided derivative into the neighbouring piece descends
  // move to that piece; returns how many moved (0: the pinned optimum is a true local one).
  int release(const Eigen::VectorXd& x, double tol) {
    evaluate(x);
    int moved = 0;
    for_each_entry([&](Eigen::Index j, std::size_t k) {
      const auto& kinks = kinks_of(k);
      const int r = region_[j];
      const bool at_lower = r > 0 && x(j) == kinks[r - 1];
      const bool at_upper = r < static_cast<int>(kinks.size()) && x(j) == kinks[r];
      if (!at_lower && !at_upper) return;
      const int next = at_upper ? r + 1 : r - 1;
      const Eigen::Index p = j - offset_[k];
      // φ is continuous at a kink, so Gφ (from the pinned piece) holds on both sides.
      const double slope = weight_[k] * (ctx_.pr.lam1() * Bh_(p, k) - ctx_.pr.lam2() * piece_derivative(k, next, x(j)) * Ga_(p, k));
      if (at_upper ? slope < -tol : slope > tol) {
        region_[j] = next;
        ++moved;
      }
    });
    return moved;
  }

  double energy() const { return energy_; }

 private:
  template <class F>
  void for_each_entry(F&& f) const {
    for (std::size_t k = 0; k < offset_.size(); ++k)
      for (Eigen::Index p = 0; p < P_; ++p) f(offset_[k] + p, k);
  }
  const std::vector<double>& kinks_of(std::size_t k) const {
    return ray_[k] ? ctx_.ray.kinks() : ctx_.pr.activation().kinks();
  }
  double piece_value(std::size_t k, int r, double x) const {
    return ray_[k] ? ctx_.ray.slope(r) * x : ctx_.pr.activation().branch_value(r, x);
  }
  double piece_derivative(std::size_t k, int r, double x) const {
    return ray_[k] ? ctx_.ray.slope(r) : ctx_.pr.activation().branch_derivative(r, x);
  }

  void evaluate(const Eigen::VectorXd& x) {
    const auto n = static_cast<Eigen::Index>(offset_.size());
    const double lam1 = ctx_.pr.lam1(), lam2 = ctx_.pr.lam2();
    Eigen::MatrixXd H(P_, n), A(P_, n), dA(P_, n);
    weight_.resize(offset_.size());
    for (Eigen::Index k = 0; k < n; ++k) {
      H.col(k) = x.segment(offset_[k], P_);
      for (Eigen::Index p = 0; p < P_; ++p) {
        A(p, k) = piece_value(k, region_[offset_[k] + p], H(p, k));
        dA(p, k) = piece_derivative(k, region_[offset_[k] + p], H(p, k));
      }
      weight_[k] = ray_[k] ? 1.0 : x(offset_[k] + P_) * x(offset_[k] + P_);
    }
    const Eigen::VectorXd sw = Eigen::Map<const Eigen::VectorXd>(weight_.data(), n).cwiseSqrt();
    // G of an invariant K is invariant, so the gradients keep their form under the symmetry.
    const Eigen::MatrixXd K = ctx_.sym.average((A * sw.asDiagonal()) * (A * sw.asDiagonal()).transpose());
    Bh_.noalias() = ctx_.pr.Kx_pinv() * H;
    Ga_.noalias() = ctx_.pr.G(K) * A;
    grad_.resize(size_);
    double weight = 0.0;
    for (Eigen::Index k = 0; k < n; ++k) {
      const double hBh = H.col(k).dot(Bh_.col(k));
      weight += 0.5 * lam1 * weight_[k] * hBh;
      grad_.segment(offset_[k], P_) = weight_[k] * (lam1 * Bh_.col(k) - lam2 * dA.col(k).cwiseProduct(Ga_.col(k)));
      if (!ray_[k]) grad_(offset_[k] + P_) = x(offset_[k] + P_) * (lam1 * hBh - lam2 * A.col(k).dot(Ga_.col(k)));
    }
    energy_ = weight + ctx_.pr.readout_energy(K);
  }

  const Context& ctx_;
  Eigen::Index P_;
  Eigen::Index size_ = 0;
  std::vector<Eigen::Index> offset_;
  std::vector<bool> ray_;
  std::vector<int> region_;
  std::vector<double> weight_;
  Eigen::MatrixXd Bh_, Ga_;
  Eigen::VectorXd grad_;
  double energy_ = 0.0;
};

void polish(const Context& ctx, std::vector<Atom>& atoms) {
  if (atoms.empty()) return;
  PinnedMeasure f(ctx, atoms);
  Eigen::VectorXd x = f.pack(atoms), lb, ub;
  f.pin(x);
  LBFGSpp::LBFGSBParam<double> param;
  param.epsilon = 1e-12;
  param.epsilon_rel = 0.0;
  param.past = 0;  // only the projected gradient decides
  param.delta = 0.0;
  param.max_iterations = 5000;
  param.max_linesearch = 60;
  LBFGSpp::LBFGSBSolver<double> solver(param);
  for (int round = 0; round < 40; ++round) {
    f.bounds(lb, ub);
    x = x.cwiseMax(lb).cwiseMin(ub);
    double fx = 0.0;
    try {
      solver.minimize(f, x, fx, lb, ub);
    } catch (const std::exception&) {
      // line search exhausted near machine precision: x is the last accepted point
    }
    // LBFGSpp's line searches compare function values and stall ~1e-8 short: finish the digits.
    finish_lbfgs(f, x, lb, ub, 1e-13 * std::sqrt(static_cast<double>(x.size())));
    if (f.release(x, 1e-12) == 0) break;
  }
  atoms = f.unpack(x);
}

// ---- Atoms in canonical form --------------------------------------------------------------------

// A finite atom whose features equal the ray's (inside clipped_relu's linear piece, or shrunk so
// far toward 0 that φ(h) = ψ(h) to 1e-9) is a ray: d = h/|h|, mass w·hᵀKx⁺h.
Atom canonical(const Context& ctx, Atom a) {
  if (a.ray || !ctx.ray.exists) return a;
  const Eigen::VectorXd psi = ctx.ray.apply(a.x);
  if ((ctx.features(a) - psi).norm() > 1e-9 * psi.norm()) return a;
  const double hBh = a.x.dot(ctx.pr.Kx_pinv() * a.x);
  if (!(hBh > 0)) return a;
  return {a.x / std::sqrt(hBh), a.w * hBh, true};
}

// Two atoms are one when they add the same to E: equal positions, or under a symmetry equal
// weight costs and equal orbit-averaged kernels Π(aaᵀ) (images of each other, for instance).
bool same_atom(const Context& ctx, const Atom& a, const Atom& b) {
  if (a.ray != b.ray) return false;
  if (!ctx.sym.active()) return (a.x - b.x).norm() <= 1e-9 * a.x.norm();
  if (std::abs(ctx.cost(a) - ctx.cost(b)) > 1e-12 * ctx.cost(a)) return false;
  const Eigen::VectorXd fa = ctx.features(a), fb = ctx.features(b);
  const Eigen::MatrixXd Sa = ctx.sym.average(fa * fa.transpose());
  return (Sa - ctx.sym.average(fb * fb.transpose())).norm() <= 1e-9 * Sa.norm();
}

// Canonical forms, with equal atoms merged.
void tidy(const Context& ctx, std::vector<Atom>& atoms) {
  std::vector<Atom> out;
  for (const Atom& raw : atoms) {
    const Atom a = canonical(ctx, raw);
    auto same = std::find_if(out.begin(), out.end(), [&](const Atom& b) { return same_atom(ctx, a, b); });
    if (same == out.end())
      out.push_back(a);
    else
      same->w += a.w;
  }
  atoms = std::move(out);
}

// ---- The oracle -----------------------------------------------------------------------------

struct Proposal {
  double kkt_min = kInf;
  KktMethod method = KktMethod::exact;
  std::vector<KktCandidate> rays, finite;
};

Eigen::MatrixXd positions(const std::vector<Atom>& atoms, bool ray) {
  std::vector<const Atom*> sel;
  for (const Atom& a : atoms)
    if (a.ray == ray) sel.push_back(&a);
  Eigen::MatrixXd X(atoms.empty() ? 0 : atoms.front().x.size(), sel.size());
  for (std::size_t j = 0; j < sel.size(); ++j) X.col(j) = sel[j]->x;
  return X;
}

// kkt_min at K over both kinds of atom: the rays' problem (exact for relu at small P and for
// lines) and, for non-homogeneous φ, a search over finite positions. Current atoms seed the searches.
Proposal propose(const Context& ctx, const Eigen::MatrixXd& K, const std::vector<Atom>& atoms,
                 const MeanfieldOptions& opt, std::uint64_t seed, int starts) {
  KktOptions ko;
  ko.exact_max_samples = opt.exact_max_samples;
  ko.starts = starts;
  ko.seed = seed;
  ko.max_candidates = opt.atoms_per_step;
  ko.reducer = opt.reducer;
  Proposal out;
  if (ctx.ray_problem) {
    const Eigen::MatrixXd seeds = positions(atoms, true);
    ko.candidates = &seeds;
    KktReport rep = kkt_min(*ctx.ray_problem, K, ko);
    out.kkt_min = rep.kkt_min;
    out.method = rep.method;
    out.rays = std::move(rep.candidates);
  }
  if (ctx.finite) {
    const Eigen::MatrixXd seeds = positions(atoms, false);
    ko.candidates = &seeds;
    KktReport rep = kkt_min(ctx.pr, K, ko);
    out.kkt_min = std::min(out.kkt_min, rep.kkt_min);
    out.method = KktMethod::search;
    out.finite = std::move(rep.candidates);
  }
  return out;
}

// The proposal's best tunings as zero-mass atoms (rays normalised to dᵀKx⁺d = 1), leaving out
// those equal to a current atom or to a better tuning.
std::vector<Atom> new_atoms(const Context& ctx, const Proposal& prop, const std::vector<Atom>& atoms, int count) {
  std::vector<std::pair<double, Atom>> all;
  for (const auto& c : prop.rays) all.push_back({c.ratio, {c.h / std::sqrt(c.h.dot(ctx.pr.Kx_pinv() * c.h)), 0.0, true}});
  for (const auto& c : prop.finite) all.push_back({c.ratio, canonical(ctx, {c.h, 0.0, false})});
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Atom> out;
  auto known = [&](const Atom& a) {
    auto same = [&](const Atom& b) { return same_atom(ctx, a, b); };
    return std::any_of(atoms.begin(), atoms.end(), same) || std::any_of(out.begin(), out.end(), same);
  };
  for (const auto& [ratio, a] : all) {
    if (static_cast<int>(out.size()) == count) break;
    if (!known(a)) out.push_back(a);
  }
  return out;
}

// ---- The certificate ----------------------------------------------------------------------------
//
// Convexity of E over measures, with first variation e_μ(h) = ½λ1 hᵀKx⁺h − ½λ2 φ(h)ᵀGφ(h):
//   E* = E[μ*] ≥ E[μ] + ∫ e_μ dμ* − ∫ e_μ dμ.
// kkt_min = r is the minimum of e_μ(h)/(½λ1 hᵀKx⁺h), so e_μ(h) ≥ r·½λ1 hᵀKx⁺h for every h
// (h = 0 included, since φ(0) = 0), and ∫ e_μ dμ* ≥ r·W*, W* = ½λ1 ∫ hᵀKx⁺h dμ* ≤ E* (the readout
// term is ≥ 0). With r ≤ 0 and g = ∫ e_μ dμ (0 once the masses are optimal):
//   E* ≥ E − g − |r|·E*   ⇒   E − E* ≤ (|r|·E + g) / (1 + |r|).
// Rays enter as limits of finite atoms, for which the same inequality holds, so E* may be an
// infimum. The bound is a proof when r is exact.
double gap_bound(const Context& ctx, const std::vector<Atom>& atoms, double energy, double kkt) {
  const Eigen::MatrixXd G = ctx.pr.G(ctx.kernel(atoms));
  double g = 0.0;
  for (const Atom& a : atoms) {
    const Eigen::VectorXd f = ctx.features(a);
    g += a.w * (ctx.cost(a) - 0.5 * ctx.pr.lam2() * f.dot(G * f));
  }
  const double r = std::max(0.0, -kkt);
  return std::max(0.0, (r * energy + g) / (1.0 + r));
}

// The atoms in network units (solver.hpp): each orbit expanded into its members, the mass shared
// equally, equal members merged; attained rays of a non-homogeneous φ become neurons at the
// largest scale inside φ's linear piece. An orbit too large to list stays one representative
// (`complete` false). `fractional` counts the atoms no network can hold exactly: finite atoms
// of a non-homogeneous φ whose mass is not a whole number of neurons.
std::vector<MeanfieldAtom> describe_atoms(const Context& ctx, const std::vector<Atom>& atoms, bool& complete,
                                          int& fractional) {
  constexpr std::size_t kMaxOrbit = 20000;
  std::vector<MeanfieldAtom> out;
  std::map<std::pair<bool, std::vector<long long>>, std::size_t> index;
  complete = true;
  std::vector<bool> fixed;  // a finite atom of a non-homogeneous φ: its scale cannot trade with mass
  auto add = [&](MeanfieldAtom m, bool finite) {
    const auto [it, fresh] = index.try_emplace({m.linear_regime, rounded(m.h)}, out.size());
    if (fresh) {
      out.push_back(std::move(m));
      fixed.push_back(finite);
    } else {
      out[it->second].mass += m.mass;
      fixed[it->second] = fixed[it->second] && finite;
    }
  };
  // Rays of a line (linear φ, or the linear regime of an odd φ) only matter through
  // L = Π(Σ w ddᵀ), whatever its decomposition; its eigenvectors give the fewest atoms, rank L,
  // with the same weight cost ½λ1 tr(Kx⁺L).
  Eigen::MatrixXd L = Eigen::MatrixXd::Zero(ctx.pr.P(), ctx.pr.P());
  for (const Atom& a : atoms) {
    if (a.ray && !ctx.ray.kinked()) {
      L.noalias() += a.w * a.x * a.x.transpose();
      continue;
    }
    std::vector<Eigen::VectorXd> members = ctx.sym.orbit(a.x, kMaxOrbit);
    if (members.empty()) {
      members = {a.x};
      complete = false;
    }
    for (const Eigen::VectorXd& x : members) {
      MeanfieldAtom m{x, a.w / static_cast<double>(members.size()), a.ray && !ctx.ray.attained(), {}};
      const double top = x.maxCoeff();
      if (a.ray && !ctx.ray.homogeneous && ctx.ray.attained() && top > 0) {
        const double s = ctx.ray.linear_end / top;
        m.h = s * x;
        m.mass /= s * s;
      }
      m.activity = ctx.features({m.h, m.mass, a.ray && !ctx.ray.attained()});
      add(std::move(m), !a.ray);
    }
  }
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(ctx.sym.average(L));
  const double floor = 1e-12 * std::max(0.0, eig.eigenvalues().maxCoeff());
  for (Eigen::Index e = 0; e < eig.eigenvalues().size(); ++e) {
    if (!(eig.eigenvalues()(e) > floor)) continue;
    const Eigen::VectorXd u = eig.eigenvectors().col(e);
    const double uBu = u.dot(ctx.pr.Kx_pinv() * u);
    const Eigen::VectorXd d = u / std::sqrt(uBu);
    add({d, eig.eigenvalues()(e) * uBu, !ctx.ray.attained(), ctx.features({d, 0.0, true})}, false);
  }
  fractional = 0;
  for (std::size_t j = 0; j < out.size(); ++j)
    fractional += fixed[j] && std::abs(out[j].mass - std::round(out[j].mass)) > 1e-6 * std::max(1.0, out[j].mass);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.mass > b.mass; });
  return out;
}

void append_note(std::string& note, const std::string& what) { note = note.empty() ? what : note + "; " + what; }


// One Frank–Wolfe run from `atoms` (none: from K = 0). The oracle's local searches also start
// from `seeds`, atoms found by other runs, so that tunings known to matter elsewhere are tested.
struct Run {
  std::vector<Atom> atoms;
  Eigen::MatrixXd K;
  Proposal prop;  // the oracle at K
  int iterations = 0;
  std::string note;
};

Run frank_wolfe(const Context& ctx, const MeanfieldOptions& opt, std::uint64_t seed, std::vector<Atom> atoms,
                const std::vector<Atom>& seeds) {
  const bool can_polish = opt.polish && ctx.pr.full_rank();
  Run run;
  run.K = ctx.kernel(atoms);
  double energy = ctx.energy(atoms);
  // The oracle at K; a search that finds no descent is asked again with many more starts, since
  // "none found" from a search is the weak point of the certificate.
  auto certify = [&](int it) {
    std::vector<Atom> starts = atoms;
    starts.insert(starts.end(), seeds.begin(), seeds.end());
    const std::uint64_t key = derive_seed(seed, {static_cast<std::uint64_t>(it)});
    Proposal prop = propose(ctx, run.K, starts, opt, key, opt.search_starts);
    if (prop.kkt_min >= -opt.tol && prop.method == KktMethod::search && opt.confirm_starts > opt.search_starts)
      prop = propose(ctx, run.K, starts, opt, key, opt.confirm_starts);
    return prop;
  };
  int stalls = 0;
  for (int it = 0;; ++it) {
    run.prop = certify(it);
    run.iterations = it;
    if (run.prop.kkt_min >= -opt.tol) break;
    if (it == opt.max_iter) {
      run.note = "iteration limit reached before kkt_min >= -tol";
      break;
    }
    for (Atom& a : new_atoms(ctx, run.prop, atoms, opt.atoms_per_step)) atoms.push_back(std::move(a));
    refit_masses(ctx, atoms);
    if (can_polish) {
      polish(ctx, atoms);
      tidy(ctx, atoms);
      refit_masses(ctx, atoms);
    }
    run.K = ctx.kernel(atoms);
    const double next = ctx.energy(atoms);
    // The oracle's tunings no longer lower E (they sit below its rounding): further steps are noise.
    stalls = next < energy - 1e-15 * std::abs(energy) ? 0 : stalls + 1;
    energy = next;
    if (stalls >= 3) {
      run.note = "stalled: the oracle's tunings no longer lower the energy";
      run.iterations = it + 1;
      run.prop = certify(it + 1);
      break;
    }
  }
  run.atoms = std::move(atoms);
  return run;
}

// With a search oracle, independent runs can end in different configurations that each pass their
// own search. Each restart is seeded with every atom found so far, and the best run is finally
// continued with all of them as seeds: its certificate has then tested every tuning any run used.
Run best_of_restarts(const Context& ctx, const MeanfieldOptions& opt, int& iterations) {
  Run best = frank_wolfe(ctx, opt, opt.seed, {}, {});
  iterations = best.iterations;
  if (best.prop.method == KktMethod::exact || opt.restarts <= 1) return best;
  std::vector<Atom> seen = best.atoms;
  for (int r = 1; r < opt.restarts; ++r) {
    Run run = frank_wolfe(ctx, opt, derive_seed(opt.seed, {0x5253, static_cast<std::uint64_t>(r)}), {}, seen);
    iterations += run.iterations;
    seen.insert(seen.end(), run.atoms.begin(), run.atoms.end());
    if (ctx.energy(run.atoms) < ctx.energy(best.atoms)) best = std::move(run);
  }
  Run last = frank_wolfe(ctx, opt, derive_seed(opt.seed, {0x5253, 0}), std::move(best.atoms), seen);
  iterations += last.iterations;
  return last;
}

}  // namespace

MeanfieldResult minimize_over_measures(const EffectiveProblem& problem, const MeanfieldOptions& opt) {
  const auto start = std::chrono::steady_clock::now();
  MeanfieldResult res;
  if (problem.activation().value(0.0) != 0.0) {
    // A neuron at h = 0 is then a constant feature of zero weight cost: mass there is free, E has
    // no minimiser among measures, and kkt_min (a ratio to the weight cost) is unbounded below.
    res.status = Status::invalid;
    res.note = "phi(0) != 0 (" + problem.activation().name() + "): not supported by the mean-field solver";
    res.energy = res.kkt_min = res.gap_bound = std::numeric_limits<double>::quiet_NaN();
    res.K = Eigen::MatrixXd::Constant(problem.P(), problem.P(), std::numeric_limits<double>::quiet_NaN());
    return res;
  }
  const Context ctx(problem, opt.symmetries);
  Run run = best_of_restarts(ctx, opt, res.iterations);
  const std::vector<Atom>& atoms = run.atoms;
  const Proposal& prop = run.prop;
  const Eigen::MatrixXd& K = run.K;
  res.note = run.note;
  res.status = prop.kkt_min >= -opt.tol ? Status::converged : Status::max_iter;
  res.energy = ctx.energy(atoms);
  res.K = K;
  res.kkt_min = prop.kkt_min;
  res.kkt_method = prop.method;
  res.gap_bound = gap_bound(ctx, atoms, res.energy, res.kkt_min);
  res.orbits = static_cast<int>(atoms.size());
  bool complete = true;
  int fractional = 0;
  res.atoms = describe_atoms(ctx, atoms, complete, fractional);
  int limit_atoms = 0;
  for (const auto& a : res.atoms) limit_atoms += a.linear_regime;
  res.attained = limit_atoms == 0 && fractional == 0;
  if (limit_atoms)
    append_note(res.note, "infimum, not attained: " + std::to_string(limit_atoms) +
                              " atom(s) in the linear regime (neurons shrink toward 0 as their number grows)");
  if (fractional)
    append_note(res.note, "relaxed optimum: " + std::to_string(fractional) +
                              " atom(s) hold a fractional number of neurons, so finite networks may stay above E");
  if (!complete) append_note(res.note, "orbits too large to list: atoms are one representative each");
  if (ctx.dropped_symmetries)
    append_note(res.note, std::to_string(ctx.dropped_symmetries) + " given symmetries do not preserve Kx and Ky: ignored");
  if (opt.polish && !problem.full_rank()) append_note(res.note, "positions not polished (Kx is singular)");
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return res;
}

}  // namespace absrep
