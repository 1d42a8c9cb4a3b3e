#include "io/hdf5/hdf5.hpp"

#include <hdf5.h>
#include <hdf5_hl.h>  // after hdf5.h, whose types it uses

#include <array>
#include <type_traits>

#include "core/errors.hpp"

namespace absrep::io::h5 {

static_assert(std::is_same_v<hid, hid_t>, "h5::hid must be HDF5's hid_t (HDF5 >= 1.10)");

namespace {

// Dimension-scale bookkeeping that H5DS maintains itself; callers never see or set it.
constexpr std::array kScaleAttributes{"CLASS", "NAME", "DIMENSION_LIST", "REFERENCE_LIST"};

bool is_scale_attribute(const std::string& name) {
  for (const char* reserved : kScaleAttributes)
    if (name == reserved) return true;
  return false;
}

// The innermost message on HDF5's error stack: the most specific one ("unable to open file:
// name = 'x', errno = 2, ...") rather than the API function that gave up.
herr_t keep_last(unsigned, const H5E_error2_t* error, void* out) {
  if (error->desc != nullptr) *static_cast<std::string*>(out) = error->desc;
  return 0;
}

std::string hdf5_message() {
  std::string message;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_last, &message);
  return message.empty() ? "unknown HDF5 error" : message;
}

// `path` is the object inside `file`; empty when the file itself is what failed.
[[noreturn]] void raise(const std::string& what, const std::string& path, const std::string& file) {
  const std::string object = path.empty() ? " " : " '" + path + "' in ";
  throw IoError("HDF5: cannot " + what + object + file + ": " + hdf5_message());
}

// HDF5 prints its whole error stack to stderr by default; we turn errors into exceptions.
void silence_error_printing() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

Handle owned(hid_t id, const std::string& what, const std::string& path, const std::string& file) {
  if (id < 0) raise(what, path, file);
  return Handle(id);
}

void check(herr_t status, const std::string& what, const std::string& path, const std::string& file) {
  if (status < 0) raise(what, path, file);
}

// Standard little-endian file types, so archives do not depend on the writing machine.
template <class T>
Handle file_type();
template <class T>
Handle memory_type();

Handle variable_string() {
  Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  return type;
}

template <>
Handle file_type<double>() { return Handle(H5Tcopy(H5T_IEEE_F64LE)); }
template <>
Handle file_type<std::uint8_t>() { return Handle(H5Tcopy(H5T_STD_U8LE)); }
template <>
Handle file_type<std::int64_t>() { return Handle(H5Tcopy(H5T_STD_I64LE)); }
template <>
Handle file_type<std::string>() { return variable_string(); }
template <>
Handle memory_type<double>() { return Handle(H5Tcopy(H5T_NATIVE_DOUBLE)); }
template <>
Handle memory_type<std::uint8_t>() { return Handle(H5Tcopy(H5T_NATIVE_UINT8)); }
template <>
Handle memory_type<std::int64_t>() { return Handle(H5Tcopy(H5T_NATIVE_INT64)); }
template <>
Handle memory_type<std::string>() { return variable_string(); }

Handle dataspace(const std::vector<std::uint64_t>& dims) {
  if (dims.empty()) return Handle(H5Screate(H5S_SCALAR));
  const std::vector<hsize_t> extent(dims.begin(), dims.end());
  return Handle(H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr));
}

std::vector<const char*> c_strings(std::span<const std::string> strings) {
  std::vector<const char*> pointers;
  pointers.reserve(strings.size());
  for (const std::string& s : strings) pointers.push_back(s.c_str());
  return pointers;
}

// Reads n variable-length strings through `read` (H5Dread or H5Aread) and frees HDF5's copies;
// nullopt if the read failed (the error is then on HDF5's stack).
template <class Read>
std::optional<std::vector<std::string>> read_strings(hid_t memtype, hid_t space, std::size_t n, Read read) {
  if (n == 0) return std::vector<std::string>{};
  std::vector<char*> raw(n, nullptr);
  if (read(raw.data()) < 0) return std::nullopt;
  std::vector<std::string> strings;
  strings.reserve(n);
  for (const char* s : raw) strings.emplace_back(s == nullptr ? "" : s);
  H5Dvlen_reclaim(memtype, space, H5P_DEFAULT, raw.data());
  return strings;
}

