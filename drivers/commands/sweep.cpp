// `absrep sweep CONFIG.yaml --output FILE.h5 [--resume]`: a study over a grid, run by every
// rank it is started on, into a resumable HDF5 archive (DESIGN.md: Scheduling, Archive schema).
//
// Rank 0 journals each finished unit (one CRC-checked JSON record) and now and then writes the
// whole archive to a temporary file and renames it over FILE.h5. A kill at any moment loses
// nothing journalled; --resume replays the journal, refuses a different config, and queues only
// the units that are not in it. The archive is always rebuilt from the records, so a resumed
// run's archive equals an uninterrupted one's (timings and provenance aside).
#include <unistd.h>

#include <Eigen/Core>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <set>

#include "commands/commands.hpp"
#include "core/errors.hpp"
#include "io/journal.hpp"
#include "io/sweep_archive.hpp"
#include "sweep/mpi_env.hpp"
#include "sweep/scheduler.hpp"
#include "sweep/signals.hpp"

#ifndef ABSREP_VERSION
#define ABSREP_VERSION "0.0.0"
#endif

namespace absrep::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string job_id() {
  for (const char* var : {"SLURM_JOB_ID", "PBS_JOBID"})
    if (const char* v = std::getenv(var)) return v;
  return "";
}

struct SweepArgs {
  std::string config, output;
  bool resume = false, dry_run = false;
  double progress_seconds = 10, snapshot_seconds = 60, sync_seconds = 1;
  double max_hours = 0;
  std::string slab_text;
  io::Slab slab;  // --slab i/k: only the points of this slab run; the others stay pending
  std::string command_line;
};

void print_dry_run(const io::LoadedConfig& cfg) {
  const StudySpec& spec = cfg.spec;
  const StudyGrid grid(spec);
  std::cout << "study " << spec.study << "  (config sha256 " << cfg.sha256.substr(0, 12) << ")\n";
  for (const auto& d : grid.dimensions()) {
    std::cout << fmt::format("  axis {:<14} {:>4} values:", d.name, d.size);
    for (std::size_t a : d.axes) {
      const StudyAxis& ax = spec.axes[a];
      std::cout << (a == d.axes[0] ? " " : " | ") << ax.name << " =";
      const std::size_t n = ax.size(), shown = std::min<std::size_t>(n, 6);
      for (std::size_t i = 0; i < shown; ++i)
        std::cout << ' ' << (ax.is_string() ? ax.labels[i] : fmt::format("{:g}", ax.numbers[i]));
      if (n > shown) std::cout << " … " << (ax.is_string() ? ax.labels[n - 1] : fmt::format("{:g}", ax.numbers[n - 1]));
    }
    std::cout << '\n';
  }
  const auto units = enumerate_units(spec, grid);
  std::cout << "points " << grid.points() << ", units " << units.size() << " (";
  std::string solvers;
  if (spec.solvers.theory) solvers += "theory";
  if (spec.solvers.meanfield) solvers += std::string(solvers.empty() ? "" : ", ") + "meanfield";
  if (spec.solvers.train)
    solvers += std::string(solvers.empty() ? "" : ", ") + "train × " + std::to_string(spec.solvers.replicates);
  std::cout << solvers << " per point)\n";
}

// Rank 0's bookkeeping: journal, records, runs, snapshots, progress.
class Ledger {
 public:
  Ledger(const SweepArgs& args, const io::LoadedConfig& cfg, std::size_t total, std::size_t grid_units, int ranks)
      : args_(args), cfg_(cfg), total_(total), grid_units_(grid_units), ranks_(ranks),
        journal_path_(args.output + ".journal") {}

  // Returns false (with a message) when the run must not start.
  bool open() {
    const bool have_journal = fs::exists(journal_path_);
    if (!args_.resume && (have_journal || fs::exists(args_.output))) {
      std::cerr << "absrep: error: --output: " << args_.output
                << " (or its .journal) exists; pass --resume to continue it, or choose another --output\n";
      return false;
    }
    if (args_.resume && have_journal) {
      for (const std::string& raw : io::Journal::replay(journal_path_)) {
        const auto j = nlohmann::json::parse(raw);
        const std::string type = j.at("type");
        if (type == "header") {
          if (j.at("config_sha256") != cfg_.sha256) {
            std::cerr << "absrep: error: --resume: " << args_.output << " was made from a different config (sha256 "
                      << j.at("config_sha256").get<std::string>().substr(0, 12) << ", this one "
                      << cfg_.sha256.substr(0, 12) << "); refusing to mix them\n";
            return false;
          }
          if (j.value("slab", "0/1") != args_.slab.str()) {
            std::cerr << "absrep: error: --slab: " << args_.output << " holds slab " << j.value("slab", "0/1")
                      << " of the grid, this run asks for " << args_.slab.str() << "; refusing to mix them\n";
            return false;
          }
        } else if (type == "run") {
          runs_.push_back({j.at("start_utc"), "", j.at("ranks"), j.at("host"), j.at("job_id"), j.at("command_line"), 0});
        } else {
          records_.push_back(io::from_record(j));
          if (!runs_.empty()) ++runs_.back().units_done;
        }
      }
    }
    journal_ = std::make_unique<io::Journal>(io::Journal::open(journal_path_));
    if (!have_journal || (records_.empty() && runs_.empty())) {
      nlohmann::json header{{"type", "header"}, {"schema", "absrep/1"}, {"config_sha256", cfg_.sha256}, {"units", total_}};
      if (!args_.slab.whole()) header["slab"] = args_.slab.str();
      journal_->append(header.dump());
    }
    return true;
  }

