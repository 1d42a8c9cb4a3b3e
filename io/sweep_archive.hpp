// From finished work units to the sweep archive (DESIGN.md, "Archive schema").
//
// A finished unit travels as one JSON record: from a worker to rank 0 (MPI), into the journal,
// and back out on resume. The archive is always rebuilt from the records, so an interrupted
// and resumed run and an uninterrupted one give the same archive.
#pragma once
#include <nlohmann/json.hpp>
#include <vector>

#include "io/archive.hpp"
#include "io/config.hpp"
#include "study/grid.hpp"

namespace absrep::io {

struct UnitRecord {
  Unit unit;
  Report report;
};

nlohmann::json to_record(const Unit& unit, const Report& report, bool with_kernel);
UnitRecord from_record(const nlohmann::json& record);  // throws IoError on a malformed record

// The status code stored in the archive: 0 pending, 1 ok, 2 not converged, 3 diverged,
// 4 failed (or, for theory, no closed form at this point).
std::uint8_t archive_status(const Report& report);

// The whole archive: provenance attributes, the config, the runs, one group per solver.
Archive build_archive(const LoadedConfig& config, const std::vector<UnitRecord>& records,
                      const std::vector<RunRecord>& runs, const Attributes& provenance);

}  // namespace absrep::io
