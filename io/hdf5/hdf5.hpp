// Small RAII handles over the HDF5 C and high-level (H5DS) APIs. hdf5.h stays out of this
// header (identifiers travel as std::int64_t, which is hid_t in HDF5 >= 1.10), so only io/
// compiles against HDF5. Every failure becomes an IoError naming the file, the object and what
// HDF5 said; HDF5's own printing of its error stack is switched off.
// HDF5 is not built thread-safe on Debian: use these from one thread (rank 0) only.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/attribute_value.hpp"

namespace absrep::io::h5 {

using hid = std::int64_t;

// Owns one reference to an HDF5 identifier (file, group, dataset, dataspace, datatype,
// attribute or property list) and gives it back on destruction.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid id) noexcept : id_(id) {}
  Handle(Handle&& other) noexcept : id_(other.release()) {}
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle();

  hid get() const noexcept { return id_; }
  hid release() noexcept;

 private:
  hid id_ = -1;
};

// What a dataset holds, as far as the archive cares.
enum class Element { Float, UInt8, Int, String, Other };

// Something that carries attributes: the root group, a group or a dataset. It remembers the
// file name and its own path inside the file so that every error says where it happened.
class Object {
 public:
  // Scalar attribute; strings are stored as variable-length UTF-8 (what h5py writes and reads).
  void write_attribute(const std::string& name, const AttributeValue& value);
  // Every attribute except the dimension-scale bookkeeping (CLASS, NAME, DIMENSION_LIST,
  // REFERENCE_LIST). Throws IoError on attributes that are not scalar text, integer or real.
  Attributes read_attributes() const;

  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  hid id() const { return handle_.get(); }

 protected:
  Object(Handle handle, std::string file, std::string path);
  std::string child_path(const std::string& name) const;
  [[noreturn]] void fail(const std::string& what) const;

  Handle handle_;
  std::string file_, path_;
};

class Dataset : public Object {
 public:
  std::vector<std::uint64_t> dims() const;  // empty for a scalar dataset
  Element element() const;

  // Reads every element, converting numbers to T (double, std::uint8_t, std::int64_t) or, for
  // T = std::string, reading variable-length strings.
  template <class T>
  std::vector<T> read() const;

  // Dimension scales (H5DS): what makes h5netcdf/xarray see named dimensions and coordinates.
  void make_scale(const std::string& dimension_name);
  bool is_scale() const;
  void attach_scale(const Dataset& scale, unsigned dim);
  std::vector<std::string> scale_names(unsigned dim) const;  // link names of the attached scales

 private:
  friend class Group;
  using Object::Object;
};

struct Link {
  std::string name;
  bool is_group;
};

class Group : public Object {
 public:
  // Groups track link creation order (as netCDF-4 does), so links() returns them as written.
  Group create_group(const std::string& name);
  Group open_group(const std::string& name) const;
  Dataset open_dataset(const std::string& name) const;
  std::vector<Link> links() const;  // creation order where tracked, name order otherwise

  // Creates a contiguous dataset of shape `dims` (empty: scalar) and writes `data` (row-major)
  // into it. T is double, std::uint8_t, std::int64_t or std::string (variable-length UTF-8).
  // `fill` becomes the dataset's HDF5 fill value.
  template <class T>
  Dataset write_dataset(const std::string& name, const std::vector<std::uint64_t>& dims, std::span<const T> data,
                        std::optional<T> fill = std::nullopt);

 protected:
  using Object::Object;
};

class File : public Group {
 public:
  static File create(const std::string& path);  // truncates an existing file
  static File open(const std::string& path);    // read-only
  // Flushes and closes, throwing if either fails (the destructor cannot report a failed
  // write). Every group and dataset taken from this file must be destroyed first.
  void close();

 private:
  using Group::Group;
};

}  // namespace absrep::io::h5
