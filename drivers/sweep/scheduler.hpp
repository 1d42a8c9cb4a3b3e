// Dynamic master–worker scheduling over MPI (DESIGN.md, "Scheduling").
//
// Rank 0 holds the queue of pending units and hands them out one at a time as ranks report
// back, so a few expensive units do not idle the rest; it also computes units itself on a
// second thread whenever the queue has work. Results are strings (a unit's JSON record) and
// arrive at rank 0 in completion order; nothing about a result depends on which rank made it.
#pragma once
#include <mpi.h>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace absrep::cli {

struct SchedulerHooks {
  std::function<std::string(std::size_t)> compute;               // any rank: unit index → record
  std::function<void(std::size_t, const std::string&)> finished;  // rank 0, main thread
  std::function<bool()> stop;                                     // rank 0: hand out nothing more
  std::function<void()> tick;                                     // rank 0, between events
};

// Collective over comm. On rank 0, `pending` is the work (ignored elsewhere). Returns on every
// rank when all handed-out units are back and either the queue is empty or stop() said so.
void run_master_worker(MPI_Comm comm, const std::vector<std::size_t>& pending, const SchedulerHooks& hooks);

}  // namespace absrep::cli
