// Full-batch training of the two-layer network to a true minimum.
//
// The optimiser (L-BFGS by default, Adam or GD) runs on the weights. For activations with kinks
// (relu, clipped_relu, log1p_relu) the optimum has neurons exactly on a kink, where L-BFGS stalls,
// so an active-set polish in preactivation space follows (train/polish.hpp; THEORY.md "Numerical
// facts"). Stationarity is the norm of the minimum-norm Clarke subgradient (the plain gradient
// norm for smooth activations). A non-finite loss ends the run with status `diverged`.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "model/two_layer.hpp"

namespace absrep {

enum class Optimizer { lbfgs, adam, gd };
std::string to_string(Optimizer o);
Optimizer optimizer_from_string(const std::string& name);  // throws InputError("optimizer")

struct TrainOptions {
  Optimizer optimizer = Optimizer::lbfgs;
  double lr = 0.0;          // Adam/GD step; 0 picks the default (1e-2 Adam, 1e-2 GD)
  int max_iter = 20000;
  double grad_tol = 1e-8;   // stop when the stationarity measure is at most this
  std::uint64_t seed = 0;
  bool polish = true;       // active-set polish for kinked activations
  int lbfgs_memory = 10;
  double init_scale = 1.0;  // initial weights × this (small: the rich, stage-like learning regime)
  int record_every = 0;     // > 0: record the loss and the kernel at iteration 0, k, 2k, … (trajectory)
};

// One recorded moment of a training run: the optimiser's iteration, the loss and the hidden
// kernel φ(H)ᵀφ(H) there (before any polish).
struct TrajectoryPoint {
  int iteration = 0;
  double loss = 0.0;
  Eigen::MatrixXd kernel;  // P×P
};

struct TrainResult {
  Eigen::VectorXd theta;      // final weights [vec(W1a); vec(W2)]
  double loss = 0.0;
  double stationarity = 0.0;  // min-norm (Clarke) subgradient norm
  int iterations = 0;         // optimiser iterations (L-BFGS/Adam/GD steps)
  int polish_rounds = 0;      // active-set rounds (0: no polish ran)
  Status status = Status::pending;
  double seconds = 0.0;
  std::string note;           // why it stopped, when not plainly converged
  std::vector<TrajectoryPoint> trajectory;  // options.record_every > 0
};

TrainResult train(const TwoLayerLoss& loss, const TrainOptions& options);

// The minimum-norm element of the Clarke subdifferential of L at θ: at each preactivation
// within `kink_tol` of a kink, φ′ ranges over [left, right] and is chosen to minimise the norm.
double clarke_stationarity(const TwoLayerLoss& loss, const Eigen::VectorXd& theta, double kink_tol = -1);

}  // namespace absrep