std::size_t element_count(hid_t space) { return static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)); }

// A creation property list whose groups remember the order links were made in.
Handle ordered_links(hid_t plist_class) {
  Handle plist(H5Pcreate(plist_class));
  H5Pset_link_creation_order(plist.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  return plist;
}

herr_t collect_attribute_name(hid_t, const char* name, const H5A_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

herr_t collect_link(hid_t group, const char* name, const H5L_info_t*, void* out) {
  const Handle object(H5Oopen(group, name, H5P_DEFAULT));
  if (object.get() < 0) return -1;
  static_cast<std::vector<Link>*>(out)->push_back({name, H5Iget_type(object.get()) == H5I_GROUP});
  return 0;
}

herr_t collect_scale_name(hid_t, unsigned, hid_t scale, void* out) {
  const ssize_t length = H5Iget_name(scale, nullptr, 0);
  if (length < 0) return -1;
  std::string name(static_cast<std::size_t>(length) + 1, '\0');
  H5Iget_name(scale, name.data(), name.size());
  name.resize(static_cast<std::size_t>(length));
  static_cast<std::vector<std::string>*>(out)->push_back(name.substr(name.rfind('/') + 1));
  return 0;
}

}  // namespace

// ---- Handle ----------------------------------------------------------------------------------

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    Handle old(id_);
    id_ = other.release();
  }
  return *this;
}

Handle::~Handle() {
  // Reference counting closes any kind of identifier; a failure here has nobody to report to.
  if (id_ >= 0) H5Idec_ref(id_);
}

hid Handle::release() noexcept {
  const hid id = id_;
  id_ = -1;
  return id;
}

// ---- Object ----------------------------------------------------------------------------------

Object::Object(Handle handle, std::string file, std::string path)
    : handle_(std::move(handle)), file_(std::move(file)), path_(std::move(path)) {}

std::string Object::child_path(const std::string& name) const {
  return path_ == "/" ? "/" + name : path_ + "/" + name;
}

void Object::fail(const std::string& what) const { raise(what, path_, file_); }

void Object::write_attribute(const std::string& name, const AttributeValue& value) {
  const std::string where = path_ + "@" + name;
  const auto write = [&]<class T>(const T& v) {
    const Handle ftype = file_type<T>(), mtype = memory_type<T>();
    const Handle space(H5Screate(H5S_SCALAR));
    const Handle attr = owned(H5Acreate2(id(), name.c_str(), ftype.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                              "create attribute", where, file_);
    herr_t status;
    if constexpr (std::is_same_v<T, std::string>) {
      const char* text = v.c_str();
      status = H5Awrite(attr.get(), mtype.get(), &text);
    } else {
      status = H5Awrite(attr.get(), mtype.get(), &v);
    }
    check(status, "write attribute", where, file_);
  };
  std::visit(write, value);
}

namespace {

template <class T>
T read_number(hid_t attr, const std::string& where, const std::string& file) {
  const Handle mtype = memory_type<T>();
  T value{};
  check(H5Aread(attr, mtype.get(), &value), "read attribute", where, file);
  return value;
}

// One scalar attribute: variable-length text, or any integer (as int64) or real (as double).
AttributeValue read_attribute(hid_t object, const std::string& name, const std::string& where,
                              const std::string& file) {
  const Handle attr = owned(H5Aopen(object, name.c_str(), H5P_DEFAULT), "open attribute", where, file);
  const Handle type(H5Aget_type(attr.get())), space(H5Aget_space(attr.get()));
  if (element_count(space.get()) != 1) throw IoError("HDF5: attribute '" + where + "' in " + file + " is not a scalar");
  switch (H5Tget_class(type.get())) {
    case H5T_INTEGER:
      return read_number<std::int64_t>(attr.get(), where, file);
    case H5T_FLOAT:
      return read_number<double>(attr.get(), where, file);
    case H5T_STRING:
      if (H5Tis_variable_str(type.get()) > 0) {
        const Handle mtype = memory_type<std::string>();
        const auto read = [&](char** raw) { return H5Aread(attr.get(), mtype.get(), raw); };
        const auto text = read_strings(mtype.get(), space.get(), 1, read);
        if (!text) raise("read attribute", where, file);
        return text->front();
      }
      [[fallthrough]];
    default:
      throw IoError("HDF5: attribute '" + where + "' in " + file + " is neither variable-length text nor a number");
  }
}

}  // namespace

Attributes Object::read_attributes() const {
  std::vector<std::string> names;
  check(H5Aiterate2(id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_attribute_name, &names),
        "list attributes of", path_, file_);
  Attributes attributes;
  for (const std::string& name : names)
    if (!is_scale_attribute(name)) attributes.emplace(name, read_attribute(id(), name, path_ + "@" + name, file_));
  return attributes;
}

// ---- Dataset ---------------------------------------------------------------------------------

std::vector<std::uint64_t> Dataset::dims() const {
  const Handle space = owned(H5Dget_space(id()), "get the shape of", path_, file_);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) fail("get the rank of");
  std::vector<hsize_t> extent(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), extent.data(), nullptr);
  return {extent.begin(), extent.end()};
}

