#include "io/archive.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <stdexcept>

#include <hdf5.h>

#include "core/errors.hpp"
#include "io/durable.hpp"
#include "io/hdf5/hdf5.hpp"

namespace absrep::io {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::uint8_t kPending = 0;
constexpr const char* kFillValue = "_FillValue";
constexpr const char* kRunDim = "run";

// Attribute names that H5DS maintains or that the writer sets itself: a caller's value would be
// dropped or clash on the way back.
constexpr std::array kReservedAttributes{"CLASS", "NAME", "DIMENSION_LIST", "REFERENCE_LIST", "_FillValue"};

template <class Range>
auto find_named(Range& range, std::string_view name) -> decltype(&*range.begin()) {
  const auto it = std::find_if(range.begin(), range.end(), [&](const auto& item) { return item.name == name; });
  return it == range.end() ? nullptr : &*it;
}

std::vector<std::uint64_t> extent(const std::vector<std::size_t>& shape) { return {shape.begin(), shape.end()}; }

std::size_t product(const std::vector<std::size_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
}

std::size_t size_of(const VariableData& data) {
  return std::visit([](const auto& values) { return values.size(); }, data);
}

// ---- validation: every mistake in the model is reported before the file is touched ----------

class Validator {
 public:
  explicit Validator(const std::filesystem::path& path) : path_(path.string()) {}

