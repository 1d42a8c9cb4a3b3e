// The two-layer loss's block kernels for the paper's sizes (P ≤ 32 samples, a few dozen inputs):
// eight neurons at a time in the lanes of one SIMD vector (Eigen's fixed-size arrays: one AVX-512
// register, two AVX2 ones, ...). At these sizes Eigen's GEMM spends more time packing its
// operands and choosing its blocking than multiplying (docs/BENCHMARKS.md); here every operand
// of a block stays in L1 and nothing is packed.
//
// The numbers of a block depend on that block's weights alone (the loops below run over the
// block's neurons, samples and inputs in a fixed order), so the neuron partition's bitwise
// reproducibility holds as for the GEMM kernels (two_layer.cpp).
#include <algorithm>

#include "model/two_layer.hpp"

namespace absrep {

namespace {

constexpr int kLanes = 8;
using Lane = Eigen::Array<double, kLanes, 1>;

Lane load(const double* p) { return Lane::Map(p); }
void store(double* p, const Lane& v) { Lane::Map(p) = v; }

Eigen::Index round_up(Eigen::Index n) { return (n + kLanes - 1) / kLanes * kLanes; }
// The first n (≥ 1) of four results to where(q). Stored one by one: a Lane copied into an array
// goes through the stack, and reading it back as one vector stalls on store forwarding.
template <class Where>
void store4(Eigen::Index n, const Lane& v0, const Lane& v1, const Lane& v2, const Lane& v3, Where&& where) {
  store(where(0), v0);
  if (n > 1) store(where(1), v1);
  if (n > 2) store(where(2), v2);
  if (n > 3) store(where(3), v3);
}

// i, or the last index n − 1 where i is past it: a short last group of four repeats its last index.
Eigen::Index clamp_index(Eigen::Index i, Eigen::Index n) { return i < n ? i : n - 1; }

// The four loops of a block, each over eight neurons (the lanes) at a time. Every sum runs in four
// independent chains (four samples, outputs or inputs at a time; a short last group repeats its
// last index and drops the copies), which hides the FMA latency. kP > 0 fixes the number of
// samples at compile time (the paper's P = 2^m), so the loops over samples unroll; kP = 0 takes
// it from `Pd`. Matrices are column-major; those with `rows` rows (Z, A, B, Gv, Gw) are tiles.
using Index = Eigen::Index;

template <int kP>
Index samples(Index Pd) {
  if constexpr (kP > 0) return kP;
  return Pd;
}

// Z = W·X: W rows×D (leading dimension ldw), X D×P.
template <int kP>
void lane_preactivations(const double* W, Index ldw, const double* X, Index D, Index Pd, Index rows, double* Z) {
  const Index P = samples<kP>(Pd);
  for (Index c = 0; c < rows; c += kLanes) {
    for (Index p0 = 0; p0 < P; p0 += 4) {  // one load of W per four FMAs
      const Index p1 = clamp_index(p0 + 1, P), p2 = clamp_index(p0 + 2, P), p3 = clamp_index(p0 + 3, P);
      Lane z0 = Lane::Zero(), z1 = Lane::Zero(), z2 = Lane::Zero(), z3 = Lane::Zero();
      for (Index j = 0; j < D; ++j) {
        const Lane wj = load(W + j * ldw + c);
        z0 += wj * X[p0 * D + j];
        z1 += wj * X[p1 * D + j];
        z2 += wj * X[p2 * D + j];
        z3 += wj * X[p3 * D + j];
      }
      store4(P - p0, z0, z1, z2, z3, [&](Index q) { return Z + (p0 + q) * rows + c; });
    }
  }
}

// F = Vtᵀ·A (m×P): lane-wise sums over the chunks, then one sum across the lanes per entry
// (Eigen's fixed-size reduction: a fixed order). Vt rows×m (leading dimension ldv).
template <int kP>
void lane_output_share(const double* Vt, Index ldv, const double* A, Index rows, Index m, Index Pd, double* F) {
  const Index P = samples<kP>(Pd);
  for (Index k = 0; k < m; ++k) {
    for (Index p0 = 0; p0 < P; p0 += 4) {
      const Index p1 = clamp_index(p0 + 1, P), p2 = clamp_index(p0 + 2, P), p3 = clamp_index(p0 + 3, P);
      Lane f0 = Lane::Zero(), f1 = Lane::Zero(), f2 = Lane::Zero(), f3 = Lane::Zero();
      for (Index c = 0; c < rows; c += kLanes) {
        const Lane vk = load(Vt + k * ldv + c);
        f0 += vk * load(A + p0 * rows + c);
        f1 += vk * load(A + p1 * rows + c);
        f2 += vk * load(A + p2 * rows + c);
        f3 += vk * load(A + p3 * rows + c);
      }
      F[p0 * m + k] = f0.sum();
      if (p0 + 1 < P) F[p1 * m + k] = f1.sum();
      if (p0 + 2 < P) F[p2 * m + k] = f2.sum();
      if (p0 + 3 < P) F[p3 * m + k] = f3.sum();
    }
  }
}

// B = Vt·R (rows×P): the gradient reaching φ(Z). R m×P.
template <int kP>
void lane_upstream(const double* Vt, Index ldv, const double* R, Index m, Index Pd, Index rows, double* B) {
  const Index P = samples<kP>(Pd);
  for (Index c = 0; c < rows; c += kLanes) {
    for (Index p0 = 0; p0 < P; p0 += 4) {
      const Index p1 = clamp_index(p0 + 1, P), p2 = clamp_index(p0 + 2, P), p3 = clamp_index(p0 + 3, P);
      Lane b0 = Lane::Zero(), b1 = Lane::Zero(), b2 = Lane::Zero(), b3 = Lane::Zero();
      for (Index k = 0; k < m; ++k) {
        const Lane vk = load(Vt + k * ldv + c);
        b0 += vk * R[p0 * m + k];
        b1 += vk * R[p1 * m + k];
        b2 += vk * R[p2 * m + k];
        b3 += vk * R[p3 * m + k];
      }
      store4(P - p0, b0, b1, b2, b3, [&](Index q) { return B + (p0 + q) * rows + c; });
    }
  }
}

// Gv = A·Rᵀ (rows×m) and Gw = B·Xᵀ (rows×D), with B = dL/dZ up to sign.
template <int kP>
void lane_weight_gradients(const double* A, const double* B, const double* R, Index m, const double* X, Index D,
                      Index Pd, Index rows, double* Gv, double* Gw) {
  const Index P = samples<kP>(Pd);
  for (Index c = 0; c < rows; c += kLanes) {
    for (Index k0 = 0; k0 < m; k0 += 4) {
      const Index k1 = clamp_index(k0 + 1, m), k2 = clamp_index(k0 + 2, m), k3 = clamp_index(k0 + 3, m);
      Lane g0 = Lane::Zero(), g1 = Lane::Zero(), g2 = Lane::Zero(), g3 = Lane::Zero();
      for (Index p = 0; p < P; ++p) {
        const Lane a = load(A + p * rows + c);
        g0 += a * R[p * m + k0];
        g1 += a * R[p * m + k1];
        g2 += a * R[p * m + k2];
        g3 += a * R[p * m + k3];
      }
      store4(m - k0, g0, g1, g2, g3, [&](Index q) { return Gv + (k0 + q) * rows + c; });
    }
    for (Index j0 = 0; j0 < D; j0 += 4) {
      const Index j1 = clamp_index(j0 + 1, D), j2 = clamp_index(j0 + 2, D), j3 = clamp_index(j0 + 3, D);
      Lane g0 = Lane::Zero(), g1 = Lane::Zero(), g2 = Lane::Zero(), g3 = Lane::Zero();
      for (Index p = 0; p < P; ++p) {
        const Lane b = load(B + p * rows + c);
        const double* x = X + p * D;
        g0 += b * x[j0];
        g1 += b * x[j1];
        g2 += b * x[j2];
        g3 += b * x[j3];
      }
      store4(D - j0, g0, g1, g2, g3, [&](Index q) { return Gw + (j0 + q) * rows + c; });
    }
  }
}

// Calls kernel.template operator()<kP>() with kP = P for the paper's sample counts, 0 otherwise.
template <class Kernel>
void with_samples(Index P, Kernel&& kernel) {
  switch (P) {
    case 4: return kernel.template operator()<4>();
    case 8: return kernel.template operator()<8>();
    case 16: return kernel.template operator()<16>();
    case 32: return kernel.template operator()<32>();
    default: return kernel.template operator()<0>();
  }
}

}  // namespace

void TwoLayerLoss::prepare_lanes(const double* V) const {
  const Eigen::Index m = shape_.outputs;
  Vt_.setZero(round_up(shape_.width), m);  // W2ᵀ, padded with zero rows to whole lanes
  Vt_.topRows(shape_.width) = Eigen::Map<const Eigen::MatrixXd>(V, m, shape_.width).transpose();
}

// Z (rows×P, rows = count rounded up to whole lanes) = W1[block]·Xa, A = φ(Z), and the block's
// share of the output, Fb_ = W2[block]·A (m×P).
void TwoLayerLoss::forward_lanes(const double* W1, Eigen::Index ld, int first, int count, BlockWork& w,
                                 Eigen::MatrixXd& Z) const {
  const Eigen::Index P = Xa_.cols(), D = Xa_.rows(), m = shape_.outputs, rows = round_up(count);
  // The last block of a network whose width is not a multiple of the lanes: its rows padded
  // with zero weights (a padded lane's outgoing weights are zero too, so it adds nothing).
  // The block's rows of W1a, copied into a tile of whole lanes (the last block of a network whose
  // width is not a multiple of eight padded with zero weights; a padded lane's outgoing weights
  // are zero too, so it adds nothing). Read in place, the columns of W1a lie N doubles apart, and
  // at widths like 512 (4 KiB) every column of a chunk falls in the same L1 set.
  Wpad_.resize(rows, D);
  Wpad_.bottomRows(rows - count).setZero();
  Wpad_.topRows(count) = Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>>(W1 + first, count, D,
                                                                                    Eigen::OuterStride<>(ld));
  const double* Wb = Wpad_.data();
  ld = rows;
  Z.resize(rows, P);
  Fb_.resize(m, P);
  with_samples(P, [&]<int kP>() { lane_preactivations<kP>(Wb, ld, Xa_.data(), D, P, rows, Z.data()); });
  act_.apply(Z, w.A);
  with_samples(P, [&]<int kP>() { lane_output_share<kP>(&Vt_(first, 0), Vt_.rows(), w.A.data(), rows, m, P, Fb_.data()); });
}

// The block's gradient, from the residual R_: ∇W2 = λ2·W2 − R·Aᵀ, ∇W1a = λ1·W1a − ((W2ᵀR) ⊙ φ′)·Xaᵀ.
void TwoLayerLoss::backward_lanes(const double* W1, Eigen::Index ld, const double* V, int first, int count,
                                  const BlockWork& w, const Eigen::MatrixXd* Z, double* gW1,
                                  double* gW2) const {
  const Eigen::Index P = Xa_.cols(), D = Xa_.rows(), m = shape_.outputs, rows = round_up(count);
  // B = W2[block]ᵀ·R (rows×P), then through φ; the weights' gradients from A and B.
  Zb_.resize(rows, P);
  Gv_.resize(rows, m);
  Gw_.resize(rows, D);
  with_samples(P, [&]<int kP>() { lane_upstream<kP>(&Vt_(first, 0), Vt_.rows(), R_.data(), m, P, rows, Zb_.data()); });
  act_.backprop(Z, w.A, Zb_);
  with_samples(P, [&]<int kP>() {
    lane_weight_gradients<kP>(w.A.data(), Zb_.data(), R_.data(), m, Xa_.data(), D, P, rows, Gv_.data(), Gw_.data());
  });
  // Into θ's layout (a column at a time: see forward_lanes on W1a's column stride).
  const Eigen::OuterStride<> stride(ld);
  Eigen::Map<Eigen::MatrixXd, 0, Eigen::OuterStride<>>(gW1 + first, count, D, stride) =
      lam1_ * Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>>(W1 + first, count, D, stride) -
      Gw_.topRows(count);
  Eigen::Map<Eigen::MatrixXd> gV(gW2 + Eigen::Index(first) * m, m, count);
  gV = lam2_ * Eigen::Map<const Eigen::MatrixXd>(V + Eigen::Index(first) * m, m, count) - Gv_.topRows(count).transpose();
}

}  // namespace absrep
