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
  // 32 partial sums in four vectors of eight (four independent chains hide the FMA latency),
  // then added in a fixed tree: the order depends on n alone.
  using Lane = Eigen::Array<double, 8, 1>;
  Lane s0 = Lane::Zero(), s1 = Lane::Zero(), s2 = Lane::Zero(), s3 = Lane::Zero();
  Eigen::Index i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 += Lane::Map(x + i) * Lane::Map(y + i);
    s1 += Lane::Map(x + i + 8) * Lane::Map(y + i + 8);
    s2 += Lane::Map(x + i + 16) * Lane::Map(y + i + 16);
    s3 += Lane::Map(x + i + 24) * Lane::Map(y + i + 24);
  }
  for (; i + 8 <= n; i += 8) s0 += Lane::Map(x + i) * Lane::Map(y + i);
  for (int k = 0; i < n; ++i, ++k) s1[k] += x[i] * y[i];
  const Lane s = (s0 + s1) + (s2 + s3);
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
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