  void archive(const Archive& a) {
    attributes(a.attributes, "/");
    std::set<std::string> names{"config", "provenance"};
    for (const Group& g : a.groups) {
      unique(names, g.name, "/");
      group(g);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw IoError("cannot write archive " + path_ + ": " + what);
  }

  void name(const std::string& n, const std::string& where) const {
    if (n.empty() || n.find('/') != std::string::npos || n == ".")
      fail("invalid name '" + n + "' in " + where + " (empty, '.' or containing '/')");
  }

  void unique(std::set<std::string>& seen, const std::string& n, const std::string& where) const {
    name(n, where);
    if (!seen.insert(n).second) fail("name '" + n + "' used twice (or reserved) in " + where);
  }

  void attributes(const Attributes& attrs, const std::string& where) const {
    for (const auto& [key, value] : attrs) {
      name(key, where);
      if (std::find(kReservedAttributes.begin(), kReservedAttributes.end(), key) != kReservedAttributes.end())
        fail("attribute name '" + key + "' on " + where + " is reserved");
    }
  }

  void group(const Group& g) const {
    const std::string where = "/" + g.name;
    attributes(g.attributes, where);
    std::set<std::string> names;
    for (const Axis& axis : g.axes) {
      unique(names, axis.name, where);
      if (!axis.values.empty() && !axis.labels.empty()) fail("axis " + where + "/" + axis.name + " has values and labels");
      attributes(axis.attributes, where + "/" + axis.name);
    }
    for (const Variable& v : g.variables) {
      unique(names, v.name, where);
      variable(g, v, where + "/" + v.name);
    }
  }

  void variable(const Group& g, const Variable& v, const std::string& where) const {
    attributes(v.attributes, where);
    std::vector<std::size_t> shape;
    try {
      shape = g.shape(v.dims);
    } catch (const std::out_of_range& e) {
      fail(where + ": " + e.what());
    }
    if (product(shape) != size_of(v.data))
      fail(where + " has " + std::to_string(size_of(v.data)) + " values, its dims need " +
           std::to_string(product(shape)));
  }

  std::string path_;
};

// ---- writing ---------------------------------------------------------------------------------

void write_attributes(h5::Object& object, const Attributes& attributes) {
  for (const auto& [name, value] : attributes) object.write_attribute(name, value);
}

h5::Dataset write_axis(h5::Group& group, const Axis& axis) {
  const std::vector<std::uint64_t> dims{axis.size()};
  h5::Dataset scale = axis.is_string()
                          ? group.write_dataset<std::string>(axis.name, dims, axis.labels)
                          : group.write_dataset<double>(axis.name, dims, axis.values);
  scale.make_scale(axis.name);
  write_attributes(scale, axis.attributes);
  return scale;
}

void write_variable(h5::Group& group, const Group& model, const Variable& v,
                    const std::map<std::string, h5::Dataset>& scales) {
  const std::vector<std::uint64_t> dims = extent(model.shape(v.dims));
  h5::Dataset dataset = std::visit(
      [&]<class T>(const std::vector<T>& data) {
        if constexpr (std::is_same_v<T, double>) {
          h5::Dataset d = group.write_dataset<double>(v.name, dims, data, kNaN);
          d.write_attribute(kFillValue, kNaN);
          return d;
        } else {
          return group.write_dataset<std::uint8_t>(v.name, dims, data, kPending);
        }
      },
      v.data);
  for (unsigned i = 0; i < v.dims.size(); ++i) dataset.attach_scale(scales.at(v.dims[i]), i);
  write_attributes(dataset, v.attributes);
}

void write_group(h5::Group& root, const Group& model) {
  h5::Group group = root.create_group(model.name);
  write_attributes(group, model.attributes);
  std::map<std::string, h5::Dataset> scales;
  for (const Axis& axis : model.axes) scales.emplace(axis.name, write_axis(group, axis));
  for (const Variable& v : model.variables) write_variable(group, model, v, scales);
}

template <class T>
std::vector<T> column(const std::vector<RunRecord>& runs, T RunRecord::*field) {
  std::vector<T> values;
  values.reserve(runs.size());
  for (const RunRecord& run : runs) values.push_back(run.*field);
  return values;
}

template <class T>
void write_column(h5::Group& table, const char* name, const std::vector<RunRecord>& runs, T RunRecord::*field,
                  const h5::Dataset& index) {
  const std::vector<T> values = column(runs, field);
  h5::Dataset dataset = table.write_dataset<T>(name, {runs.size()}, values);
  dataset.attach_scale(index, 0);
}

void write_runs(h5::Group& root, const std::vector<RunRecord>& runs) {
  h5::Group provenance = root.create_group("provenance");
  h5::Group table = provenance.create_group("runs");
  std::vector<std::int64_t> rows(runs.size());
  std::iota(rows.begin(), rows.end(), std::int64_t{0});
  h5::Dataset index = table.write_dataset<std::int64_t>(kRunDim, {runs.size()}, rows);
  index.make_scale(kRunDim);
  write_column(table, "start_utc", runs, &RunRecord::start_utc, index);
  write_column(table, "end_utc", runs, &RunRecord::end_utc, index);
  write_column(table, "ranks", runs, &RunRecord::ranks, index);
  write_column(table, "host", runs, &RunRecord::host, index);
  write_column(table, "job_id", runs, &RunRecord::job_id, index);
  write_column(table, "command_line", runs, &RunRecord::command_line, index);
  write_column(table, "units_done", runs, &RunRecord::units_done, index);
}

void write_contents(h5::File& file, const Archive& archive) {
  write_attributes(file, archive.attributes);
  const std::string config[] = {archive.config};
  file.write_dataset<std::string>("config", {}, config);
  write_runs(file, archive.runs);
  for (const Group& group : archive.groups) write_group(file, group);
}

// ---- reading ---------------------------------------------------------------------------------

[[noreturn]] void unreadable(const h5::Object& object, const std::string& why) {
  throw IoError("cannot read archive " + object.file() + ": " + object.path() + " " + why);
}

Axis read_axis(const h5::Dataset& dataset, std::string name) {
  Axis axis{.name = std::move(name), .values = {}, .labels = {}, .attributes = dataset.read_attributes()};
  if (dataset.element() == h5::Element::String)
    axis.labels = dataset.read<std::string>();
  else
    axis.values = dataset.read<double>();
  return axis;
}

// The dimension names h5netcdf would report: the last scale attached to each dimension.
std::vector<std::string> read_dims(const h5::Dataset& dataset) {
  std::vector<std::string> dims;
  for (unsigned i = 0; i < dataset.dims().size(); ++i) {
    const std::vector<std::string> scales = dataset.scale_names(i);
    if (scales.empty()) unreadable(dataset, "has no coordinate on dimension " + std::to_string(i));
    dims.push_back(scales.back());
  }
  return dims;
}

Variable read_variable(const h5::Dataset& dataset, std::string name) {
  Variable v{.name = std::move(name), .dims = read_dims(dataset), .data = {}, .attributes = dataset.read_attributes()};
  v.attributes.erase(kFillValue);
  switch (dataset.element()) {
    case h5::Element::Float:
      v.data = dataset.read<double>();
      break;
    case h5::Element::UInt8:
      v.data = dataset.read<std::uint8_t>();
      break;
    default:
      unreadable(dataset, "is neither float64 nor uint8");
  }
  return v;
}

Group read_group(const h5::Group& group, std::string name) {
  Group model{.name = std::move(name), .axes = {}, .variables = {}, .attributes = group.read_attributes()};
  for (const h5::Link& link : group.links()) {
    if (link.is_group) unreadable(group, "holds a nested group " + link.name);
    const h5::Dataset dataset = group.open_dataset(link.name);
    if (dataset.is_scale())
      model.axes.push_back(read_axis(dataset, link.name));
    else
      model.variables.push_back(read_variable(dataset, link.name));
  }
  return model;
}

template <class T>
void read_column(const h5::Group& table, const char* name, std::vector<RunRecord>& runs, T RunRecord::*field) {
  const h5::Dataset dataset = table.open_dataset(name);
  const std::vector<T> values = dataset.read<T>();
  if (values.size() != runs.size()) unreadable(dataset, "does not have one entry per run");
  for (std::size_t i = 0; i < runs.size(); ++i) runs[i].*field = values[i];
}

std::vector<RunRecord> read_runs(const h5::File& file) {
  const h5::Group table = file.open_group("provenance").open_group("runs");
  std::vector<RunRecord> runs(table.open_dataset(kRunDim).read<std::int64_t>().size());
  read_column(table, "start_utc", runs, &RunRecord::start_utc);
  read_column(table, "end_utc", runs, &RunRecord::end_utc);
  read_column(table, "ranks", runs, &RunRecord::ranks);
  read_column(table, "host", runs, &RunRecord::host);
  read_column(table, "job_id", runs, &RunRecord::job_id);
  read_column(table, "command_line", runs, &RunRecord::command_line);
  read_column(table, "units_done", runs, &RunRecord::units_done);
  return runs;
}

}  // namespace

// ---- model helpers ---------------------------------------------------------------------------

Axis Axis::numeric(std::string name, std::vector<double> values) {
  return {.name = std::move(name), .values = std::move(values), .labels = {}, .attributes = {}};
}

Axis Axis::strings(std::string name, std::vector<std::string> labels) {
  return {.name = std::move(name), .values = {}, .labels = std::move(labels), .attributes = {}};
}

Axis Axis::index(std::string name, std::size_t n) {
  std::vector<double> values(n);
  std::iota(values.begin(), values.end(), 0.0);
  return numeric(std::move(name), std::move(values));
}

const Axis* Group::axis(std::string_view axis_name) const { return find_named(axes, axis_name); }
const Variable* Group::variable(std::string_view variable_name) const { return find_named(variables, variable_name); }
Variable* Group::variable(std::string_view variable_name) { return find_named(variables, variable_name); }

std::vector<std::size_t> Group::shape(const std::vector<std::string>& dims) const {
  std::vector<std::size_t> sizes;
  for (const std::string& dim : dims) {
    const Axis* a = axis(dim);
    if (a == nullptr) throw std::out_of_range("dim '" + dim + "' is not an axis of group '" + name + "'");
    sizes.push_back(a->size());
  }
  return sizes;
}

const Group* Archive::group(std::string_view group_name) const { return find_named(groups, group_name); }
Group* Archive::group(std::string_view group_name) { return find_named(groups, group_name); }

// ---- files -----------------------------------------------------------------------------------

void write_archive(const std::filesystem::path& path, const Archive& archive) {
  Validator(path).archive(archive);
  h5::File file = h5::File::create(path.string());
  write_contents(file, archive);
  file.close();
}

void write_archive_atomic(const std::filesystem::path& path, const Archive& archive) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  try {
    write_archive(temporary, archive);
    fsync_file(temporary);  // the data must be on disk before the rename can expose it
    if (std::rename(temporary.c_str(), path.c_str()) != 0) throw_errno("rename " + temporary.string() + " to", path);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
  fsync_parent_directory(path);  // makes the rename itself durable
}

Archive read_archive(const std::filesystem::path& path) {
  const h5::File file = h5::File::open(path.string());
  Archive archive;
  archive.attributes = file.read_attributes();
  archive.config = file.open_dataset("config").read<std::string>().at(0);
  archive.runs = read_runs(file);
  for (const h5::Link& link : file.links())
    if (link.is_group && link.name != "provenance") archive.groups.push_back(read_group(file.open_group(link.name), link.name));
  return archive;
}

}  // namespace absrep::io

namespace absrep::io {

std::string hdf5_library_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

}  // namespace absrep::io
