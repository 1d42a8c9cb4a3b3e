// POSIX durability helpers shared by the archive and the journal (internal to absrep_io).
#pragma once
#include <filesystem>
#include <string>

namespace absrep::io {

// Throws IoError("cannot <what> <path>: <strerror(errno)>").
[[noreturn]] void throw_errno(const std::string& what, const std::filesystem::path& path);

// fsync(2) of a file's data and metadata, through a descriptor opened for the purpose.
void fsync_file(const std::filesystem::path& path);

// fsync(2) of the directory holding `path`, which makes a create or rename of `path` durable.
void fsync_parent_directory(const std::filesystem::path& path);

}  // namespace absrep::io
