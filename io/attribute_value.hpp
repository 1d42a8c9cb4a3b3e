// Scalar attributes as they appear on HDF5 objects (and as xarray attrs): text, integer or real.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <variant>

namespace absrep::io {

using AttributeValue = std::variant<std::string, std::int64_t, double>;
// Ordered by name, which is also the order HDF5 lists attributes in, so a read-back compares equal.
using Attributes = std::map<std::string, AttributeValue, std::less<>>;

}  // namespace absrep::io
