// `absrep merge OUT.h5 PART.h5...`: combine the slab archives of a job array (`absrep sweep
// --slab i/k`) into one archive of the whole grid.
//
// How: the merge replays each part's journal (PART.h5.journal, next to it) into unit records and
// rebuilds the archive with io::build_archive, the function every sweep snapshot goes through;
// it does not combine the parts' HDF5 cells. Why:
//  - equality with the unsliced run holds by construction: the same records through the same
//    builder give the same archive. Combining cells would have to reconcile axes each part sizes
//    from the records it happens to hold (the `label` and kernel `sample_i/j` axes follow the
//    largest task among them, so a slab of only m = 2 points has smaller ones than the grid);
//  - the journal is the record of truth: a part killed between snapshots has units journalled
//    that its archive does not show yet, and the merge keeps them (as `--resume` would);
//  - the merge also writes OUT.h5.journal (the parts' records under one header), so
//    `absrep sweep CONFIG --output OUT.h5 --resume` runs whatever no part finished (a failed
//    array task, a slab never submitted) and leaves a finished merge as it is.
// The parts' archives are still read: they hold the config text (its sha256 must agree across
// parts and with each journal), the slab attribute, and the runs with their end times.
// Refused (exit 2, nothing written): parts from different configs, overlapping slabs (the same
// slab twice, or slabs of different k that share points, or an unsliced archive with any other),
// a missing journal, an existing OUT.h5 or OUT.h5.journal, OUT among the parts.
#include <Eigen/Core>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <set>
#include <unistd.h>

#include "commands/commands.hpp"
#include "core/errors.hpp"
#include "io/journal.hpp"
#include "io/sweep_archive.hpp"
#include "sweep/mpi_env.hpp"

#ifndef ABSREP_VERSION
#define ABSREP_VERSION "0.0.0"
#endif

