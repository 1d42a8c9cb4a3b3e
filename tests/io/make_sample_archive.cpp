// Writes the sample archive (sample_archive.hpp) to argv[1] through the atomic path, for
// check_archive.py to read back with h5py and xarray.
#include <cstdio>
#include <exception>

#include "io/archive.hpp"
#include "io/sample_archive.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT.h5\n", argv[0]);
    return 2;
  }
  try {
    absrep::io::write_archive_atomic(argv[1], absrep::test::sample_archive());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 4;
  }
  return 0;
}
