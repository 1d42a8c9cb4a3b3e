// The two-layer network f(x) = W2 φ(W1a xa) and its loss (THEORY.md, "Network and loss"):
//   L = ½‖Y − W2 φ(W1a Xa)‖²_F + ½λ1‖W1a‖²_F + ½λ2‖W2‖²_F      (sums, no 1/P)
// with exact gradients. Parameters live in one flat vector θ = [vec(W1a); vec(W2)] (column-
// major) so that every optimiser sees the same thing.
#pragma once
#include <Eigen/Dense>
#include <cstdint>

#include "model/activation.hpp"

namespace absrep {

struct TwoLayerShape {
  int inputs;   // d + 1 (bias included)
  int width;    // N
  int outputs;  // m
  Eigen::Index size() const { return Eigen::Index(width) * inputs + Eigen::Index(outputs) * width; }
};

class TwoLayerLoss {
 public:
  TwoLayerLoss(const Eigen::MatrixXd& Xa, const Eigen::MatrixXd& Y, Activation act, int width,
               double lam1, double lam2);

  const TwoLayerShape& shape() const { return shape_; }
  const Activation& activation() const { return act_; }
  double lam1() const { return lam1_; }
  double lam2() const { return lam2_; }
  const Eigen::MatrixXd& Xa() const { return Xa_; }
  const Eigen::MatrixXd& Y() const { return Y_; }

  // L(θ); writes ∇L into grad when non-null (same layout as θ).
  double operator()(const Eigen::VectorXd& theta, Eigen::VectorXd* grad) const;

  // Views of θ as matrices.
  Eigen::Map<const Eigen::MatrixXd> W1a(const Eigen::VectorXd& theta) const;
  Eigen::Map<const Eigen::MatrixXd> W2(const Eigen::VectorXd& theta) const;
  Eigen::VectorXd pack(const Eigen::MatrixXd& W1a, const Eigen::MatrixXd& W2) const;

  // Seeded initialisation: neuron i's incoming row (N(0, 1/(d+1))) and outgoing column
  // (N(0, 1/N)) come from a stream keyed by (seed, i), so a neuron's weights do not depend on
  // the width or on how neurons are partitioned.
  Eigen::VectorXd initial(std::uint64_t seed) const;

 private:
  Eigen::MatrixXd Xa_, Y_;
  Activation act_;
  TwoLayerShape shape_;
  double lam1_, lam2_;
  mutable Eigen::MatrixXd Z_, A_, dA_, R_;  // workspaces: no allocation per evaluation
};

}  // namespace absrep
