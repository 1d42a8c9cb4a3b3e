// One point of a study: the problem (task + input geometry) and the model, and the solvers
// that answer it (closed-form theory, training; the mean-field solver joins them). Each solver
// returns a Report with the fields of the CLI contract (DESIGN.md), so the CLI and the sweep
// archive print and store the same numbers.
#pragma once
#include <Eigen/Dense>
#include <optional>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "meanfield/kkt.hpp"
#include "meanfield/solver.hpp"
#include "metrics/metrics.hpp"
#include "model/activation.hpp"
#include "task/geometry.hpp"
#include "task/task.hpp"
#include "parallel/reducer.hpp"
#include "train/trainer.hpp"

namespace absrep {

struct ModelSpec {
  Activation activation{ActivationKind::relu};
  int width = 64;  // N
  int depth = 1;   // L hidden layers
  double lam1 = 0.01;
  double lam2 = 0.01;
};

struct PointSpec {
  TaskSpec task;
  GeometrySpec geometry;
  ModelSpec model;
};

// One optimal tuning of the mean-field solution (an atom), described on the task's classes.
struct Tuning {
  Eigen::VectorXd h;         // preactivation over the samples (a direction for homogeneous φ)
  double mass = 0.0;         // neurons (for homogeneous φ: the weight w of w·φ(h)φ(h)ᵀ)
  bool linear_regime = false;  // an infinitesimal neuron (the optimum is an infimum)
  Eigen::VectorXd response;  // class-mean activity, one entry per class
  std::vector<int> labels;   // the labels (0-based) the response depends on
  int polarity = 0;          // single-label tunings: +1 if it prefers label = +1, −1 if −1
};

struct Report {
  std::string solver;                   // "theory" | "train" | "meanfield"
  Status status = Status::pending;
  std::string note;
  double ps = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> ps_per_label;
  std::vector<double> ps_layers;        // deep networks: PS of every hidden layer
  double energy = std::numeric_limits<double>::quiet_NaN();
  Eigen::MatrixXd kernel;               // P×P
  std::optional<double> kernel_rel_err;  // against the closed form, where one applies
  std::optional<double> energy_rel_gap;  // (E − E*)/|E*| against the closed form
  double kkt_min = std::numeric_limits<double>::quiet_NaN();
  std::string kkt_method;
  int iterations = 0;
  double seconds = 0.0;
  double participation_ratio = std::numeric_limits<double>::quiet_NaN();
  // theory
  std::optional<bool> applicable;
  std::string theory_case;
  std::optional<double> c;
  // train
  std::optional<double> stationarity;
  std::optional<int> polish_rounds;
  std::optional<Selectivity> selectivity;  // train; meanfield: over the atoms
  // meanfield
  std::optional<double> gap_bound;  // E − E* ≤ gap_bound (certified when kkt_method is exact)
  std::optional<int> atoms;         // support size of the optimal measure (whole orbits: ≥ narrowest width)
  std::optional<bool> attained;     // false: no finite network attains E (linear regime, fractional neurons)
  std::vector<Tuning> tunings;
  std::uint64_t seed = 0;
  // train with record_every > 0: the learning trajectory (optimiser iterations 0, k, 2k, …)
  std::vector<int> trajectory_iteration;
  std::vector<double> trajectory_energy, trajectory_ps;
  std::vector<Eigen::MatrixXd> trajectory_kernel;
};

// Builds the task and inputs; throws InputError naming the parameter.
Problem build_problem(const PointSpec& spec);
void validate(const ModelSpec& model);

Report solve_theory(const PointSpec& spec);
// With a Reducer over several ranks the two-layer network's neurons are split between them
// (every rank calls this and gets the same Report); a deep network is not split: every rank
// trains the whole of it.
Report solve_train(const PointSpec& spec, const TrainOptions& options, const Reducer& reducer = serial_reducer());

// Permutations of the samples that preserve Kx and Ky of an aligned or whitened geometry: flips
// of each label, swaps of labels that look alike (equal α_k and s_k), and (n > 1) the same swap
// of two samples within every class. Empty for gaussian inputs.
std::vector<std::vector<int>> sample_symmetries(const Task& task, const GeometrySpec& resolved);
// The infinite-width optimum (meanfield/solver); unless the options give symmetries, the task's
// are used (sample_symmetries) when `task_symmetries` is set.
Report solve_meanfield(const PointSpec& spec, const MeanfieldOptions& options, bool task_symmetries = true);

}  // namespace absrep
