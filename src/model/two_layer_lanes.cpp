// The two-layer loss's block kernels for the paper's sizes (P ≤ 32 samples, at most 64 inputs):
// eight neurons at a time in the lanes of one SIMD vector (Eigen's fixed-size arrays: one AVX-512
// register, two AVX2 ones, ...). At these sizes Eigen's GEMM spends more time packing operands and
// choosing its blocking than multiplying, and a pass per product over the block's N×P matrices
// costs more than the arithmetic (docs/BENCHMARKS.md). Here each chunk of eight neurons is taken
// once through the whole forward pass (Z, φ, its share of the output, its penalty) and once
// through the whole backward pass (W2ᵀR, φ′, both weight gradients), with everything it needs in
// registers or L1; only φ(Z) (and Z where φ′ needs it) is kept between the passes.
//
// The numbers of a block depend on that block's weights alone (the loops below run over the
// block's neurons, samples and inputs in a fixed order), so the neuron partition's bitwise
// reproducibility holds as for the GEMM kernels (two_layer.cpp).
#include <algorithm>
#include <stdexcept>

#include "core/errors.hpp"
#include "model/two_layer.hpp"

namespace absrep {

namespace {

using Index = Eigen::Index;
constexpr int kLanes = 8;
constexpr Index kMaxSamples = 32, kMaxInputs = 64, kMaxOutputs = 64;
using Lane = Eigen::Array<double, kLanes, 1>;

Lane load(const double* p) { return Lane::Map(p); }
void store(double* p, const Lane& v) { Lane::Map(p) = v; }
// The first n ≤ 8 entries of p, zeros after them (the last chunk of a width not a multiple of 8).
Lane load_partial(const double* p, Index n) {
  Lane v = Lane::Zero();
  for (Index l = 0; l < n; ++l) v[l] = p[l];
  return v;
}

// The columns of W1a (and of its gradient) lie N doubles apart in θ: a chunk reads or writes one
// cache line in each of D columns, a pattern the hardware prefetcher does not follow (at N = 512
// the columns are 4 KiB apart), so the lines a few chunks ahead are asked for explicitly.
constexpr Index kPrefetch = 4 * kLanes;
inline void prefetch(const void* p) {
#if defined(__GNUC__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

Index round_up(Index n) { return (n + kLanes - 1) / kLanes * kLanes; }
// i, or the last index n − 1 where i is past it: a short last group of four repeats its last
// index (and its copies are dropped), so every group runs four independent FMA chains.
Index clamp_index(Index i, Index n) { return i < n ? i : n - 1; }

// φ and the backward step b ⊙ φ′ lane by lane, for the activations with a lane kernel. The masks
// are plain loops over the eight lanes (the compiler turns them into a compare and a blend;
// Eigen 3.4's select() is not vectorised).
template <ActivationKind kAct>
Lane phi(const Lane& z) {
  if constexpr (kAct == ActivationKind::relu) return z.max(0.0);
  if constexpr (kAct == ActivationKind::clipped_relu) return z.max(0.0).min(1.0);
  if constexpr (kAct == ActivationKind::linear) return z;
  if constexpr (kAct == ActivationKind::tanh) return z.tanh();
}

// [x > 0] as 0.0 or 1.0 for x ≥ 0 (or x = −0), in vector arithmetic: every positive double
// times 2^537·2^537 is ≥ 1 (the smallest is 2^−1074) or +inf, and 0 stays 0. (A compare and a
// select would be the obvious way; Eigen 3.4 does not vectorise select(), and GCC's lane-by-lane
// version goes through the stack.)
inline Lane positive_mask(const Lane& x) {
  constexpr double k2p537 = 0x1p537;
  return (x * k2p537 * k2p537).min(1.0);
}

template <ActivationKind kAct>
Lane through_phi(const Lane& b, const Lane& a, const double* z) {
  if constexpr (kAct == ActivationKind::relu) return b * positive_mask(a);  // a > 0 exactly where z > 0
  if constexpr (kAct == ActivationKind::clipped_relu) {
    // [0 < z ≤ 1] (the left derivative at 1: read off z, since a = 1 for every z ≥ 1). z − 1 is
    // exact near 1 (Sterbenz), so [z − 1 > 0] is [z > 1] exactly.
    const Lane zl = load(z);
    return b * positive_mask(zl.max(0.0)) * (1.0 - positive_mask((zl - 1.0).max(0.0)));
  }
  if constexpr (kAct == ActivationKind::linear) return b;
  if constexpr (kAct == ActivationKind::tanh) return b * (1.0 - a.square());
}

// Four sums over the samples, s_q = Σ_p vec(p)·coef(p, q), passed to emit(q, s_q) for the first
// `valid` of them: even and odd samples in separate chains (eight in all, enough for both FMA
// units), emitted one by one (Lanes copied into an array would go through the stack).
template <class Vec, class Coef, class Emit>
void four_sums_over_samples(Index P, Vec&& vec, Coef&& coef, Index valid, Emit&& emit) {
  Lane g0 = Lane::Zero(), g1 = Lane::Zero(), g2 = Lane::Zero(), g3 = Lane::Zero();
  Lane h0 = Lane::Zero(), h1 = Lane::Zero(), h2 = Lane::Zero(), h3 = Lane::Zero();
  auto add = [&](Index p, Lane& s0, Lane& s1, Lane& s2, Lane& s3) {
    const Lane u = vec(p);
    s0 += u * coef(p, 0);
    s1 += u * coef(p, 1);
    s2 += u * coef(p, 2);
    s3 += u * coef(p, 3);
  };
  Index p = 0;
  for (; p + 1 < P; p += 2) {
    add(p, g0, g1, g2, g3);
    add(p + 1, h0, h1, h2, h3);
  }
  if (p < P) add(p, g0, g1, g2, g3);
  emit(0, g0 + h0);
  if (valid > 1) emit(1, g1 + h1);
  if (valid > 2) emit(2, g2 + h2);
  if (valid > 3) emit(3, g3 + h3);
}

// One block of neurons: its rows of W1a (columns ldw apart in θ), of W2ᵀ (padded to whole
// lanes), the inputs, and its tiles of φ(Z) (and Z) between the two passes.
struct LaneBlock {
  const double* W;
  Index ldw;
  const double* Vt;
  Index ldv;
  const double* X;  // Xa, D×P
  Index D, P, m, count, rows;
  double* A;  // rows×P
  double* Z;  // rows×P, or null where φ′ is read off φ
};

template <int kP>
Index samples(Index P) {
  if constexpr (kP > 0) return kP;
  return P;
}

// Forward: A = φ(W·X), the block's share of the output F = Vtᵀ·A (m×P, column-major), and the
// block's ½λ1‖W‖² + ½λ2‖V‖².
template <int kP, ActivationKind kAct>
double lane_forward(const LaneBlock& b, double lam1, double lam2, double* F) {
  const Index P = samples<kP>(b.P), D = b.D, m = b.m;
  // The chunk's weights, in a plain array: assigning a Lane into an array of Lanes goes through
  // Eigen's move (two half-width stores), and reading it back as one vector stalls on store forwarding.
  alignas(64) double w[kMaxInputs * kLanes];
  const Lane zero = Lane::Zero();
  Lane pen_w[4] = {zero, zero, zero, zero}, pen_v[4] = {zero, zero, zero, zero};
  for (Index c = 0; c < b.rows; c += kLanes) {
    const Index n = std::min<Index>(kLanes, b.count - c);
    for (Index j = 0; j < D; ++j) {
      prefetch(b.W + j * b.ldw + c + kPrefetch);
      store(w + j * kLanes, n == kLanes ? load(b.W + j * b.ldw + c) : load_partial(b.W + j * b.ldw + c, n));
    }
    for (Index j = 0; j < D; ++j) pen_w[j % 4] += load(w + j * kLanes).square();  // four chains
    for (Index k = 0; k < m; ++k) pen_v[k % 4] += load(b.Vt + k * b.ldv + c).square();
    for (Index p0 = 0; p0 < P; p0 += 4) {  // four samples per pass over the inputs
      const Index p1 = clamp_index(p0 + 1, P), p2 = clamp_index(p0 + 2, P), p3 = clamp_index(p0 + 3, P);
      // Even and odd inputs in separate sums: eight chains, enough to keep both FMA units busy.
      Lane z0 = Lane::Zero(), z1 = Lane::Zero(), z2 = Lane::Zero(), z3 = Lane::Zero();
      Lane y0 = Lane::Zero(), y1 = Lane::Zero(), y2 = Lane::Zero(), y3 = Lane::Zero();
      Index j = 0;
      for (; j + 1 < D; j += 2) {
        const double* x = b.X + j;
        const Lane we = load(w + j * kLanes), wo = load(w + (j + 1) * kLanes);
        z0 += we * x[p0 * D];
        z1 += we * x[p1 * D];
        z2 += we * x[p2 * D];
        z3 += we * x[p3 * D];
        y0 += wo * x[p0 * D + 1];
        y1 += wo * x[p1 * D + 1];
        y2 += wo * x[p2 * D + 1];
        y3 += wo * x[p3 * D + 1];
      }
      if (j < D) {
        const double* x = b.X + j;
        const Lane we = load(w + j * kLanes);
        z0 += we * x[p0 * D];
        z1 += we * x[p1 * D];
        z2 += we * x[p2 * D];
        z3 += we * x[p3 * D];
      }
      z0 += y0;
      z1 += y1;
      z2 += y2;
      z3 += y3;
      // One by one: Lanes copied into an array would go through the stack.
      store(b.A + p0 * b.rows + c, phi<kAct>(z0));
      if (p0 + 1 < P) store(b.A + p1 * b.rows + c, phi<kAct>(z1));
      if (p0 + 2 < P) store(b.A + p2 * b.rows + c, phi<kAct>(z2));
      if (p0 + 3 < P) store(b.A + p3 * b.rows + c, phi<kAct>(z3));
      if (b.Z) {
        store(b.Z + p0 * b.rows + c, z0);
        if (p0 + 1 < P) store(b.Z + p1 * b.rows + c, z1);
        if (p0 + 2 < P) store(b.Z + p2 * b.rows + c, z2);
        if (p0 + 3 < P) store(b.Z + p3 * b.rows + c, z3);
      }
    }
  }
  // The block's share of the output, F(k, p) = Σ_c v_k(c) ⊙ A(c, p) over the block's chunks (A is
  // still in L1 or L2), four samples at a time, then one sum across the lanes per entry (Eigen's
  // fixed-size reduction: a fixed order).
  for (Index k = 0; k < m; ++k) {
    for (Index p0 = 0; p0 < P; p0 += 4) {
      const Index p1 = clamp_index(p0 + 1, P), p2 = clamp_index(p0 + 2, P), p3 = clamp_index(p0 + 3, P);
      Lane f0 = Lane::Zero(), f1 = Lane::Zero(), f2 = Lane::Zero(), f3 = Lane::Zero();
      for (Index c = 0; c < b.rows; c += kLanes) {
        const Lane vk = load(b.Vt + k * b.ldv + c);
        f0 += vk * load(b.A + p0 * b.rows + c);
        f1 += vk * load(b.A + p1 * b.rows + c);
        f2 += vk * load(b.A + p2 * b.rows + c);
        f3 += vk * load(b.A + p3 * b.rows + c);
      }
      F[p0 * m + k] = f0.sum();
      if (p0 + 1 < P) F[p1 * m + k] = f1.sum();
      if (p0 + 2 < P) F[p2 * m + k] = f2.sum();
      if (p0 + 3 < P) F[p3 * m + k] = f3.sum();
    }
  }
  return 0.5 * lam1 * ((pen_w[0] + pen_w[1]) + (pen_w[2] + pen_w[3])).sum() +
         0.5 * lam2 * ((pen_v[0] + pen_v[1]) + (pen_v[2] + pen_v[3])).sum();
}

// Backward, from the residual R (m×P): ∇W2 = λ2·W2 − R·Aᵀ and ∇W1a = λ1·W1a − ((W2ᵀR) ⊙ φ′)·Xᵀ,
// written into θ's layout (gW1 with the block's first row, columns ldw apart; gW2 m×count).
template <int kP, ActivationKind kAct>
void lane_backward(const LaneBlock& b, const double* R, const double* V, double lam1, double lam2, double* gW1,
                   double* gW2) {
  const Index P = samples<kP>(b.P), D = b.D, m = b.m;
  alignas(64) double up[kMaxSamples * kLanes];  // this chunk's (W2ᵀR) ⊙ φ′, one vector per sample
  for (Index c = 0; c < b.rows; c += kLanes) {
    const Index n = std::min<Index>(kLanes, b.count - c);
    for (Index p = 0; p < P; ++p) {
      Lane s = Lane::Zero();
      for (Index k = 0; k < m; ++k) s += load(b.Vt + k * b.ldv + c) * R[p * m + k];
      store(up + p * kLanes, through_phi<kAct>(s, load(b.A + p * b.rows + c), b.Z ? b.Z + p * b.rows + c : nullptr));
    }
    // ∇W2 of the chunk's neurons: Σ_p A(c,p)·R(k,p), four outputs at a time.
    for (Index k0 = 0; k0 < m; k0 += 4) {
      const Index k[4] = {k0, clamp_index(k0 + 1, m), clamp_index(k0 + 2, m), clamp_index(k0 + 3, m)};
      four_sums_over_samples(
          P, [&](Index p) { return load(b.A + p * b.rows + c); }, [&](Index p, int q) { return R[p * m + k[q]]; },
          m - k0, [&](int q, const Lane& g) {
            for (Index l = 0; l < n; ++l) gW2[(c + l) * m + k[q]] = lam2 * V[(c + l) * m + k[q]] - g[l];
          });
    }
    // ∇W1a of the chunk's neurons: Σ_p up(p)·X(j,p), four inputs at a time.
    for (Index j0 = 0; j0 < D; j0 += 4) {
      const Index j[4] = {j0, clamp_index(j0 + 1, D), clamp_index(j0 + 2, D), clamp_index(j0 + 3, D)};
      four_sums_over_samples(
          P, [&](Index p) { return load(up + p * kLanes); }, [&](Index p, int q) { return b.X[p * D + j[q]]; },
          D - j0, [&](int q, const Lane& g) {
            const double* wj = b.W + j[q] * b.ldw + c;
            double* gj = gW1 + j[q] * b.ldw + c;
            prefetch(wj + kPrefetch);
            prefetch(gj + kPrefetch);
            if (n == kLanes) {
              store(gj, lam1 * load(wj) - g);
            } else {
              for (Index l = 0; l < n; ++l) gj[l] = lam1 * wj[l] - g[l];
            }
          });
    }
  }
}

// Calls fn.template operator()<kP, kAct>() with kP = P for the paper's sample counts (P = 2^m;
// the loops over samples then unroll), 0 for the others, and kAct the activation's kind.
template <class Fn>
decltype(auto) dispatch(Index P, ActivationKind act, Fn&& fn) {
  auto with_p = [&]<ActivationKind kAct>() -> decltype(auto) {
    switch (P) {
      case 4: return fn.template operator()<4, kAct>();
      case 8: return fn.template operator()<8, kAct>();
      case 16: return fn.template operator()<16, kAct>();
      case 32: return fn.template operator()<32, kAct>();
      default: return fn.template operator()<0, kAct>();
    }
  };
  switch (act) {
    case ActivationKind::relu: return with_p.template operator()<ActivationKind::relu>();
    case ActivationKind::clipped_relu: return with_p.template operator()<ActivationKind::clipped_relu>();
    case ActivationKind::linear: return with_p.template operator()<ActivationKind::linear>();
    case ActivationKind::tanh: return with_p.template operator()<ActivationKind::tanh>();
    default: throw std::logic_error("lane kernels: no kernel for this activation (lanes_support)");
  }
}

}  // namespace

bool TwoLayerLoss::lanes_support(Eigen::Index samples, Eigen::Index inputs, Eigen::Index outputs,
                                 const Activation& act) {
  const ActivationKind k = act.kind();
  return samples <= kMaxSamples && inputs <= kMaxInputs && outputs <= kMaxOutputs &&
         (k == ActivationKind::relu || k == ActivationKind::clipped_relu || k == ActivationKind::linear ||
          k == ActivationKind::tanh);
}

void TwoLayerLoss::prepare_lanes(const double* V) const {
  const Index m = shape_.outputs;
  Vt_.setZero(round_up(shape_.width), m);  // W2ᵀ, padded with zero rows to whole lanes
  Vt_.topRows(shape_.width) = Eigen::Map<const Eigen::MatrixXd>(V, m, shape_.width).transpose();
}

double TwoLayerLoss::forward_lanes(const double* W1, int first, int count, BlockWork& w, bool keep_z) const {
  const Index P = Xa_.cols(), m = shape_.outputs, rows = round_up(count);
  w.A.resize(rows, P);
  if (keep_z) w.Z.resize(rows, P);
  const LaneBlock b{W1 + first, shape_.width, &Vt_(first, 0), Vt_.rows(), Xa_.data(), Xa_.rows(), P, m, count, rows,
                    w.A.data(), keep_z ? w.Z.data() : nullptr};
  Fb_.resize(m, P);
  return dispatch(P, act_.kind(), [&]<int kP, ActivationKind kAct>() {
    return lane_forward<kP, kAct>(b, lam1_, lam2_, Fb_.data());
  });
}

void TwoLayerLoss::backward_lanes(const double* W1, const double* V, int first, int count, BlockWork& w,
                                  bool keep_z, double* gW1, double* gW2) const {
  const Index P = Xa_.cols(), m = shape_.outputs;
  const LaneBlock b{W1 + first, shape_.width, &Vt_(first, 0), Vt_.rows(), Xa_.data(), Xa_.rows(), P, m, count,
                    round_up(count), w.A.data(), keep_z ? w.Z.data() : nullptr};
  dispatch(P, act_.kind(), [&]<int kP, ActivationKind kAct>() {
    lane_backward<kP, kAct>(b, R_.data(), V + Index(first) * m, lam1_, lam2_, gW1 + first, gW2 + Index(first) * m);
  });
}

}  // namespace absrep
