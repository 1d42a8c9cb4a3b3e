#include "model/deep_network.hpp"

#include <cmath>

#include "core/errors.hpp"
#include "core/random.hpp"

namespace absrep {

DeepLoss::DeepLoss(const Eigen::MatrixXd& Xa, const Eigen::MatrixXd& Y, Activation act, int width, int depth,
                   std::vector<double> lams)
    : Xa_(Xa), Y_(Y), act_(act), width_(width), depth_(depth), lams_(std::move(lams)) {
  require(depth >= 1, "depth", "depth must be >= 1");
  require(static_cast<int>(lams_.size()) == depth + 1, "lam", "one λ per layer: depth + 1 values");
  offsets_.push_back(0);
  for (int l = 0; l <= depth; ++l) {
    rows_.push_back(l == depth ? Y.rows() : width);
    cols_.push_back(l == 0 ? Xa.rows() : width);
    offsets_.push_back(offsets_.back() + rows_.back() * cols_.back());
  }
  Z_.resize(depth);
  A_.resize(depth);
  dA_.resize(depth);
}

Eigen::Map<const Eigen::MatrixXd> DeepLoss::weights(const Eigen::VectorXd& theta, int l) const {
  return {theta.data() + offsets_[l], rows_[l], cols_[l]};
}

double DeepLoss::operator()(const Eigen::VectorXd& theta, Eigen::VectorXd* grad) const {
  double penalty = 0.0;
  for (int l = 0; l <= depth_; ++l) penalty += 0.5 * lams_[l] * weights(theta, l).squaredNorm();
  for (int l = 0; l < depth_; ++l) {
    Z_[l].noalias() = weights(theta, l) * (l == 0 ? Xa_ : A_[l - 1]);
    act_.apply(Z_[l], A_[l], grad ? &dA_[l] : nullptr);
  }
  Eigen::MatrixXd R = Y_;
  R.noalias() -= weights(theta, depth_) * A_[depth_ - 1];
  const double loss = 0.5 * R.squaredNorm() + penalty;
  if (!grad) return loss;
  grad->resize(size());
  auto g = [&](int l) { return Eigen::Map<Eigen::MatrixXd>(grad->data() + offsets_[l], rows_[l], cols_[l]); };
  g(depth_) = lams_[depth_] * weights(theta, depth_);
  g(depth_).noalias() -= R * A_[depth_ - 1].transpose();
  Eigen::MatrixXd delta = -(weights(theta, depth_).transpose() * R);  // ∂L/∂A_L
  for (int l = depth_ - 1; l >= 0; --l) {
    delta.array() *= dA_[l].array();  // ∂L/∂Z_ℓ
    g(l) = lams_[l] * weights(theta, l);
    g(l).noalias() += delta * (l == 0 ? Xa_ : A_[l - 1]).transpose();
    if (l > 0) delta = weights(theta, l).transpose() * delta;
  }
  return loss;
}

std::vector<Eigen::MatrixXd> DeepLoss::activities(const Eigen::VectorXd& theta) const {
  (*this)(theta, nullptr);
  return A_;
}

Eigen::VectorXd DeepLoss::initial(std::uint64_t seed) const {
  Eigen::VectorXd theta(size());
  for (int l = 0; l <= depth_; ++l) {
    Eigen::Map<Eigen::MatrixXd> W(theta.data() + offsets_[l], rows_[l], cols_[l]);
    const double scale = 1.0 / std::sqrt(static_cast<double>(cols_[l]));
    for (Eigen::Index i = 0; i < rows_[l]; ++i) {
      Rng rng(derive_seed(seed, {0x6465657000ULL + static_cast<std::uint64_t>(l), static_cast<std::uint64_t>(i)}));
      for (Eigen::Index j = 0; j < cols_[l]; ++j) W(i, j) = scale * rng.normal();
    }
  }
  return theta;
}

}  // namespace absrep
