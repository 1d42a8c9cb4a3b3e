// The Reducer of the neuron partition over an MPI communicator (src/parallel/reducer.hpp).
// Sums reduce to the communicator's rank 0 and broadcast back, rather than MPI_Allreduce: the
// standard does not promise that an allreduce hands every rank the same bits, and the ranks of
// one network must take identical decisions (line-search steps, stopping) from these sums.
#pragma once
#include <mpi.h>

#include "parallel/reducer.hpp"

namespace absrep::cli {

class MpiReducer final : public Reducer {
 public:
  explicit MpiReducer(MPI_Comm comm);
  int rank() const override { return rank_; }
  int ranks() const override { return ranks_; }
  void sum(double* data, Eigen::Index n) const override;
  using Reducer::sum;
  double max(double x) const override;
  Eigen::VectorXd gather(const Eigen::Ref<const Eigen::VectorXd>& local) const override;

 private:
  MPI_Comm comm_;
  int rank_ = 0, ranks_ = 1;
};

}  // namespace absrep::cli
