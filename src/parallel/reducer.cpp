#include "parallel/reducer.hpp"

#include "core/errors.hpp"

namespace absrep {

NeuronSlice neuron_slice(int width, int rank, int ranks) {
  require(ranks >= 1 && rank >= 0 && rank < ranks, "ranks", "rank outside the partition");
  const int blocks = (width + kNeuronBlock - 1) / kNeuronBlock;
  const int base = blocks / ranks, extra = blocks % ranks;
  const int first_block = rank * base + std::min(rank, extra);
  const int first = std::min(width, first_block * kNeuronBlock);
  const int end = std::min(width, (first_block + base + (rank < extra ? 1 : 0)) * kNeuronBlock);
  return {first, end - first};
}

double ordered_dot(const double* x, const double* y, Eigen::Index n) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // eight independent sums: the compiler may use SIMD
  Eigen::Index i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) lane[k] += x[i + k] * y[i + k];
  for (int k = 0; i < n; ++i, ++k) lane[k] += x[i] * y[i];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

Eigen::VectorXd Reducer::sum_blocks(const Eigen::MatrixXd& partials, int first_block, int total_blocks) const {
  Eigen::MatrixXd all;
  if (ranks() == 1) {
    all = partials;
  } else {
    all.setZero(partials.rows(), total_blocks);
    all.middleCols(first_block, partials.cols()) = partials;
    sum(all);
  }
  Eigen::VectorXd total = Eigen::VectorXd::Zero(partials.rows());
  for (Eigen::Index b = 0; b < all.cols(); ++b) total += all.col(b);
  return total;
}

void Reducer::sum(Eigen::Ref<Eigen::MatrixXd> m) const {
  if (m.outerStride() != m.rows()) throw std::logic_error("Reducer::sum needs a contiguous matrix");
  sum(m.data(), m.size());
}

Eigen::MatrixXd Reducer::gather_columns(const Eigen::Ref<const Eigen::MatrixXd>& local) const {
  const Eigen::MatrixXd block = local;  // contiguous, column-major: columns stay whole
  const Eigen::VectorXd all = gather(Eigen::Map<const Eigen::VectorXd>(block.data(), block.size()));
  return Eigen::Map<const Eigen::MatrixXd>(all.data(), local.rows(), local.rows() ? all.size() / local.rows() : 0);
}

double NeuronPartition::dot_columns(const double* a, const double* b, Eigen::Index rows) const {
  Eigen::MatrixXd partial(1, local_blocks());
  for_each_block(slice.count, [&](int first, int count) {
    partial(0, first / kNeuronBlock) = ordered_dot(a + rows * first, b + rows * first, rows * count);
  });
  return sum_blocks(partial)(0);
}

const Reducer& serial_reducer() {
  static const SerialReducer one;
  return one;
}

}  // namespace absrep
