#include "train/polish.hpp"

#include <LBFGSB.h>

#include "core/finish_lbfgs.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace absrep {

namespace {

using RegionMatrix = Eigen::Matrix<int, Eigen::Dynamic, Eigen::Dynamic>;

// E(H) with every entry's φ taken from its pinned piece: smooth in H.
class PinnedEnergy {
 public:
  PinnedEnergy(const EffectiveProblem& problem, const RegionMatrix& regions)
      : pr_(problem), regions_(regions), P_(problem.P()), N_(static_cast<int>(regions.cols())) {}

  double operator()(const Eigen::VectorXd& x, Eigen::VectorXd& grad) {
    const Eigen::Map<const Eigen::MatrixXd> H(x.data(), P_, N_);
    evaluate(H);
    Eigen::Map<Eigen::MatrixXd>(grad.data(), P_, N_) = grad_;
    return energy_;
  }

  void evaluate(const Eigen::Ref<const Eigen::MatrixXd>& H) {
    const Activation& act = pr_.activation();
    A_.resize(P_, N_);
    dA_.resize(P_, N_);
    for (int i = 0; i < N_; ++i)
      for (int p = 0; p < P_; ++p) {
        A_(p, i) = act.branch_value(regions_(p, i), H(p, i));
        dA_(p, i) = act.branch_derivative(regions_(p, i), H(p, i));
      }
    Eigen::MatrixXd K = Eigen::MatrixXd::Zero(P_, P_);
    K.selfadjointView<Eigen::Lower>().rankUpdate(A_);
    K = K.selfadjointView<Eigen::Lower>();
    KinvH_.noalias() = pr_.Kx_pinv() * H;
    G_ = pr_.G(K);
    GA_.noalias() = G_ * A_;
    grad_ = pr_.lam1() * KinvH_ - pr_.lam2() * dA_.cwiseProduct(GA_);
    energy_ = 0.5 * pr_.lam1() * H.cwiseProduct(KinvH_).sum() + pr_.readout_energy(K);
  }

  double energy() const { return energy_; }
  const Eigen::MatrixXd& KinvH() const { return KinvH_; }
  const Eigen::MatrixXd& GA() const { return GA_; }

 private:
  const EffectiveProblem& pr_;
  const RegionMatrix& regions_;
  int P_, N_;
  Eigen::MatrixXd A_, dA_, KinvH_, G_, GA_, grad_;
  double energy_ = 0.0;
};


}  // namespace

PolishResult polish_on_pieces(const EffectiveProblem& problem, const Eigen::MatrixXd& H0, double tol,
                              int max_rounds) {
  const Activation& act = problem.activation();
  const auto& kinks = act.kinks();
  const int P = problem.P(), N = static_cast<int>(H0.cols());
  const double inf = std::numeric_limits<double>::infinity();

  RegionMatrix regions(P, N);
  for (int i = 0; i < N; ++i)
    for (int p = 0; p < P; ++p) regions(p, i) = act.region_of(H0(p, i));

  PolishResult out;
  out.H = H0;
  Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(H0.data(), H0.size());
  Eigen::VectorXd lb(x.size()), ub(x.size());

  LBFGSpp::LBFGSBParam<double> param;
  param.epsilon = tol;
  param.epsilon_rel = 0.0;
  param.past = 0;  // no stopping on slow decrease: only the projected gradient decides
  param.delta = 0.0;
  param.max_iterations = 20000;
  param.max_linesearch = 60;
  param.m = 10;
  LBFGSpp::LBFGSBSolver<double> solver(param);

  for (out.rounds = 1; out.rounds <= max_rounds; ++out.rounds) {
    for (Eigen::Index j = 0; j < x.size(); ++j) {
      const int r = regions(j % P, j / P);
      lb(j) = r == 0 ? -inf : kinks[r - 1];
      ub(j) = r == static_cast<int>(kinks.size()) ? inf : kinks[r];
      x(j) = std::clamp(x(j), lb(j), ub(j));
    }
    PinnedEnergy f(problem, regions);
    double fx = 0.0;
    out.stopped.clear();
    try {
      out.iterations += solver.minimize(f, x, fx, lb, ub);
    } catch (const std::exception& e) {
      // Line search exhausted near machine precision: x is the last accepted point.
      out.stopped = e.what();
    }
    out.iterations += finish_lbfgs(f, x, lb, ub, tol * std::sqrt(static_cast<double>(x.size())));
    const Eigen::Map<const Eigen::MatrixXd> H(x.data(), P, N);
    f.evaluate(H);
    // Entries resting on a kink: does the one-sided derivative into the neighbouring piece descend?
    int moved = 0;
    for (Eigen::Index j = 0; j < x.size(); ++j) {
      const int p = static_cast<int>(j % P), i = static_cast<int>(j / P);
      const int r = regions(p, i);
      const bool at_lower = std::isfinite(lb(j)) && x(j) == lb(j);
      const bool at_upper = std::isfinite(ub(j)) && x(j) == ub(j);
      if (!at_lower && !at_upper) continue;
      const int neighbour = at_upper ? r + 1 : r - 1;
      // φ is continuous at a kink, so GA (built from the pinned piece) holds on both sides.
      const double slope = problem.lam1() * f.KinvH()(p, i) -
                           problem.lam2() * act.branch_derivative(neighbour, x(j)) * f.GA()(p, i);
      const bool descends = at_upper ? slope < -tol : slope > tol;
      if (descends) {
        regions(p, i) = neighbour;
        ++moved;
      }
    }
    out.H = H;
    out.energy = f.energy();
    if (moved == 0) {
      out.settled = true;
      break;
    }
  }
  out.rounds = std::min(out.rounds, max_rounds);
  return out;
}

}  // namespace absrep