  std::set<std::pair<int, std::pair<std::size_t, int>>> done_keys() const {
    std::set<std::pair<int, std::pair<std::size_t, int>>> keys;
    for (const auto& r : records_) keys.insert({int(r.unit.solver), {r.unit.point, r.unit.replicate}});
    return keys;
  }
  std::size_t done() const { return records_.size(); }

  void start_run() {
    const io::RunRecord run{utc_now(), "", ranks_, host_name(), job_id(), args_.command_line, 0};
    runs_.push_back(run);
    journal_->append(nlohmann::json{{"type", "run"}, {"start_utc", run.start_utc}, {"ranks", run.ranks}, {"host", run.host},
                                    {"job_id", run.job_id}, {"command_line", run.command_line}}
                         .dump());
    journal_->sync();
    started_ = Clock::now();
    last_sync_ = last_snapshot_ = last_progress_ = started_;
    done_at_start_ = records_.size();
  }

  void finished(const std::string& record) {
    journal_->append(record);
    records_.push_back(io::from_record(nlohmann::json::parse(record)));
    ++runs_.back().units_done;
    if (records_.back().report.status != Status::converged) ++not_ok_;
  }

  void tick() {
    const auto now = Clock::now();
    if (seconds(last_sync_, now) >= args_.sync_seconds) {
      journal_->sync();
      last_sync_ = now;
    }
    if (seconds(last_snapshot_, now) >= args_.snapshot_seconds) {
      snapshot(false);
      last_snapshot_ = now;
    }
    if (seconds(last_progress_, now) >= args_.progress_seconds) {
      progress();
      last_progress_ = now;
    }
  }

  void snapshot(bool final) {
    journal_->sync();
    if (final) runs_.back().end_utc = utc_now();
    io::write_archive_atomic(args_.output, io::build_archive(cfg_, records_, runs_, provenance()));
  }

  void progress() const {
    const double elapsed = seconds(started_, Clock::now());
    const std::size_t new_units = records_.size() - done_at_start_;
    const double rate = elapsed > 0 ? new_units / elapsed : 0.0;
    const std::size_t left = total_ - records_.size();
    std::cout << fmt::format("[sweep] {}/{} units, {:.2f} units/s, ETA {}, not ok {}\n", records_.size(), total_, rate,
                             rate > 0 ? fmt::format("{:.0f} s", left / rate) : std::string("?"), not_ok_)
              << std::flush;
  }

  double elapsed_hours() const { return seconds(started_, Clock::now()) / 3600.0; }
  const std::vector<io::UnitRecord>& records() const { return records_; }

 private:
  static double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

  io::Attributes provenance() const {
    io::Attributes a{{"schema", std::string("absrep/1")},
            {"study", cfg_.spec.study},
            {"version", std::string(ABSREP_VERSION)},
            {"git_sha", std::string(ABSREP_VERSION).substr(std::string(ABSREP_VERSION).find('+') + 1)},
            {"created_utc", runs_.front().start_utc},
            {"command_line", args_.command_line},
            {"mpi_ranks", std::int64_t(ranks_)},
            {"hostname", host_name()},
            {"hdf5_version", io::hdf5_library_version()},
            {"eigen_version", fmt::format("{}.{}.{}", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION)},
            {"config_sha256", cfg_.sha256},
            {"units_total", std::int64_t(total_)},
            {"units_done", std::int64_t(records_.size())}};
    if (!args_.slab.whole()) {  // `absrep merge` reads these
      a["slab"] = args_.slab.str();
      a["grid_units"] = std::int64_t(grid_units_);
    }
    return a;
  }

  const SweepArgs& args_;
  const io::LoadedConfig& cfg_;
  std::size_t total_, grid_units_;
  int ranks_;
  std::string journal_path_;
  std::unique_ptr<io::Journal> journal_;
  std::vector<io::UnitRecord> records_;
  std::vector<io::RunRecord> runs_;
  std::size_t done_at_start_ = 0, not_ok_ = 0;
  Clock::time_point started_, last_sync_, last_snapshot_, last_progress_;
};

