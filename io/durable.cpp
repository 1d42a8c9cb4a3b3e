#include "io/durable.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/errors.hpp"

namespace absrep::io {

namespace {

void fsync_opened(const std::filesystem::path& path, int flags, const char* what) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw_errno("open", path);
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    errno = error;
    throw_errno(what, path);
  }
  ::close(fd);
}

}  // namespace

void throw_errno(const std::string& what, const std::filesystem::path& path) {
  throw IoError("cannot " + what + " " + path.string() + ": " + std::strerror(errno));
}

void fsync_file(const std::filesystem::path& path) { fsync_opened(path, O_RDONLY, "fsync"); }

void fsync_parent_directory(const std::filesystem::path& path) {
  const std::filesystem::path parent = path.has_parent_path() ? path.parent_path() : ".";
  fsync_opened(parent, O_RDONLY | O_DIRECTORY, "fsync directory");
}

}  // namespace absrep::io
