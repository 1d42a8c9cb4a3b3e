// Dynamic master–worker scheduling over MPI (DESIGN.md, "Scheduling").
//
// Rank 0 holds the queue of pending units and hands them out one at a time as ranks report
// back, so a few expensive units do not idle the rest; it also computes units itself on a
// second thread whenever the queue has work. Results are strings (a unit's JSON record) and
// arrive at rank 0 in completion order; nothing about a result depends on which rank made it.
//
// Units that ask for a group of ranks (a wide network split over its neurons) run in a second
// pass: the ranks are carved into groups of that size (sub-communicators), each group's rank 0
// is a worker of the same master–worker scheme over the group leaders, and broadcasts each unit
// it gets to its group, which computes it together through an MpiReducer. A unit's result is the
// same bits on any group size (parallel/reducer.hpp), so the archive still does not depend on R.
#pragma once
#include <mpi.h>

#include "parallel/reducer.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace absrep::cli {

struct SchedulerHooks {
  // Any rank: unit index → record, the unit's network split over `ranks` (serial for single-rank
  // units; for a group, every member calls it and the leader's record is kept).
  std::function<std::string(std::size_t, const Reducer& ranks)> compute;
  std::function<void(std::size_t, const std::string&)> finished;  // rank 0, main thread
  std::function<bool()> stop;                                     // rank 0: hand out nothing more
  std::function<void()> tick;                                     // rank 0, between events
};

// Collective over comm. On rank 0, `pending` is the work (ignored elsewhere). Returns on every
// rank when all handed-out units are back and either the queue is empty or stop() said so.
void run_master_worker(MPI_Comm comm, const std::vector<std::size_t>& pending, const SchedulerHooks& hooks);

// The same for units that each run on a group of `group_size` ranks (the last group may be
// smaller). Rank 0 leads group 0, hands out work between its own group's units and computes on
// its main thread (MPI calls stay on one thread). Collective over comm.
void run_grouped(MPI_Comm comm, int group_size, const std::vector<std::size_t>& pending, const SchedulerHooks& hooks);

}  // namespace absrep::cli
