#include "model/two_layer.hpp"

#include <cmath>

#include "core/random.hpp"

namespace absrep {

TwoLayerLoss::TwoLayerLoss(const Eigen::MatrixXd& Xa, const Eigen::MatrixXd& Y, Activation act,
                           int width, double lam1, double lam2)
    : Xa_(Xa),
      Y_(Y),
      act_(act),
      shape_{static_cast<int>(Xa.rows()), width, static_cast<int>(Y.rows())},
      lam1_(lam1),
      lam2_(lam2) {}

Eigen::Map<const Eigen::MatrixXd> TwoLayerLoss::W1a(const Eigen::VectorXd& theta) const {
  return {theta.data(), shape_.width, shape_.inputs};
}

Eigen::Map<const Eigen::MatrixXd> TwoLayerLoss::W2(const Eigen::VectorXd& theta) const {
  return {theta.data() + Eigen::Index(shape_.width) * shape_.inputs, shape_.outputs, shape_.width};
}

Eigen::VectorXd TwoLayerLoss::pack(const Eigen::MatrixXd& W1a, const Eigen::MatrixXd& W2) const {
  Eigen::VectorXd theta(shape_.size());
  Eigen::Map<Eigen::MatrixXd>(theta.data(), shape_.width, shape_.inputs) = W1a;
  Eigen::Map<Eigen::MatrixXd>(theta.data() + W1a.size(), shape_.outputs, shape_.width) = W2;
  return theta;
}

double TwoLayerLoss::operator()(const Eigen::VectorXd& theta, Eigen::VectorXd* grad) const {
  const auto W1 = W1a(theta);
  const auto V = W2(theta);
  Z_.noalias() = W1 * Xa_;  // N×P preactivations
  act_.apply(Z_, A_, grad ? &dA_ : nullptr);
  R_ = Y_;
  R_.noalias() -= V * A_;  // residual Y − W2 φ(Z), m×P
  const double loss = 0.5 * R_.squaredNorm() + 0.5 * lam1_ * W1.squaredNorm() + 0.5 * lam2_ * V.squaredNorm();
  if (grad) {
    grad->resize(shape_.size());
    Eigen::Map<Eigen::MatrixXd> gW1(grad->data(), shape_.width, shape_.inputs);
    Eigen::Map<Eigen::MatrixXd> gW2(grad->data() + W1.size(), shape_.outputs, shape_.width);
    gW2 = lam2_ * V;
    gW2.noalias() -= R_ * A_.transpose();
    // Back through φ: dL/dZ = −(W2ᵀR) ⊙ φ′(Z); reuse A_ as the workspace.
    A_.noalias() = V.transpose() * R_;
    A_.array() *= -dA_.array();
    gW1 = lam1_ * W1;
    gW1.noalias() += A_ * Xa_.transpose();
  }
  return loss;
}

Eigen::VectorXd TwoLayerLoss::initial(std::uint64_t seed) const {
  Eigen::MatrixXd W1(shape_.width, shape_.inputs), W2(shape_.outputs, shape_.width);
  const double s1 = 1.0 / std::sqrt(shape_.inputs), s2 = 1.0 / std::sqrt(shape_.width);
  for (int i = 0; i < shape_.width; ++i) {
    Rng rng(derive_seed(seed, {0x6E6575726F6E, static_cast<std::uint64_t>(i)}));
    for (int j = 0; j < shape_.inputs; ++j) W1(i, j) = s1 * rng.normal();
    for (int k = 0; k < shape_.outputs; ++k) W2(k, i) = s2 * rng.normal();
  }
  return pack(W1, W2);
}

}  // namespace absrep
