#include "sweep/scheduler.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "parallel/mpi_reducer.hpp"

namespace absrep::cli {

namespace {

enum Tag : int { kReady = 1, kResult = 2, kWork = 3, kStop = 4 };

// Rank 0's queue, shared between its MPI loop (main thread) and its compute thread.
class WorkQueue {
 public:
  explicit WorkQueue(const std::vector<std::size_t>& pending) : queue_(pending.begin(), pending.end()) {}
  bool take(std::size_t& unit) {
    std::lock_guard lock(mutex_);
    if (closed_ || queue_.empty()) return false;
    unit = queue_.front();
    queue_.pop_front();
    return true;
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  bool drained() {
    std::lock_guard lock(mutex_);
    return closed_ || queue_.empty();
  }

 private:
  std::mutex mutex_;
  std::deque<std::size_t> queue_;
  bool closed_ = false;
};

// Results rank 0's own thread produced, waiting for the main thread to record them.
class Outbox {
 public:
  void put(std::size_t unit, std::string record) {
    std::lock_guard lock(mutex_);
    items_.emplace_back(unit, std::move(record));
  }
  std::deque<std::pair<std::size_t, std::string>> take_all() {
    std::lock_guard lock(mutex_);
    return std::exchange(items_, {});
  }

 private:
  std::mutex mutex_;
  std::deque<std::pair<std::size_t, std::string>> items_;
};

void send_record(MPI_Comm comm, std::uint64_t unit, const std::string& record) {
  std::string msg(sizeof unit, '\0');
  std::memcpy(msg.data(), &unit, sizeof unit);
  msg += record;
  MPI_Send(msg.data(), static_cast<int>(msg.size()), MPI_CHAR, 0, kResult, comm);
}

// Rank 0: if a worker's message is waiting, take it (a result is recorded) and answer with the
// next unit, or with stop when the queue is done. Returns whether there was a message.
bool answer_worker(MPI_Comm comm, WorkQueue& queue, const SchedulerHooks& hooks, int& workers_running) {
  int flag = 0;
  MPI_Status st;
  MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &flag, &st);
  if (!flag) return false;
  int count = 0;
  MPI_Get_count(&st, MPI_CHAR, &count);
  std::string buffer(static_cast<std::size_t>(count), '\0');
  MPI_Recv(buffer.data(), count, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, comm, MPI_STATUS_IGNORE);
  if (st.MPI_TAG == kResult) {
    std::uint64_t unit = 0;
    std::memcpy(&unit, buffer.data(), sizeof unit);
    hooks.finished(static_cast<std::size_t>(unit), buffer.substr(sizeof unit));
  }
  std::size_t next;
  if (queue.take(next)) {
    const std::uint64_t u = next;
    MPI_Send(&u, 1, MPI_UINT64_T, st.MPI_SOURCE, kWork, comm);
  } else {
    MPI_Send(nullptr, 0, MPI_UINT64_T, st.MPI_SOURCE, kStop, comm);
    --workers_running;
  }
  return true;
}

// A worker of rank 0 (a single rank, or a group's leader): computes the units it is handed
// until told to stop.
template <class Compute>
void worker(MPI_Comm comm, const Compute& compute) {
  MPI_Send(nullptr, 0, MPI_CHAR, 0, kReady, comm);
  while (true) {
    std::uint64_t unit = 0;
    MPI_Status st;
    MPI_Recv(&unit, 1, MPI_UINT64_T, 0, MPI_ANY_TAG, comm, &st);
    if (st.MPI_TAG == kStop) return;
    send_record(comm, unit, compute(unit));
  }
}

void master(MPI_Comm comm, const std::vector<std::size_t>& pending, const SchedulerHooks& hooks) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  WorkQueue queue(pending);
  Outbox outbox;
  std::atomic<bool> local_done{false};
  std::thread local([&] {
    std::size_t unit;
    while (queue.take(unit)) outbox.put(unit, hooks.compute(unit, serial_reducer()));
    local_done = true;
  });

