// A candidate for TwoLayerLoss::operator() with relu, kept in bench/ to measure what a rewrite of
// the library's hot path would buy (LossGradFused/* next to LossGrad/* in absrep_bench; checked
// against the plain expressions by bench_loss_paths). Same loss, same gradient, same θ layout:
//   Z = W1a·Xa (one GEMM), then per block of samples small enough that φ(Z) stays in L2:
//     A = φ(Z_b), R_b = Y_b − W2·A, loss += ½‖R_b‖², ∇W2 −= R_b·Aᵀ, Z_b ← −(W2ᵀR_b) ⊙ [Z_b > 0]
//   ∇W1a = λ1·W1a + Z·Xaᵀ (one GEMM, Z now holding dL/dZ).
// Against the library's version it makes one pass over the N×P matrices instead of several (no
// φ′ matrix: the mask is recomputed from Z; no copies of φ(Z)), and its two big products are one
// GEMM each over all neurons instead of one per 256-neuron block. Serial only: its sum over
// neurons (W2·A) is not in the library's rank-independent block order (parallel/reducer.hpp), so
// it measures the cost of memory traffic and of blocked GEMMs, not a drop-in replacement.
#pragma once
#include <Eigen/Dense>
#include <algorithm>

#include "model/two_layer.hpp"

namespace absrep::bench {

class FusedReluLoss {
 public:
  explicit FusedReluLoss(const TwoLayerLoss& f) : f_(f) {}

  double operator()(const Eigen::VectorXd& theta, Eigen::VectorXd* grad) const {
    const auto W1 = f_.W1a(theta);
    const auto V = f_.W2(theta);
    const Eigen::MatrixXd& Xa = f_.Xa();
    const Eigen::MatrixXd& Y = f_.Y();
    const Eigen::Index N = W1.rows(), P = Xa.cols(), m = V.rows();
    Z_.resize(N, P);
    Z_.noalias() = W1 * Xa;
    Vt_ = V.transpose();  // N×m, contiguous columns for the lazy products
    if (grad) {
      grad->resize(f_.shape().size());
      gW2t_.setZero(N, m);
    }
    const Eigen::Index block = std::clamp<Eigen::Index>(kBlockDoubles / N, 1, P);
    double data = 0.0;
    for (Eigen::Index p0 = 0; p0 < P; p0 += block) {
      const Eigen::Index nb = std::min(block, P - p0);
      auto Zb = Z_.middleCols(p0, nb);
      A_ = Zb.cwiseMax(0.0);                                   // N×nb
      R_ = Y.middleCols(p0, nb);
      R_.noalias() -= V * A_;                                  // m×nb
      data += R_.squaredNorm();
      if (!grad) continue;
      gW2t_.noalias() -= A_ * R_.transpose();                  // (R_b Aᵀ)ᵀ, N×m
      B_.noalias() = Vt_ * R_;                                 // W2ᵀR_b, N×nb
      Zb = (Zb.array() > 0.0).select(-B_.array(), 0.0);
    }
    const double loss = 0.5 * data + 0.5 * f_.lam1() * W1.squaredNorm() + 0.5 * f_.lam2() * V.squaredNorm();
    if (grad) {
      Eigen::Map<Eigen::MatrixXd> gW1(grad->data(), N, W1.cols());
      Eigen::Map<Eigen::MatrixXd> gW2(grad->data() + W1.size(), m, N);
      gW2 = f_.lam2() * V + gW2t_.transpose();
      gW1 = f_.lam1() * W1;
      gW1.noalias() += Z_ * Xa.transpose();
    }
    return loss;
  }

 private:
  static constexpr Eigen::Index kBlockDoubles = Eigen::Index(1) << 15;  // 256 KiB of φ(Z) per block
  const TwoLayerLoss& f_;
  mutable Eigen::MatrixXd Z_, A_, B_, R_, Vt_, gW2t_;
};

}  // namespace absrep::bench
