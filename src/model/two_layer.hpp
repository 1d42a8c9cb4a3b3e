// The two-layer network f(x) = W2 φ(W1a xa) and its loss (THEORY.md, "Network and loss"):
//   L = ½‖Y − W2 φ(W1a Xa)‖²_F + ½λ1‖W1a‖²_F + ½λ2‖W2‖²_F      (sums, no 1/P)
// with exact gradients. Parameters live in one flat vector θ = [vec(W1a); vec(W2)] (column-
// major) so that every optimiser sees the same thing.
//
// Neuron partition: with a Reducer over R ranks, this rank's θ holds only its slice of the
// neurons (rows of W1a, columns of W2; parallel/reducer.hpp). Each rank computes its share of
// the output W2 φ(W1a Xa) and of the regulariser; one m×P (+1) sum gives every rank the total
// loss and residual, and each rank's gradient is then exact for its slice.
#pragma once
#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <vector>

#include "model/activation.hpp"
#include "parallel/reducer.hpp"

namespace absrep {

struct TwoLayerShape {
  int inputs;   // d + 1 (bias included)
  int width;    // neurons held here: N, or this rank's slice of N
  int outputs;  // m
  Eigen::Index size() const { return Eigen::Index(width) * inputs + Eigen::Index(outputs) * width; }
};

class TwoLayerLoss {
 public:
  // How a block of neurons is computed: with Eigen's GEMM, or (the default at the paper's sizes:
  // P ≤ 32 samples, at most 64 inputs and outputs, and relu, clipped_relu, linear or tanh) with
  // eight neurons in the lanes of a SIMD vector (two_layer_lanes.cpp). Both give the same loss
  // and gradient up to rounding.
  enum class Path { gemm, lanes };
  static bool lanes_support(Eigen::Index samples, Eigen::Index inputs, Eigen::Index outputs, const Activation& act);

  // `width` is the whole network's N; with a Reducer over several ranks this rank holds its slice.
  TwoLayerLoss(const Eigen::MatrixXd& Xa, const Eigen::MatrixXd& Y, Activation act, int width,
               double lam1, double lam2, const Reducer& reducer = serial_reducer());

  Path path() const { return path_; }
  void set_path(Path p);  // for tests and benchmarks (the default is the fast one); throws if unsupported

  const TwoLayerShape& shape() const { return shape_; }  // this rank's share
  const NeuronSlice& slice() const { return part_.slice; }
  const Reducer& reducer() const { return *part_.reducer; }
  const NeuronPartition& partition() const { return part_; }
  const Activation& activation() const { return act_; }
  double lam1() const { return lam1_; }
  double lam2() const { return lam2_; }
  const Eigen::MatrixXd& Xa() const { return Xa_; }
  const Eigen::MatrixXd& Y() const { return Y_; }

  // L(θ) (the whole network's, on every rank); writes this slice's ∇L into grad when non-null.
  double operator()(const Eigen::VectorXd& theta, Eigen::VectorXd* grad) const;

  // The inner product of two vectors laid out as θ, over the whole network (every rank's slice),
  // the same bits on any number of ranks. The optimisers' only inner product.
  double dot(const Eigen::VectorXd& a, const Eigen::VectorXd& b) const;
  double norm(const Eigen::VectorXd& a) const { return std::sqrt(dot(a, a)); }

  // Views of θ as matrices.
  Eigen::Map<const Eigen::MatrixXd> W1a(const Eigen::VectorXd& theta) const;
  Eigen::Map<const Eigen::MatrixXd> W2(const Eigen::VectorXd& theta) const;
  Eigen::VectorXd pack(const Eigen::MatrixXd& W1a, const Eigen::MatrixXd& W2) const;

  // Seeded initialisation: neuron i's incoming row (N(0, 1/(d+1))) and outgoing column
  // (N(0, 1/N)) come from a stream keyed by (seed, i), so a neuron's weights do not depend on
  // the width or on how neurons are partitioned. Returns this rank's slice.
  Eigen::VectorXd initial(std::uint64_t seed) const;

  // The hidden kernel φ(H)ᵀφ(H) (P×P) of the whole network, on every rank.
  Eigen::MatrixXd kernel(const Eigen::VectorXd& theta) const;

  // The preactivations H = (W1a Xa)ᵀ of this rank's neurons (P×slice), and of every neuron of the
  // network (P×N, on every rank).
  Eigen::MatrixXd local_preactivations(const Eigen::VectorXd& theta) const;
  Eigen::MatrixXd preactivations(const Eigen::VectorXd& theta) const {
    return part_.reducer->gather_columns(local_preactivations(theta));
  }

 private:
  Eigen::MatrixXd Xa_, Y_;
  Activation act_;
  NeuronPartition part_;  // which of the network's neurons this rank holds, and over which ranks
  TwoLayerShape shape_;   // (declared after part_: its width is the slice's)
  double lam1_, lam2_;
  Path path_;

  // Workspaces, kept between evaluations (no allocation per evaluation): per block of neurons
  // its φ(Z) (and Z where the backward pass needs it), and scratch shared by the blocks.
  struct BlockWork {
    Eigen::MatrixXd Z, A;
  };
  mutable std::vector<BlockWork> blocks_;
  mutable Eigen::MatrixXd R_, share_, Zb_, Ab_, Fb_;
  mutable Eigen::MatrixXd Vt_;  // the lane kernels' W2ᵀ (two_layer_lanes.cpp)

  // W2ᵀ into Vt_, once per evaluation. One block's forward pass (w.A = φ(Z), w.Z = Z if keep_z,
  // the block's output share in Fb_; returns its penalty ½λ1‖W1a‖² + ½λ2‖W2‖²) and backward pass
  // (its rows of ∇W1a and columns of ∇W2, from R_) with the lane kernels.
  void prepare_lanes(const double* V) const;
  double forward_lanes(const double* W1, int first, int count, BlockWork& w, bool keep_z) const;
  void backward_lanes(const double* W1, const double* V, int first, int count, BlockWork& w, bool keep_z,
                      double* gW1, double* gW2) const;
};

}  // namespace absrep
