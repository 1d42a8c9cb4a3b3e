// MPI for the lifetime of the program (deal.II's MPI_InitFinalize, in small). Only the main
// thread calls MPI (MPI_THREAD_FUNNELED); rank 0's compute thread never does. Works without
// mpirun too: Open MPI starts as a singleton.
#pragma once
#include <mpi.h>

namespace absrep::cli {

class MpiEnvironment {
 public:
  MpiEnvironment(int& argc, char**& argv);
  ~MpiEnvironment();
  MpiEnvironment(const MpiEnvironment&) = delete;
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;

  static int rank(MPI_Comm comm = MPI_COMM_WORLD);
  static int size(MPI_Comm comm = MPI_COMM_WORLD);
  static bool initialised();
};

}  // namespace absrep::cli
