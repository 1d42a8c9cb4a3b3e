// An append-only journal of finished work units, the sweep's crash-consistent record between
// archive snapshots. The journal does not interpret records: a record is any byte string (the
// sweep stores one JSON text, nlohmann::json::dump(), per finished unit).
//
// On disk: the 8-byte magic "ABSREPJ1", then records of
//   uint32 length (little-endian) | uint32 CRC-32 of the length bytes and the payload | payload.
// A crash mid-append leaves a torn or corrupt tail; replay stops cleanly before it and open()
// cuts it off before appending, so a later record never follows garbage.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace absrep::io {

class Journal {
 public:
  // Opens `path` for appending, creating it if absent and truncating a torn tail. Holds an
  // exclusive flock (where the file system offers one) so that two sweeps cannot interleave
  // records; throws IoError if another process holds it, or if the file is not a journal.
  static Journal open(const std::filesystem::path& path);

  // Every intact record in order, stopping at the first torn or corrupt one. A missing file
  // has no records (nothing was journalled yet). Throws IoError if the file is not a journal.
  static std::vector<std::string> replay(const std::filesystem::path& path);

  // Appends one record with a single write; not durable until sync(). On a failed write the
  // partial record is cut off again and IoError thrown.
  void append(std::string_view record);
  // fsync(2): everything appended so far survives a power loss. The caller picks the interval.
  void sync();

  const std::filesystem::path& path() const { return path_; }

  Journal(Journal&& other) noexcept;
  Journal& operator=(Journal&& other) noexcept;
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  ~Journal();  // closes without fsync: a process crash loses nothing, a power loss may

 private:
  Journal(std::filesystem::path path, int fd, std::uint64_t end) : path_(std::move(path)), fd_(fd), end_(end) {}

  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t end_ = 0;  // offset just past the last intact record
};

}  // namespace absrep::io
