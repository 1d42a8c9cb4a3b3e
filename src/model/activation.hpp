// Hidden-unit nonlinearities φ with their derivatives, their class (THEORY.md: threshold
// activations vanish for x ≤ 0, odd ones satisfy φ(−x) = −φ(x)) and their slope at the origin
// (the closed forms rescale λ1 by its inverse square).
//
// Piecewise activations also describe their pieces: kinks at fixed points split the real line
// into regions, smooth inside each. The active-set polish (train/polish) pins every
// preactivation to a region, where the loss is smooth, and so reaches minima that sit
// exactly on a kink.
#pragma once
#include <Eigen/Dense>
#include <string>
#include <vector>

namespace absrep {

enum class ActivationKind { relu, clipped_relu, log1p_relu, linear, tanh, odd_log1p, softplus, gelu };
enum class ActivationClass { threshold, odd, other };

std::string to_string(ActivationClass c);

class Activation {
 public:
  explicit Activation(ActivationKind kind = ActivationKind::relu) : kind_(kind) {}
  static Activation from_name(const std::string& name);  // throws InputError("activation")
  static const std::vector<std::string>& names();

  ActivationKind kind() const { return kind_; }
  std::string name() const;
  ActivationClass family() const;
  double slope_at_origin() const;
  // φ(a·x) = a·φ(x) for a > 0: mass and radius of a neuron trade off (relu, linear).
  bool positively_homogeneous() const;

  double value(double x) const;
  double derivative(double x) const;  // at a kink: the left derivative

  // Elementwise on matrices, vectorised per kind. dA may be null.
  void apply(const Eigen::MatrixXd& Z, Eigen::MatrixXd& A, Eigen::MatrixXd* dA = nullptr) const;

  // The backward pass through φ: G ← G ⊙ φ′(Z), given A = φ(Z). Where φ′ is exactly a function
  // of φ (relu: A > 0, linear, tanh: 1 − A², derivative_from_value()) it is read off A and Z may
  // be null, so that a caller need not keep the preactivations; otherwise Z is required.
  bool derivative_from_value() const;
  void backprop(const Eigen::MatrixXd* Z, const Eigen::MatrixXd& A, Eigen::MatrixXd& G) const;

  // Pieces: kinks in increasing order; region r is (kinks[r−1], kinks[r]).
  const std::vector<double>& kinks() const;
  int region_of(double x) const;  // a point on a kink belongs to the region below it
  // φ and φ′ continued smoothly from region r (equal to φ inside it).
  double branch_value(int region, double x) const;
  double branch_derivative(int region, double x) const;

 private:
  ActivationKind kind_;
};

}  // namespace absrep
