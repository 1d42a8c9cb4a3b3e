#include "study/point.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/errors.hpp"
#include "meanfield/energy.hpp"
#include "theory/closed_form.hpp"
#include "train/deep_trainer.hpp"

namespace absrep {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The fields every solver reports from a kernel: PS, participation ratio, comparison with
// the closed form where it applies.
void describe_kernel(Report& r, const Task& task, const ClosedForm& theory) {
  const ParallelismScore ps = parallelism_score(task, r.kernel);
  r.ps = ps.ps;
  r.ps_per_label = ps.per_label;
  r.participation_ratio = participation_ratio(r.kernel);
  if (theory.applicable) {
    r.kernel_rel_err = kernel_relative_error(r.kernel, theory.K);
    r.energy_rel_gap = (r.energy - theory.energy) / std::abs(theory.energy);
  }
}

}  // namespace

void validate(const ModelSpec& model) {
  require(model.width >= 1, "width", "width must be >= 1, got " + std::to_string(model.width));
  require(model.depth >= 1 && model.depth <= 16, "depth", "depth must be between 1 and 16, got " + std::to_string(model.depth));
  require(std::isfinite(model.lam1) && model.lam1 > 0, "lam1", "lam1 must be positive");
  require(std::isfinite(model.lam2) && model.lam2 > 0, "lam2", "lam2 must be positive");
}

Problem build_problem(const PointSpec& spec) {
  validate(spec.model);
  return make_problem(spec.task, spec.geometry);
}

Report solve_theory(const PointSpec& spec) {
  const auto start = std::chrono::steady_clock::now();
  const Problem pb = build_problem(spec);
  const ModelSpec& md = spec.model;
  const ClosedForm cf = closed_form(pb.task, pb.geometry, md.activation, md.lam1, md.lam2);
  Report r;
  r.solver = "theory";
  r.applicable = cf.applicable;
  r.theory_case = cf.case_name;
  if (!cf.applicable) {
    r.status = Status::invalid;
    r.note = cf.reason;
    r.seconds = seconds_since(start);
    return r;
  }
  r.status = Status::converged;
  r.c = cf.c;
  r.energy = cf.energy;
  r.kernel = cf.K;
  if (!cf.exact) r.note = cf.case_name == "odd-infimum" ? "infimum, approached as N grows" : "small-lambda limit";
  describe_kernel(r, pb.task, cf);
  // The certificate of the closed form itself: K* must satisfy the KKT condition.
  const EffectiveProblem ep(pb.Kx, pb.task.Ky(), md.activation, md.lam1, md.lam2);
  const KktReport kkt = kkt_min(ep, r.kernel);
  r.kkt_min = kkt.kkt_min;
  r.kkt_method = to_string(kkt.method);
  r.seconds = seconds_since(start);
  return r;
}

namespace {

// The fields every training run reports, whatever the network.
Report training_report(const TrainResult& tr, const TrainOptions& options) {
  Report r;
  r.solver = "train";
  r.seed = options.seed;
  r.status = tr.status;
  r.note = tr.note;
  r.iterations = tr.iterations;
  r.stationarity = tr.stationarity;
  r.energy = tr.loss;
  return r;
}

// Depth L > 1: hidden layers take λ1, the readout λ2. Every hidden layer's PS is reported; the
// kernel, PS and selectivity are the last hidden layer's. No closed form or certificate applies.
Report solve_deep(const PointSpec& spec, const Problem& pb, const TrainOptions& options,
                  std::chrono::steady_clock::time_point start) {
  const ModelSpec& md = spec.model;
  std::vector<double> lams(md.depth, md.lam1);
  lams.push_back(md.lam2);
  const DeepLoss loss(pb.Xa, pb.task.Y(), md.activation, md.width, md.depth, lams);
  const TrainResult tr = train_deep(loss, options);
  Report r = training_report(tr, options);
  if (tr.status != Status::diverged) {
    const auto A = loss.activities(tr.theta);
    for (const auto& Al : A) r.ps_layers.push_back(parallelism_score(pb.task, Al.transpose() * Al).ps);
    r.kernel = A.back().transpose() * A.back();
    describe_kernel(r, pb.task, ClosedForm{});
    r.selectivity = selectivity(pb.task, A.back());
  }
  r.seconds = seconds_since(start);
  return r;
}

}  // namespace

Report solve_train(const PointSpec& spec, const TrainOptions& options, const Reducer& reducer) {
  const auto start = std::chrono::steady_clock::now();
  const Problem pb = build_problem(spec);
  const ModelSpec& md = spec.model;
  if (md.depth > 1) return solve_deep(spec, pb, options, start);
  const TwoLayerLoss loss(pb.Xa, pb.task.Y(), md.activation, md.width, md.lam1, md.lam2, reducer);
  const TrainResult tr = train(loss, options);
  Report r = training_report(tr, options);
  r.polish_rounds = tr.polish_rounds;
  for (const TrajectoryPoint& t : tr.trajectory) {
    r.trajectory_iteration.push_back(t.iteration);
    r.trajectory_energy.push_back(t.loss);
    r.trajectory_ps.push_back(parallelism_score(pb.task, t.kernel).ps);
    r.trajectory_kernel.push_back(t.kernel);
  }
  if (tr.status == Status::diverged) {
    r.seconds = seconds_since(start);
    return r;
  }
  const Eigen::MatrixXd H = loss.preactivations(tr.theta);  // P×N, every neuron
  const EffectiveProblem ep(pb.Kx, pb.task.Ky(), md.activation, md.lam1, md.lam2);
  r.kernel = ep.kernel(H);
  const ClosedForm cf = closed_form(pb.task, pb.geometry, md.activation, md.lam1, md.lam2);
  describe_kernel(r, pb.task, cf);
  Eigen::MatrixXd A;
  md.activation.apply(H, A);
  r.selectivity = selectivity(pb.task, A.transpose());
  // The strongest neurons seed the local search (for the activations without an exact method).
  std::vector<Eigen::Index> order(static_cast<std::size_t>(H.cols()));
  for (Eigen::Index i = 0; i < H.cols(); ++i) order[i] = i;
  const std::size_t keep = std::min<std::size_t>(order.size(), 16);
  std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                    [&](Eigen::Index a, Eigen::Index b) { return H.col(a).norm() > H.col(b).norm(); });
  Eigen::MatrixXd strongest(H.rows(), keep);
  for (std::size_t j = 0; j < keep; ++j) strongest.col(j) = H.col(order[j]);
  KktOptions ko;
  ko.seed = options.seed;
  ko.candidates = &strongest;
  const KktReport kkt = kkt_min(ep, r.kernel, ko);
  r.kkt_min = kkt.kkt_min;
  r.kkt_method = to_string(kkt.method);
  r.seconds = seconds_since(start);
  return r;
}

}  // namespace absrep