Element Dataset::element() const {
  const Handle type = owned(H5Dget_type(id()), "get the type of", path_, file_);
  switch (H5Tget_class(type.get())) {
    case H5T_FLOAT:
      return Element::Float;
    case H5T_INTEGER:
      return H5Tget_size(type.get()) == 1 && H5Tget_sign(type.get()) == H5T_SGN_NONE ? Element::UInt8 : Element::Int;
    case H5T_STRING:
      return Element::String;
    default:
      return Element::Other;
  }
}

template <class T>
std::vector<T> Dataset::read() const {
  const Handle space = owned(H5Dget_space(id()), "get the shape of", path_, file_);
  const Handle mtype = memory_type<T>();
  const std::size_t n = element_count(space.get());
  if constexpr (std::is_same_v<T, std::string>) {
    const auto read = [&](char** raw) { return H5Dread(id(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw); };
    auto strings = read_strings(mtype.get(), space.get(), n, read);
    if (!strings) fail("read");
    return std::move(*strings);
  } else {
    std::vector<T> data(n);
    if (n > 0) check(H5Dread(id(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), "read", path_, file_);
    return data;
  }
}

template std::vector<double> Dataset::read<double>() const;
template std::vector<std::uint8_t> Dataset::read<std::uint8_t>() const;
template std::vector<std::int64_t> Dataset::read<std::int64_t>() const;
template std::vector<std::string> Dataset::read<std::string>() const;

void Dataset::make_scale(const std::string& dimension_name) {
  check(H5DSset_scale(id(), dimension_name.c_str()), "make a dimension scale of", path_, file_);
}

bool Dataset::is_scale() const {
  const htri_t scale = H5DSis_scale(id());
  if (scale < 0) fail("check for a dimension scale");
  return scale > 0;
}

void Dataset::attach_scale(const Dataset& scale, unsigned dim) {
  check(H5DSattach_scale(id(), scale.id(), dim), "attach scale " + scale.path() + " to", path_, file_);
}

std::vector<std::string> Dataset::scale_names(unsigned dim) const {
  std::vector<std::string> names;
  check(H5DSiterate_scales(id(), dim, nullptr, collect_scale_name, &names), "list the dimension scales of", path_,
        file_);
  return names;
}

// ---- Group -----------------------------------------------------------------------------------

Group Group::create_group(const std::string& name) {
  const Handle gcpl = ordered_links(H5P_GROUP_CREATE);
  const std::string path = child_path(name);
  return {owned(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), "create group", path, file_),
          file_, path};
}

Group Group::open_group(const std::string& name) const {
  const std::string path = child_path(name);
  return {owned(H5Gopen2(id(), name.c_str(), H5P_DEFAULT), "open group", path, file_), file_, path};
}

Dataset Group::open_dataset(const std::string& name) const {
  const std::string path = child_path(name);
  return {owned(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), "open dataset", path, file_), file_, path};
}

