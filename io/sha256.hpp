// SHA-256 (FIPS 180-4) of a byte string, as lowercase hex: the config's identity in archives.
#pragma once
#include <string>
#include <string_view>

namespace absrep::io {

std::string sha256_hex(std::string_view bytes);

}  // namespace absrep::io