namespace absrep::cli {

namespace {

namespace fs = std::filesystem;

struct MergeArgs {
  std::string output;
  std::vector<std::string> parts;
  std::string command_line;
};

struct Part {
  std::string path;
  io::Archive archive;
  io::Slab slab;
  std::string sha256;
  std::vector<std::string> entries;  // the journal's run and unit records, verbatim, in order
  std::vector<io::UnitRecord> records;
};

std::string text_attribute(const io::Archive& ar, const std::string& name) {
  const auto it = ar.attributes.find(name);
  if (it == ar.attributes.end() || !std::holds_alternative<std::string>(it->second)) return "";
  return std::get<std::string>(it->second);
}

std::int64_t int_attribute(const io::Archive& ar, const std::string& name) {
  const auto it = ar.attributes.find(name);
  if (it == ar.attributes.end() || !std::holds_alternative<std::int64_t>(it->second)) return 0;
  return std::get<std::int64_t>(it->second);
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

int refuse(const std::string& line) {
  std::cerr << "absrep: error: merge: " << line << '\n';
  return 2;
}

int run_merge(const MergeArgs& args) {
  if (MpiEnvironment::size() > 1) {
    if (MpiEnvironment::rank() == 0) refuse("run it as one process, not under mpirun/srun");
    return 2;
  }
  const std::string out_journal = args.output + ".journal";
  if (fs::exists(args.output) || fs::exists(out_journal))
    return refuse(args.output + " (or its .journal) exists; remove it or choose another output");

  std::vector<Part> parts;
  for (const std::string& path : args.parts) {
    if (fs::weakly_canonical(path) == fs::weakly_canonical(args.output))
      return refuse(path + " is both a part and the output");
    Part p;
    p.path = path;
    p.archive = io::read_archive(path);
    p.sha256 = text_attribute(p.archive, "config_sha256");
    if (p.sha256.empty() || p.archive.config.empty()) return refuse(path + " is not a sweep archive (no config_sha256)");
    const std::string slab = text_attribute(p.archive, "slab");
    p.slab = slab.empty() ? io::Slab{} : io::parse_slab(slab, "slab attribute of " + path);
    if (!parts.empty() && p.sha256 != parts.front().sha256)
      return refuse(fmt::format("{} was made from a different config than {} (sha256 {} vs {}); refusing to mix them",
                                path, parts.front().path, p.sha256.substr(0, 12), parts.front().sha256.substr(0, 12)));
    parts.push_back(std::move(p));
  }

  // Every part holds the same config text (same sha256); parse it once.
  const io::LoadedConfig cfg = io::parse_config(parts.front().archive.config, parts.front().path + ":/config");
  if (cfg.sha256 != parts.front().sha256)
    return refuse(parts.front().path + ": its /config does not hash to its config_sha256 attribute");
  const StudyGrid grid(cfg.spec);
  const std::vector<Unit> units = enumerate_units(cfg.spec, grid);

  // Slabs must not share a point (whatever their k).
  std::vector<int> owner(grid.points(), -1);
  for (std::size_t i = 0; i < parts.size(); ++i)
    for (std::size_t pt = 0; pt < grid.points(); ++pt) {
      if (!parts[i].slab.contains(pt)) continue;
      if (owner[pt] >= 0) {
        const Part& other = parts[std::size_t(owner[pt])];
        return refuse(fmt::format("{} (slab {}) and {} (slab {}) overlap (both hold grid point {}); each point "
                                  "must come from one part",
                                  other.path, other.slab.str(), parts[i].path, parts[i].slab.str(), pt));
      }
      owner[pt] = int(i);
    }

  // Replay the journals.
  for (Part& p : parts) {
    const std::string journal = p.path + ".journal";
    if (!fs::exists(journal))
      return refuse(journal + " is missing: merge rebuilds from the parts' journals (copy them along with the archives)");
    bool header = false;
    for (const std::string& raw : io::Journal::replay(journal)) {
      const auto j = nlohmann::json::parse(raw);
      const std::string type = j.at("type");
      if (type == "header") {
        header = true;
        if (j.at("config_sha256") != p.sha256)
          return refuse(journal + " belongs to another config than " + p.path);
        if (j.value("slab", "0/1") != p.slab.str())
          return refuse(fmt::format("{} holds slab {}, its archive says {}", journal, j.value("slab", "0/1"), p.slab.str()));
      } else {
        if (type == "unit") {
          p.records.push_back(io::from_record(j));
          if (!p.slab.contains(p.records.back().unit.point))
            return refuse(fmt::format("{} holds point {}, outside its slab {}", journal, p.records.back().unit.point,
                                      p.slab.str()));
        }
        p.entries.push_back(raw);
      }
    }
    if (!header) return refuse(journal + " has no header record: not a sweep journal");
  }

  // The merged journal first (so a failed archive write can be redone by --resume), then the archive.
  std::vector<io::UnitRecord> records;
  std::vector<io::RunRecord> runs;
  std::int64_t ranks = 1;
  std::string created;
  {
    io::Journal journal = io::Journal::open(out_journal);
    journal.append(nlohmann::json{{"type", "header"}, {"schema", "absrep/1"}, {"config_sha256", cfg.sha256},
                                  {"units", units.size()}}
                       .dump());
    for (const Part& p : parts)
      for (const std::string& raw : p.entries) journal.append(raw);
    journal.sync();
  }
  std::string merged_from;
  for (const Part& p : parts) {
    records.insert(records.end(), p.records.begin(), p.records.end());
    runs.insert(runs.end(), p.archive.runs.begin(), p.archive.runs.end());
    ranks = std::max(ranks, int_attribute(p.archive, "mpi_ranks"));
    const std::string c = text_attribute(p.archive, "created_utc");
    if (!c.empty() && (created.empty() || c < created)) created = c;
    merged_from += (merged_from.empty() ? "" : ", ") + p.path + " (slab " + p.slab.str() + ")";
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const std::string version = ABSREP_VERSION;
  const io::Attributes provenance{
      {"schema", std::string("absrep/1")},
      {"study", cfg.spec.study},
      {"version", version},
      {"git_sha", version.substr(version.find('+') + 1)},
      {"created_utc", created.empty() ? utc_now() : created},
      {"merged_utc", utc_now()},
      {"merged_from", merged_from},
      {"command_line", args.command_line},
      {"mpi_ranks", ranks},
      {"hostname", std::string(host)},
      {"hdf5_version", io::hdf5_library_version()},
      {"eigen_version", fmt::format("{}.{}.{}", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION)},
      {"config_sha256", cfg.sha256},
      {"units_total", std::int64_t(units.size())},
      {"units_done", std::int64_t(records.size())}};
  io::write_archive_atomic(args.output, io::build_archive(cfg, records, runs, provenance));

  std::cout << fmt::format("[merge] {} parts, {} of {} units: {}\n", parts.size(), records.size(), units.size(),
                           args.output);
  if (records.size() < units.size()) {
    std::string missing;
    // Slabs of the most common k that no part holds, as a hint to what was not run.
    const std::size_t k = parts.front().slab.count;
    std::set<std::size_t> have;
    for (const Part& p : parts)
      if (p.slab.count == k) have.insert(p.slab.index);
    for (std::size_t i = 0; i < k; ++i)
      if (!have.count(i)) missing += (missing.empty() ? "" : ", ") + io::Slab{i, k}.str();
    std::cerr << fmt::format("absrep: warning: merge: {} of {} units are pending{}; run them with\n  absrep sweep "
                             "CONFIG.yaml --output {} --resume\n",
                             units.size() - records.size(), units.size(),
                             missing.empty() ? std::string(" (unfinished parts)") : " (no part for slab " + missing + ")",
                             args.output);
  }
  return 0;
}

}  // namespace

void add_merge(CLI::App& app, Action& action) {
  auto args = std::make_shared<MergeArgs>();
  CLI::App* cmd = app.add_subcommand("merge", "combine slab archives (absrep sweep --slab i/k) of one config into one archive");
  cmd->add_option("output", args->output, "archive to write (OUT.h5, with its journal OUT.h5.journal)")->required();
  cmd->add_option("parts", args->parts, "slab archives (each with its PART.h5.journal next to it)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->callback([args, &action] {
    args->command_line = "absrep merge " + args->output;
    for (const auto& p : args->parts) args->command_line += " " + p;
    action = [args] { return run_merge(*args); };
  });
}

}  // namespace absrep::cli
