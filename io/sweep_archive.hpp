// From finished work units to the sweep archive (DESIGN.md, "Archive schema").
//
// A finished unit travels as one JSON record: from a worker to rank 0 (MPI), into the journal,
// and back out on resume. The archive is always rebuilt from the records, so an interrupted
// and resumed run and an uninterrupted one give the same archive.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
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

// A share of a grid for job arrays (`absrep sweep --slab i/k`): slab i of k holds the points p
// with p % k == i, each with all its solvers and replicates. Points are numbered row-major over
// the axes in file order, so striding (rather than contiguous blocks, which would split along
// the first axis) gives every slab a sample of the outer axes: slabs cost about the same when an
// outer axis (width, depth, m) sets the cost. Striding aliases with the last axis when k shares
// a factor with its length (k = 3 over 3 activations: one activation per slab), so pick k
// coprime to it where that axis sets the cost. The k slabs are disjoint and cover the grid;
// 0/1 is the whole grid.
struct Slab {
  std::size_t index = 0, count = 1;
  bool whole() const { return count == 1; }
  bool contains(std::size_t point) const { return point % count == index; }
  std::string str() const { return std::to_string(index) + "/" + std::to_string(count); }
  bool operator==(const Slab&) const = default;
};
// "i/k" with 0 <= i < k; throws InputError(field, ...) otherwise.
Slab parse_slab(std::string_view text, const std::string& field = "slab");

// The status code stored in the archive: 0 pending, 1 ok, 2 not converged, 3 diverged,
// 4 failed (or, for theory, no closed form at this point).
std::uint8_t archive_status(const Report& report);

// The whole archive: provenance attributes, the config, the runs, one group per solver.
Archive build_archive(const LoadedConfig& config, const std::vector<UnitRecord>& records,
                      const std::vector<RunRecord>& runs, const Attributes& provenance);

}  // namespace absrep::io
