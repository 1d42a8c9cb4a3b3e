// The sweep archive in memory, shaped like a set of xarray Datasets, and its HDF5 writer and
// reader. No science here: the sweep decides what the axes and variables are.
//
// On disk (HDF5 1.10; h5py reads all of it, xarray opens every group with engine="h5netcdf"):
//   /                 the caller's root attributes (@schema="absrep/1", @version, ...)
//   /config           the config text, a scalar variable-length UTF-8 string
//   /provenance/runs  one row per start/resume as parallel 1-D datasets over a dimension `run`
//                     (int64 index 0..n-1, a dimension scale): start_utc, end_utc, host, job_id,
//                     command_line (strings), ranks, units_done (int64). A compound dataset would
//                     be one object, but xarray/h5netcdf cannot open compound types.
//   /<group>/         one per solver, with the group's attributes
//     <axis>          1-D float64 or variable-length UTF-8 coordinate, a dimension scale named
//                     after itself (H5DSset_scale)
//     <variable>      float64 (HDF5 fill value NaN and @_FillValue = NaN) or uint8 (HDF5 fill
//                     value 0 = pending, and deliberately no @_FillValue: xarray would otherwise
//                     mask pending units and turn the status into floats); each dimension has
//                     its axis attached (H5DSattach_scale)
// Groups track link creation order, so axes, variables and groups read back in written order.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "io/attribute_value.hpp"

namespace absrep::io {

// A coordinate: numeric `values` or string `labels` (exactly one is used; an empty axis is
// numeric). Dimensions that are not grid axes (kernel rows "sample_i"/"sample_j", a "label"
// index) are index coordinates 0..n-1.
struct Axis {
  std::string name;
  std::vector<double> values;
  std::vector<std::string> labels;
  Attributes attributes;  // units, description, ...

  static Axis numeric(std::string name, std::vector<double> values);
  static Axis strings(std::string name, std::vector<std::string> labels);
  static Axis index(std::string name, std::size_t n);

  bool is_string() const { return !labels.empty(); }
  std::size_t size() const { return is_string() ? labels.size() : values.size(); }
};

// float64 results (missing = NaN) or a uint8 status (0 = pending).
using VariableData = std::variant<std::vector<double>, std::vector<std::uint8_t>>;

struct Variable {
  std::string name;
  std::vector<std::string> dims;  // names of axes of the same group, outermost first
  VariableData data;              // row-major over dims; a single value when dims is empty
  Attributes attributes;          // units, description, ...; `_FillValue` is written for you
};

struct Group {
  std::string name;
  std::vector<Axis> axes;
  std::vector<Variable> variables;
  Attributes attributes;

  const Axis* axis(std::string_view axis_name) const;  // nullptr when absent
  const Variable* variable(std::string_view variable_name) const;
  Variable* variable(std::string_view variable_name);
  // The sizes of `dims`; throws std::out_of_range naming a dim that is not an axis here.
  std::vector<std::size_t> shape(const std::vector<std::string>& dims) const;
};

// One start or resume of a sweep.
struct RunRecord {
  std::string start_utc, end_utc;  // ISO 8601
  std::int64_t ranks = 1;
  std::string host, job_id, command_line;
  std::int64_t units_done = 0;
};

struct Archive {
  Attributes attributes;  // root attributes, all provided by the caller
  std::string config;     // the resolved config, verbatim
  std::vector<RunRecord> runs;
  std::vector<Group> groups;

  const Group* group(std::string_view group_name) const;
  Group* group(std::string_view group_name);
};

// Writes (truncating) `path`. Checks the whole model first and throws IoError, before touching
// the disk, on: names that are empty or contain '/', duplicates, a group called "config" or
// "provenance", an axis with both values and labels, a dim that is not an axis of its group,
// data that does not fill its dims, attribute names HDF5/netCDF reserve (CLASS, NAME,
// DIMENSION_LIST, REFERENCE_LIST, _FillValue). HDF5 failures are IoError too.
void write_archive(const std::filesystem::path& path, const Archive& archive);

// Crash-safe replacement: writes path + ".tmp", fsyncs it, renames it over `path` and fsyncs
// the directory, so `path` always holds either the previous archive or this one, complete.
void write_archive_atomic(const std::filesystem::path& path, const Archive& archive);

// Reads an archive written by write_archive; read_archive(write_archive(a)) has a's contents.
Archive read_archive(const std::filesystem::path& path);

// "1.10.8": the HDF5 library this binary links, for provenance.
std::string hdf5_library_version();

}  // namespace absrep::io
