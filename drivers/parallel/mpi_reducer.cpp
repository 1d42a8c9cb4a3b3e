#include "parallel/mpi_reducer.hpp"

#include <limits>
#include <stdexcept>
#include <vector>

namespace absrep::cli {

MpiReducer::MpiReducer(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &ranks_);
}

void MpiReducer::sum(double* data, Eigen::Index n) const {
  if (ranks_ == 1 || n == 0) return;
  if (n > std::numeric_limits<int>::max()) throw std::length_error("MpiReducer::sum: buffer too large");
  const int count = static_cast<int>(n);
  if (rank_ == 0)
    MPI_Reduce(MPI_IN_PLACE, data, count, MPI_DOUBLE, MPI_SUM, 0, comm_);
  else
    MPI_Reduce(data, nullptr, count, MPI_DOUBLE, MPI_SUM, 0, comm_);
  MPI_Bcast(data, count, MPI_DOUBLE, 0, comm_);
}

double MpiReducer::max(double x) const {
  if (ranks_ > 1) MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPI_DOUBLE, MPI_MAX, comm_);  // max is exact
  return x;
}

Eigen::VectorXd MpiReducer::gather(const Eigen::Ref<const Eigen::VectorXd>& local) const {
  if (ranks_ == 1) return local;
  const int mine = static_cast<int>(local.size());
  std::vector<int> counts(static_cast<std::size_t>(ranks_)), offsets(static_cast<std::size_t>(ranks_));
  MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_);
  long long total = 0;
  for (int r = 0; r < ranks_; ++r) {
    if (total > std::numeric_limits<int>::max()) throw std::length_error("MpiReducer::gather: too large");
    offsets[static_cast<std::size_t>(r)] = static_cast<int>(total);
    total += counts[static_cast<std::size_t>(r)];
  }
  Eigen::VectorXd all(total);
  const Eigen::VectorXd copy = local;  // contiguous
  MPI_Allgatherv(copy.data(), mine, MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE, comm_);
  return all;
}

}  // namespace absrep::cli
