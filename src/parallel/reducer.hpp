// The neuron partition's only contact with the outside (DESIGN.md): a Reducer sums buffers over
// the ranks that share one network and gathers their slices. Each rank owns a contiguous slice of
// the hidden neurons; everything a rank computes from its slice (its share of the outputs, of a
// kernel, of a dot product) is summed here, so that every rank sees the same totals and takes
// the same decisions. The serial Reducer (one rank, nothing to sum) lives here; the MPI one in
// drivers/parallel, so src/ stays free of MPI.
#pragma once
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

namespace absrep {

// Reproducibility: results must not depend on the number of ranks, to the last bit. Floating-
// point sums depend on their order, so neurons are grouped into fixed blocks of kNeuronBlock
// (block b = neurons [b·kNeuronBlock, (b+1)·kNeuronBlock)); every per-neuron quantity is computed
// one block at a time with the same code whatever rank holds the block, and blocks' partial sums
// are added in block order (sum_blocks). A rank's slice is a whole number of blocks.
inline constexpr int kNeuronBlock = 256;

// A contiguous range of hidden neurons [first, first + count).
struct NeuronSlice {
  int first = 0;
  int count = 0;
};

// Rank r of `ranks` owns the r-th of `ranks` near-equal contiguous shares of the blocks of
// `width` neurons (the first shares have one block more; a rank may hold none).
NeuronSlice neuron_slice(int width, int rank, int ranks);

// Calls fn(first, count) for each block of a slice of `count` neurons, first relative to the slice.
template <class Fn>
void for_each_block(int count, Fn&& fn) {
  for (int first = 0; first < count; first += kNeuronBlock) fn(first, std::min(kNeuronBlock, count - first));
}

// Σ x[i]·y[i] in an order fixed by n alone (32 interleaved partial sums, then a fixed tree), not by
// where x and y lie in memory (as Eigen's vectorised dot is): the same bits for the same block.
double ordered_dot(const double* x, const double* y, Eigen::Index n);

class Reducer {
 public:
  virtual ~Reducer() = default;
  virtual int rank() const = 0;
  virtual int ranks() const = 0;
  // In place: data[0..n) becomes its sum over the ranks (the same bits on every rank).
  virtual void sum(double* data, Eigen::Index n) const = 0;
  // The largest of every rank's x.
  virtual double max(double x) const = 0;
  // Every rank's `local` concatenated in rank order, on every rank.
  virtual Eigen::VectorXd gather(const Eigen::Ref<const Eigen::VectorXd>& local) const = 0;

  double sum(double x) const {
    sum(&x, 1);
    return x;
  }
  void sum(Eigen::Ref<Eigen::MatrixXd> m) const;  // m must be contiguous (a whole matrix)
  double dot(const Eigen::Ref<const Eigen::VectorXd>& a, const Eigen::Ref<const Eigen::VectorXd>& b) const {
    return sum(a.dot(b));
  }
  double norm(const Eigen::Ref<const Eigen::VectorXd>& a) const { return std::sqrt(dot(a, a)); }
  // Column blocks of every rank side by side: (rows × Σ cols) from each rank's (rows × cols).
  Eigen::MatrixXd gather_columns(const Eigen::Ref<const Eigen::MatrixXd>& local) const;
  // Each column is one block's partial sums (this rank's blocks in order, the first of them block
  // `first_block` of `total_blocks`): their total over all blocks of all ranks, added in block
  // order, the same bits whatever the partition. One sum of a zero-padded array of every block's
  // partials: each entry has a single nonzero contributor, so that sum is exact in any order.
  Eigen::VectorXd sum_blocks(const Eigen::MatrixXd& partials, int first_block, int total_blocks) const;
};

// One rank: sums are the identity, a gather returns its input.
class SerialReducer final : public Reducer {
 public:
  int rank() const override { return 0; }
  int ranks() const override { return 1; }
  void sum(double*, Eigen::Index) const override {}
  double max(double x) const override { return x; }
  using Reducer::sum;
  Eigen::VectorXd gather(const Eigen::Ref<const Eigen::VectorXd>& local) const override { return local; }
};

const Reducer& serial_reducer();

// This rank's share of a network of `width` neurons, and the block-ordered reductions over it.
struct NeuronPartition {
  const Reducer* reducer = &serial_reducer();
  NeuronSlice slice;
  int width = 0;

  static NeuronPartition of(int width, const Reducer& r) { return {&r, neuron_slice(width, r.rank(), r.ranks()), width}; }
  int first_block() const { return slice.first / kNeuronBlock; }
  int blocks() const { return (width + kNeuronBlock - 1) / kNeuronBlock; }
  int local_blocks() const { return (slice.count + kNeuronBlock - 1) / kNeuronBlock; }
  Eigen::VectorXd sum_blocks(const Eigen::MatrixXd& partials) const {
    return reducer->sum_blocks(partials, first_block(), blocks());
  }
  // ⟨a, b⟩ of two rows × slice.count column-major arrays (one column per neuron), in block order.
  double dot_columns(const double* a, const double* b, Eigen::Index rows) const;
};

}  // namespace absrep
