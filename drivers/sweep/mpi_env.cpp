#include "sweep/mpi_env.hpp"

namespace absrep::cli {

MpiEnvironment::MpiEnvironment(int& argc, char**& argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
}

MpiEnvironment::~MpiEnvironment() { MPI_Finalize(); }

int MpiEnvironment::rank(MPI_Comm comm) {
  int r = 0;
  if (initialised()) MPI_Comm_rank(comm, &r);
  return r;
}

int MpiEnvironment::size(MPI_Comm comm) {
  int s = 1;
  if (initialised()) MPI_Comm_size(comm, &s);
  return s;
}

bool MpiEnvironment::initialised() {
  int flag = 0, finalized = 0;
  MPI_Initialized(&flag);
  MPI_Finalized(&finalized);
  return flag && !finalized;
}

}  // namespace absrep::cli