int run_sweep(const SweepArgs& args) {
  const int rank = MpiEnvironment::rank(), ranks = MpiEnvironment::size();
  install_stop_handlers();
  // Every rank reads the config: it is small, and then no rank needs it sent.
  const io::LoadedConfig cfg = io::load_config(args.config);
  const StudyGrid grid(cfg.spec);
  std::vector<Unit> units = enumerate_units(cfg.spec, grid);
  const std::size_t grid_units = units.size();
  if (!args.slab.whole()) std::erase_if(units, [&](const Unit& u) { return !args.slab.contains(u.point); });
  if (args.dry_run) {
    if (rank == 0) {
      print_dry_run(cfg);
      if (!args.slab.whole()) std::cout << "slab " << args.slab.str() << ": units " << units.size() << '\n';
    }
    return 0;
  }

  std::unique_ptr<Ledger> ledger;
  std::vector<std::size_t> pending;
  int go = 1;
  if (rank == 0) {
    ledger = std::make_unique<Ledger>(args, cfg, units.size(), grid_units, ranks);
    go = ledger->open() ? 1 : 0;
    if (go) {
      const auto done = ledger->done_keys();
      for (std::size_t u = 0; u < units.size(); ++u)
        if (!done.count({int(units[u].solver), {units[u].point, units[u].replicate}})) pending.push_back(u);
      if (pending.empty()) {
        std::cout << "[sweep] all " << units.size() << " units are done; nothing to do\n";
        if (!fs::exists(args.output)) {
          ledger->start_run();
          ledger->snapshot(true);
        }
        go = 2;
      }
    }
  }
  MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (go == 0) return 2;
  if (go == 2) return 0;

  bool budget_stop = false;
  if (rank == 0) {
    ledger->start_run();
    std::cout << "[sweep] " << pending.size() << " of " << units.size() << " units to run on " << ranks << " rank"
              << (ranks > 1 ? "s" : "") << (ledger->done() ? " (resumed)" : "") << '\n';
  }
  SchedulerHooks hooks;
  hooks.compute = [&](std::size_t u, const Reducer& group) {
    return io::to_record(units[u], run_unit(cfg.spec, grid, units[u], group), cfg.spec.store_kernels).dump();
  };
  hooks.finished = [&](std::size_t, const std::string& record) { ledger->finished(record); };
  hooks.stop = [&] {
    if (args.max_hours > 0 && ledger->elapsed_hours() >= args.max_hours) budget_stop = true;
    return stop_requested() || budget_stop;
  };
  hooks.tick = [&] { ledger->tick(); };
  // Training units of solvers.train.ranks_per_unit > 1 run on groups of ranks, after the others.
  const int group = std::min(cfg.spec.solvers.ranks_per_unit, ranks);
  std::vector<std::size_t> single, grouped;
  for (std::size_t u : pending) (group > 1 && units[u].solver == SolverKind::train ? grouped : single).push_back(u);
  run_master_worker(MPI_COMM_WORLD, single, hooks);
  int more = rank == 0 && !grouped.empty() && !hooks.stop();
  MPI_Bcast(&more, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (more) run_grouped(MPI_COMM_WORLD, group, grouped, hooks);

  int stopped = 0;
  if (rank == 0) {
    ledger->snapshot(true);
    ledger->progress();
    const bool complete = ledger->done() == units.size();
    if (!complete) {
      std::cout << "[sweep] stopped by " << (budget_stop ? "the --max-hours budget" : "a signal") << " with "
                << units.size() - ledger->done() << " units left; the archive is consistent. Resume with:\n  absrep sweep "
                << args.config << " --output " << args.output
                << (args.slab.whole() ? "" : " --slab " + args.slab.str()) << " --resume\n";
      stopped = 1;
    } else {
      std::cout << "[sweep] done: " << args.output
                << (args.slab.whole() ? "" : " (slab " + args.slab.str() + "; combine the slabs with absrep merge)") << '\n';
    }
  }
  MPI_Bcast(&stopped, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return stopped ? 143 : 0;
}

}  // namespace

void add_sweep(CLI::App& app, Action& action) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand("sweep", "run a study over a parameter grid into a resumable HDF5 archive (MPI)");
  cmd->add_option("config", args->config, "study configuration (YAML)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--output,-o", args->output, "archive to write (FILE.h5; its journal is FILE.h5.journal)");
  cmd->add_flag("--resume", args->resume, "continue the archive's run: only units not yet journalled run");
  cmd->add_flag("--dry-run", args->dry_run, "print the axes, the number of points and units, and exit");
  cmd->add_option("--max-hours", args->max_hours, "stop handing out work after this many hours (PBS time limits)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--slab", args->slab_text,
                  "run slab i of k (0 <= i < k): the grid points p with p % k == i, for job arrays; "
                  "combine the slab archives with `absrep merge`");
  cmd->add_option("--progress-seconds", args->progress_seconds, "interval of progress lines")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--snapshot-seconds", args->snapshot_seconds, "interval of archive snapshots")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->callback([args, &action] {
    if (!args->dry_run && args->output.empty()) throw CLI::RequiredError("--output");
    if (!args->slab_text.empty()) args->slab = io::parse_slab(args->slab_text);
    args->command_line = "absrep sweep " + args->config + (args->output.empty() ? "" : " --output " + args->output) +
                         (args->slab_text.empty() ? "" : " --slab " + args->slab_text) + (args->resume ? " --resume" : "");
    action = [args] { return run_sweep(*args); };
  });
}

}  // namespace absrep::cli
