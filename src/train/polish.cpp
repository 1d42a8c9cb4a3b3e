#include "train/polish.hpp"

#include "core/lbfgs.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace absrep {

namespace {

using RegionMatrix = Eigen::Matrix<int, Eigen::Dynamic, Eigen::Dynamic>;

// E(H) with every entry's φ taken from its pinned piece: smooth in H. H holds this rank's
// neurons; the kernel and the penalty are summed over the blocks of all of them.
class PinnedEnergy {
 public:
  PinnedEnergy(const EffectiveProblem& problem, const RegionMatrix& regions, const NeuronPartition& part)
      : pr_(problem), regions_(regions), part_(part), P_(problem.P()), N_(static_cast<int>(regions.cols())) {}

  double operator()(const Eigen::VectorXd& x, Eigen::VectorXd& grad) {
    const Eigen::Map<const Eigen::MatrixXd> H(x.data(), P_, N_);
    evaluate(H);
    grad.resize(x.size());
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
    KinvH_.resize(P_, N_);
    GA_.resize(P_, N_);
    Eigen::MatrixXd partial(P_ * P_ + 1, part_.local_blocks()), block, Kb;
    for_each_block(N_, [&](int first, int count) {
      block.noalias() = pr_.Kx_pinv() * H.middleCols(first, count);
      KinvH_.middleCols(first, count) = block;
      Kb.noalias() = A_.middleCols(first, count) * A_.middleCols(first, count).transpose();
      const int b = first / kNeuronBlock;
      partial.col(b).head(P_ * P_) = Eigen::Map<const Eigen::VectorXd>(Kb.data(), P_ * P_);
      partial(P_ * P_, b) = ordered_dot(H.col(first).data(), block.data(), Eigen::Index(P_) * count);
    });
    const Eigen::VectorXd total = part_.sum_blocks(partial);
    const Eigen::Map<const Eigen::MatrixXd> K(total.data(), P_, P_);
    G_ = pr_.G(K);
    for_each_block(N_, [&](int first, int count) {
      block.noalias() = G_ * A_.middleCols(first, count);
      GA_.middleCols(first, count) = block;
    });
    grad_ = pr_.lam1() * KinvH_ - pr_.lam2() * dA_.cwiseProduct(GA_);
    energy_ = 0.5 * pr_.lam1() * total(P_ * P_) + pr_.readout_energy(K);
  }

  double energy() const { return energy_; }
  const Eigen::MatrixXd& KinvH() const { return KinvH_; }
  const Eigen::MatrixXd& GA() const { return GA_; }

 private:
  const EffectiveProblem& pr_;
  const RegionMatrix& regions_;
  const NeuronPartition& part_;
  int P_, N_;
  Eigen::MatrixXd A_, dA_, KinvH_, G_, GA_, grad_;
  double energy_ = 0.0;
};

}  // namespace

PolishResult polish_on_pieces(const EffectiveProblem& problem, const Eigen::MatrixXd& H0, double tol,
                              const NeuronPartition* partition, int max_rounds) {
  const Activation& act = problem.activation();
  const auto& kinks = act.kinks();
  const int P = problem.P(), N = static_cast<int>(H0.cols());
  const double inf = std::numeric_limits<double>::infinity();
  const NeuronPartition part = partition ? *partition : NeuronPartition::of(N, serial_reducer());
  const Reducer& reducer = *part.reducer;
  const auto dot = [&](const Eigen::VectorXd& a, const Eigen::VectorXd& b) { return part.dot_columns(a.data(), b.data(), P); };
  const auto sum = [&](double c) { return reducer.sum(c); };

  RegionMatrix regions(P, N);
  for (int i = 0; i < N; ++i)
    for (int p = 0; p < P; ++p) regions(p, i) = act.region_of(H0(p, i));

  PolishResult out;
  out.H = H0;
  Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(H0.data(), H0.size());
  Eigen::VectorXd lb(x.size()), ub(x.size());
  LbfgsOptions param;
  param.grad_tol = tol * std::sqrt(static_cast<double>(P) * part.width);
  param.max_iter = 20000;

  for (out.rounds = 1; out.rounds <= max_rounds; ++out.rounds) {
    for (Eigen::Index j = 0; j < x.size(); ++j) {
      const int r = regions(j % P, j / P);
      lb(j) = r == 0 ? -inf : kinks[r - 1];
      ub(j) = r == static_cast<int>(kinks.size()) ? inf : kinks[r];
      x(j) = std::clamp(x(j), lb(j), ub(j));
    }
    PinnedEnergy f(problem, regions, part);
    const LbfgsResult run = lbfgs_minimize_box(f, x, lb, ub, dot, sum, param);
    out.iterations += run.iterations;
    out.stopped = run.stopped;
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
    if (sum(static_cast<double>(moved)) == 0) {
      out.settled = true;
      break;
    }
  }
  out.rounds = std::min(out.rounds, max_rounds);
  return out;
}

}  // namespace absrep