std::vector<Link> Group::links() const {
  // The root group's creation properties are the file's.
  const hid_t plist = H5Iget_type(id()) == H5I_FILE ? H5Fget_create_plist(id()) : H5Gget_create_plist(id());
  const Handle gcpl = owned(plist, "get the creation properties of", path_, file_);
  unsigned order = 0;
  H5Pget_link_creation_order(gcpl.get(), &order);
  const H5_index_t index = (order & H5P_CRT_ORDER_TRACKED) != 0 ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  std::vector<Link> links;
  check(H5Literate(id(), index, H5_ITER_INC, nullptr, collect_link, &links), "list the members of", path_, file_);
  return links;
}

template <class T>
Dataset Group::write_dataset(const std::string& name, const std::vector<std::uint64_t>& dims, std::span<const T> data,
                             std::optional<T> fill) {
  const std::string path = child_path(name);
  const Handle ftype = file_type<T>(), mtype = memory_type<T>(), space = dataspace(dims);
  if (element_count(space.get()) != data.size())
    throw IoError("HDF5: cannot write '" + path + "' in " + file_ + ": " + std::to_string(data.size()) +
                  " values do not fill its shape");
  const Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  if constexpr (!std::is_same_v<T, std::string>)
    if (fill) check(H5Pset_fill_value(dcpl.get(), mtype.get(), &*fill), "set the fill value of", path, file_);
  Dataset dataset(owned(H5Dcreate2(id(), name.c_str(), ftype.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                        "create dataset", path, file_),
                  file_, path);
  if (data.empty()) return dataset;
  herr_t status;
  if constexpr (std::is_same_v<T, std::string>) {
    const std::vector<const char*> pointers = c_strings(data);
    status = H5Dwrite(dataset.id(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data());
  } else {
    status = H5Dwrite(dataset.id(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
  }
  check(status, "write", path, file_);
  return dataset;
}

template Dataset Group::write_dataset<double>(const std::string&, const std::vector<std::uint64_t>&,
                                              std::span<const double>, std::optional<double>);
template Dataset Group::write_dataset<std::uint8_t>(const std::string&, const std::vector<std::uint64_t>&,
                                                    std::span<const std::uint8_t>, std::optional<std::uint8_t>);
template Dataset Group::write_dataset<std::int64_t>(const std::string&, const std::vector<std::uint64_t>&,
                                                    std::span<const std::int64_t>, std::optional<std::int64_t>);
template Dataset Group::write_dataset<std::string>(const std::string&, const std::vector<std::uint64_t>&,
                                                   std::span<const std::string>, std::optional<std::string>);

// ---- File ------------------------------------------------------------------------------------

namespace {

// Lock the file where the file system supports it, but do not fail where it does not (Lustre
// and some NFS mounts refuse flock, which would otherwise make every open fail there).
Handle file_access() {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_file_locking(fapl.get(), true, true);
  return fapl;
}

}  // namespace

File File::create(const std::string& path) {
  silence_error_printing();
  const Handle fcpl = ordered_links(H5P_FILE_CREATE), fapl = file_access();
  return {owned(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), "create file", "", path), path, "/"};
}

File File::open(const std::string& path) {
  silence_error_printing();
  const Handle fapl = file_access();
  return {owned(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), "open file", "", path), path, "/"};
}

void File::close() {
  check(H5Fflush(id(), H5F_SCOPE_GLOBAL), "flush", "", file_);
  check(H5Fclose(handle_.release()), "close", "", file_);
}

}  // namespace absrep::io::h5