  int workers_running = size - 1;
  while (true) {
    bool busy = false;
    if (hooks.stop && hooks.stop()) queue.close();
    for (auto& [unit, record] : outbox.take_all()) {
      hooks.finished(unit, record);
      busy = true;
    }
    if (workers_running > 0 && answer_worker(comm, queue, hooks, workers_running)) busy = true;
    if (hooks.tick) hooks.tick();
    if (workers_running == 0 && local_done) {
      for (auto& [unit, record] : outbox.take_all()) hooks.finished(unit, record);
      break;
    }
    if (!busy) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  local.join();
}

// Grouped units. A group's leader tells its members which unit to compute next, or kNoUnit: done.
constexpr std::uint64_t kNoUnit = ~std::uint64_t{0};

std::string compute_in_group(MPI_Comm group, std::uint64_t unit, const SchedulerHooks& hooks) {
  MPI_Bcast(&unit, 1, MPI_UINT64_T, 0, group);
  const MpiReducer reducer(group);
  return hooks.compute(static_cast<std::size_t>(unit), reducer);
}

void group_member(MPI_Comm group, const SchedulerHooks& hooks) {
  const MpiReducer reducer(group);
  while (true) {
    std::uint64_t unit = kNoUnit;
    MPI_Bcast(&unit, 1, MPI_UINT64_T, 0, group);
    if (unit == kNoUnit) return;
    hooks.compute(static_cast<std::size_t>(unit), reducer);
  }
}

void release_group(MPI_Comm group) {
  std::uint64_t done = kNoUnit;
  MPI_Bcast(&done, 1, MPI_UINT64_T, 0, group);
}

void group_leader(MPI_Comm leaders, MPI_Comm group, const SchedulerHooks& hooks) {
  worker(leaders, [&](std::uint64_t unit) { return compute_in_group(group, unit, hooks); });
  release_group(group);
}

// Rank 0: between its own group's units it answers the other leaders, so they wait at most one
// of its units for their next one.
void group_master(MPI_Comm leaders, MPI_Comm group, const std::vector<std::size_t>& pending,
                  const SchedulerHooks& hooks) {
  int size = 1;
  MPI_Comm_size(leaders, &size);
  WorkQueue queue(pending);
  int workers_running = size - 1;
  while (true) {
    if (hooks.stop && hooks.stop()) queue.close();
    bool busy = false;
    while (workers_running > 0 && answer_worker(leaders, queue, hooks, workers_running)) busy = true;
    if (hooks.tick) hooks.tick();
    std::size_t mine;
    if (queue.take(mine)) {
      hooks.finished(mine, compute_in_group(group, mine, hooks));
      continue;
    }
    if (workers_running == 0) break;
    if (!busy) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  release_group(group);
}

}  // namespace

void run_grouped(MPI_Comm comm, int group_size, const std::vector<std::size_t>& pending, const SchedulerHooks& hooks) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  group_size = std::clamp(group_size, 1, size);
  MPI_Comm group, leaders;
  MPI_Comm_split(comm, rank / group_size, rank, &group);
  int group_rank = 0;
  MPI_Comm_rank(group, &group_rank);
  MPI_Comm_split(comm, group_rank == 0 ? 0 : MPI_UNDEFINED, rank, &leaders);
  if (rank == 0)
    group_master(leaders, group, pending, hooks);
  else if (group_rank == 0)
    group_leader(leaders, group, hooks);
  else
    group_member(group, hooks);
  if (leaders != MPI_COMM_NULL) MPI_Comm_free(&leaders);
  MPI_Comm_free(&group);
}

void run_master_worker(MPI_Comm comm, const std::vector<std::size_t>& pending, const SchedulerHooks& hooks) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0)
    master(comm, pending, hooks);
  else
    worker(comm, [&](std::uint64_t unit) { return hooks.compute(static_cast<std::size_t>(unit), serial_reducer()); });
}

}  // namespace absrep::cli
