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
#include "metrics/metrics.hpp"
#include "model/activation.hpp"
#include "task/geometry.hpp"
#include "task/task.hpp"
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

struct Report {
  std::string solver;                   // "theory" | "train" | "meanfield"
  Status status = Status::pending;
  std::string note;
  double ps = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> ps_per_label;
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
  std::optional<Selectivity> selectivity;
  std::uint64_t seed = 0;
};

// Builds the task and inputs; throws InputError naming the parameter.
Problem build_problem(const PointSpec& spec);
void validate(const ModelSpec& model);

Report solve_theory(const PointSpec& spec);
Report solve_train(const PointSpec& spec, const TrainOptions& options);

}  // namespace absrep
