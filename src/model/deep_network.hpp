// Deep networks (THEORY.md, "Network and loss"): f = W_{L+1} φ(W_L ⋯ φ(W1a Xa)), L hidden
// layers of width N, the bias in the first layer only, one λ per layer:
//   L = ½‖Y − f‖²_F + Σ_{ℓ=1}^{L+1} ½λ_ℓ‖W_ℓ‖²_F
// with exact gradients by backpropagation, over a flat parameter vector
// θ = [vec(W1a); vec(W2); …; vec(W_{L+1})] (column-major), as for the two-layer loss.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "model/activation.hpp"

namespace absrep {

class DeepLoss {
 public:
  // lams: L + 1 values (hidden layers first, the readout last).
  DeepLoss(const Eigen::MatrixXd& Xa, const Eigen::MatrixXd& Y, Activation act, int width, int depth,
           std::vector<double> lams);

  int depth() const { return depth_; }
  int width() const { return width_; }
  Eigen::Index size() const { return offsets_.back(); }
  const Activation& activation() const { return act_; }
  const Eigen::MatrixXd& Xa() const { return Xa_; }
  const Eigen::MatrixXd& Y() const { return Y_; }

  double operator()(const Eigen::VectorXd& theta, Eigen::VectorXd* grad) const;

  // Layer ℓ's weights (ℓ = 0 … L; ℓ = L is the readout) as a view of θ.
  Eigen::Map<const Eigen::MatrixXd> weights(const Eigen::VectorXd& theta, int layer) const;
  // Activities φ(Z_ℓ) (N×P) of every hidden layer at θ.
  std::vector<Eigen::MatrixXd> activities(const Eigen::VectorXd& theta) const;

  // Seeded initialisation, one stream per (layer, neuron), scaled by 1/√fan-in.
  Eigen::VectorXd initial(std::uint64_t seed) const;

 private:
  Eigen::MatrixXd Xa_, Y_;
  Activation act_;
  int width_, depth_;
  std::vector<double> lams_;
  std::vector<Eigen::Index> rows_, cols_, offsets_;
  mutable std::vector<Eigen::MatrixXd> Z_, A_, dA_;
};

}  // namespace absrep
