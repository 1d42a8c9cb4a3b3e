#include "model/two_layer.hpp"

#include <cmath>

#include "core/errors.hpp"
#include "core/random.hpp"

namespace absrep {

TwoLayerLoss::TwoLayerLoss(const Eigen::MatrixXd& Xa, const Eigen::MatrixXd& Y, Activation act,
                           int width, double lam1, double lam2, const Reducer& reducer)
    : Xa_(Xa),
      Y_(Y),
      act_(act),
      part_(NeuronPartition::of(width, reducer)),
      shape_{static_cast<int>(Xa.rows()), part_.slice.count, static_cast<int>(Y.rows())},
      lam1_(lam1),
      lam2_(lam2),
      path_(lanes_support(Xa.cols(), Xa.rows(), Y.rows(), act) ? Path::lanes : Path::gemm) {}

void TwoLayerLoss::set_path(Path p) {
  require(p == Path::gemm || lanes_support(Xa_.cols(), Xa_.rows(), Y_.rows(), act_), "path",
          "no lane kernel for this activation or size");
  path_ = p;
}

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

// One block at a time (parallel/reducer.hpp): every product below has the block's size whatever
// the partition, and writes into an owned temporary, so each neuron's numbers are the same bits
// on any number of ranks; the blocks' shares of the output are then added in block order.
//
// Speed (docs/BENCHMARKS.md): a block's φ(Z) (and Z, where φ′ is not a function of φ) is kept
// in its own workspace between the forward and the backward pass, nothing is copied into
// whole-network matrices, and the backward pass visits the blocks in reverse, starting with
// those the forward pass left in cache.
double TwoLayerLoss::operator()(const Eigen::VectorXd& theta, Eigen::VectorXd* grad) const {
  const auto W1 = W1a(theta);
  const auto V = W2(theta);
  const Eigen::Index P = Xa_.cols(), m = shape_.outputs;
  const bool keep_z = grad && !act_.derivative_from_value();
  const bool lanes = path_ == Path::lanes;
  if (blocks_.size() < std::size_t(part_.local_blocks())) blocks_.resize(part_.local_blocks());
  if (lanes) prepare_lanes(V.data());
  share_.resize(m * P + 1, part_.local_blocks());
  for_each_block(shape_.width, [&](int first, int count) {
    const int b = first / kNeuronBlock;
    BlockWork& w = blocks_[b];
    if (lanes) {
      share_(m * P, b) = forward_lanes(W1.data(), first, count, w, keep_z);
    } else {
      Eigen::MatrixXd& Z = keep_z ? w.Z : Zb_;
      Z.noalias() = W1.middleRows(first, count) * Xa_;
      act_.apply(Z, w.A);
      Fb_.noalias() = V.middleCols(first, count) * w.A;  // this block's share of W2 φ(Z), m×P
      double w1 = 0.0;
      for (Eigen::Index j = 0; j < W1.cols(); ++j) {
        const double* col = W1.col(j).data() + first;
        w1 += ordered_dot(col, col, count);
      }
      const double* v = V.col(first).data();
      share_(m * P, b) = 0.5 * lam1_ * w1 + 0.5 * lam2_ * ordered_dot(v, v, m * count);
    }
    share_.col(b).head(m * P) = Eigen::Map<const Eigen::VectorXd>(Fb_.data(), m * P);
  });
  const Eigen::VectorXd total = part_.sum_blocks(share_);
  R_ = Y_ - Eigen::Map<const Eigen::MatrixXd>(total.data(), m, P);  // residual Y − W2 φ(Z), m×P
  const double loss = 0.5 * R_.squaredNorm() + total(m * P);
  if (!grad) return loss;
  grad->resize(shape_.size());
  Eigen::Map<Eigen::MatrixXd> gW1(grad->data(), shape_.width, shape_.inputs);
  Eigen::Map<Eigen::MatrixXd> gW2(grad->data() + W1.size(), shape_.outputs, shape_.width);
  for (int b = part_.local_blocks() - 1; b >= 0; --b) {
    const int first = b * kNeuronBlock, count = std::min(kNeuronBlock, shape_.width - first);
    BlockWork& w = blocks_[b];
    if (lanes) {
      backward_lanes(W1.data(), V.data(), first, count, w, keep_z, gW1.data(), gW2.data());
      continue;
    }
    Fb_.noalias() = R_ * w.A.transpose();  // m×count
    gW2.middleCols(first, count) = lam2_ * V.middleCols(first, count) - Fb_;
    // Back through φ: dL/dZ = −(W2ᵀR) ⊙ φ′(Z).
    Zb_.noalias() = V.middleCols(first, count).transpose() * R_;
    act_.backprop(keep_z ? &w.Z : nullptr, w.A, Zb_);
    Ab_.noalias() = Zb_ * Xa_.transpose();  // count×inputs
    gW1.middleRows(first, count) = lam1_ * W1.middleRows(first, count) - Ab_;
  }
  return loss;
}

double TwoLayerLoss::dot(const Eigen::VectorXd& a, const Eigen::VectorXd& b) const {
  Eigen::MatrixXd partial(1, part_.local_blocks());
  const Eigen::Index n = shape_.width, w1 = n * shape_.inputs, m = shape_.outputs;
  for_each_block(shape_.width, [&](int first, int count) {
    double s = 0.0;
    for (Eigen::Index j = 0; j < shape_.inputs; ++j) s += ordered_dot(a.data() + j * n + first, b.data() + j * n + first, count);
    s += ordered_dot(a.data() + w1 + m * first, b.data() + w1 + m * first, m * count);
    partial(0, first / kNeuronBlock) = s;
  });
  return part_.sum_blocks(partial)(0);
}

Eigen::VectorXd TwoLayerLoss::initial(std::uint64_t seed) const {
  Eigen::MatrixXd W1(shape_.width, shape_.inputs), W2(shape_.outputs, shape_.width);
  const double s1 = 1.0 / std::sqrt(shape_.inputs), s2 = 1.0 / std::sqrt(part_.width);
  for (int i = 0; i < shape_.width; ++i) {
    Rng rng(derive_seed(seed, {0x6E6575726F6E, static_cast<std::uint64_t>(part_.slice.first + i)}));
    for (int j = 0; j < shape_.inputs; ++j) W1(i, j) = s1 * rng.normal();
    for (int k = 0; k < shape_.outputs; ++k) W2(k, i) = s2 * rng.normal();
  }
  return pack(W1, W2);
}

Eigen::MatrixXd TwoLayerLoss::kernel(const Eigen::VectorXd& theta) const {
  const Eigen::Index P = Xa_.cols();
  Eigen::MatrixXd partial(P * P, part_.local_blocks()), Kb;
  const auto W1 = W1a(theta);
  for_each_block(shape_.width, [&](int first, int count) {
    Zb_.noalias() = W1.middleRows(first, count) * Xa_;
    act_.apply(Zb_, Ab_);
    Kb.noalias() = Ab_.transpose() * Ab_;
    partial.col(first / kNeuronBlock) = Eigen::Map<const Eigen::VectorXd>(Kb.data(), P * P);
  });
  const Eigen::VectorXd K = part_.sum_blocks(partial);
  return Eigen::Map<const Eigen::MatrixXd>(K.data(), P, P);
}

Eigen::MatrixXd TwoLayerLoss::local_preactivations(const Eigen::VectorXd& theta) const {
  Eigen::MatrixXd H(Xa_.cols(), shape_.width);
  const auto W1 = W1a(theta);
  for_each_block(shape_.width, [&](int first, int count) {
    Zb_.noalias() = W1.middleRows(first, count) * Xa_;
    H.middleCols(first, count) = Zb_.transpose();
  });
  return H;
}

}  // namespace absrep
