#include "io/journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <cerrno>
#include <limits>
#include <utility>

#include "core/errors.hpp"
#include "io/durable.hpp"

namespace absrep::io {

namespace {

constexpr std::string_view kMagic = "ABSREPJ1";
constexpr std::size_t kRecordHeader = 8;  // length + CRC

void put_u32(char* out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xffu);
}

std::uint32_t get_u32(const char* in) {
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return value;
}

// CRC-32 over the length bytes as well as the payload, so a corrupted length cannot pass as a
// shorter valid record.
std::uint32_t checksum(const char* length_bytes, std::string_view payload) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(length_bytes), 4);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size()));
  return static_cast<std::uint32_t>(crc);
}

// Reads exactly `n` bytes at `offset`; false at end of file (a torn tail).
bool read_at(int fd, const std::filesystem::path& path, char* out, std::size_t n, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd, out + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw_errno("read journal", path);
    if (got == 0) return false;
    done += static_cast<std::size_t>(got);
  }
  return true;
}

void write_at(int fd, const std::filesystem::path& path, std::string_view bytes, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t put = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) throw_errno("write journal", path);
    done += static_cast<std::size_t>(put);
  }
}

std::uint64_t file_size(int fd, const std::filesystem::path& path) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw_errno("stat journal", path);
  return static_cast<std::uint64_t>(info.st_size);
}

// True if the file starts with the magic; false if it is empty or a torn prefix of it (a crash
// while creating it). Anything else is some other file, which we refuse to touch.
bool has_header(int fd, const std::filesystem::path& path, std::uint64_t size) {
  std::array<char, kMagic.size()> head{};
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(size, head.size()));
  read_at(fd, path, head.data(), n, 0);
  if (std::string_view(head.data(), n) != kMagic.substr(0, n))
    throw IoError("cannot use journal " + path.string() + ": not an absrep journal (wrong magic)");
  return n == kMagic.size();
}

struct Scan {
  std::vector<std::string> records;
  std::uint64_t end = 0;  // just past the last intact record; 0 without a header
};

Scan scan(int fd, const std::filesystem::path& path, bool keep_records) {
  Scan result;
  const std::uint64_t size = file_size(fd, path);
  if (!has_header(fd, path, size)) return result;
  result.end = kMagic.size();
  std::array<char, kRecordHeader> header{};
  std::string payload;
  while (read_at(fd, path, header.data(), header.size(), result.end)) {
    const std::uint64_t start = result.end + kRecordHeader, length = get_u32(header.data());
    if (start + length > size) break;  // torn: the payload never made it to disk
    payload.resize(length);
    read_at(fd, path, payload.data(), length, start);
    if (checksum(header.data(), payload) != get_u32(header.data() + 4)) break;  // corrupt
    if (keep_records) result.records.push_back(payload);
    result.end = start + length;
  }
  return result;
}

// An exclusive advisory lock; file systems without flock (some Lustre/NFS mounts) go unlocked.
void lock(int fd, const std::filesystem::path& path) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return;
  if (errno == EWOULDBLOCK)
    throw IoError("cannot open journal " + path.string() + ": another process has it open for appending");
}

}  // namespace

Journal Journal::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw_errno("open journal", path);
  Journal journal(path, fd, 0);  // owns fd from here on
  lock(journal.fd_, path);
  journal.end_ = scan(fd, path, false).end;
  if (journal.end_ == 0) {
    if (::ftruncate(fd, 0) != 0) throw_errno("truncate journal", path);
    write_at(fd, path, kMagic, 0);
    journal.end_ = kMagic.size();
    journal.sync();
    fsync_parent_directory(path);  // the new file itself must survive a power loss
  } else if (file_size(fd, path) > journal.end_) {
    if (::ftruncate(fd, static_cast<off_t>(journal.end_)) != 0) throw_errno("truncate the torn tail of journal", path);
    journal.sync();
  }
  return journal;
}

std::vector<std::string> Journal::replay(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return {};
  if (fd < 0) throw_errno("open journal", path);
  try {
    std::vector<std::string> records = scan(fd, path, true).records;
    ::close(fd);
    return records;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

void Journal::append(std::string_view record) {
  if (record.size() > std::numeric_limits<std::uint32_t>::max())
    throw IoError("cannot append to journal " + path_.string() + ": record larger than 4 GiB");
  std::string bytes(kRecordHeader, '\0');
  put_u32(bytes.data(), static_cast<std::uint32_t>(record.size()));
  put_u32(bytes.data() + 4, checksum(bytes.data(), record));
  bytes.append(record);
  try {
    write_at(fd_, path_, bytes, end_);
  } catch (...) {
    // Best effort: the write error is what the caller must see; replay would skip a torn tail anyway.
    [[maybe_unused]] const int ignored = ::ftruncate(fd_, static_cast<off_t>(end_));
    throw;
  }
  end_ += bytes.size();
}

void Journal::sync() {
  if (::fsync(fd_) != 0) throw_errno("fsync journal", path_);
}

Journal::Journal(Journal&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)), end_(other.end_) {}

Journal& Journal::operator=(Journal&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    end_ = other.end_;
  }
  return *this;
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace absrep::io
