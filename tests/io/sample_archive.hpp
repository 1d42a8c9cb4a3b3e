// One small archive exercising every feature of the format: numeric, string and index
// coordinates, NaN holes, a uint8 status with pending units, a 4-D kernel, a scalar variable,
// attributes of every type and a two-row provenance table. The C++ round-trip tests and
// check_archive.py (through make_sample_archive) both use it; check_archive.py restates the
// values below, so change both together.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "io/archive.hpp"

namespace absrep::test {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Grid point (b, a) = (beta index, activation index); (1, 2) is a unit that has not run yet.
inline bool pending(std::size_t b, std::size_t a) { return b == 1 && a == 2; }

inline io::Group sample_meanfield() {
  io::Axis beta = io::Axis::numeric("beta", {0.0625, 1.0, 16.0});
  beta.attributes = {{"long_name", "alpha/beta"}, {"units", "1"}};
  io::Group g{.name = "meanfield",
              .axes = {beta, io::Axis::strings("activation", {"relu", "tanh", "clipped_relu"}),
                       io::Axis::index("sample_i", 2), io::Axis::index("sample_j", 2)},
              .variables = {},
              .attributes = {{"solver", "meanfield"}, {"tol", 1e-9}}};
  std::vector<double> ps, kernel;
  std::vector<std::uint8_t> status;
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t a = 0; a < 3; ++a) {
      ps.push_back(pending(b, a) ? kNaN : 10.0 * static_cast<double>(b) + static_cast<double>(a));
      status.push_back(pending(b, a) ? 0 : 1);
      for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 2; ++j)
          kernel.push_back(pending(b, a) ? kNaN : static_cast<double>(1000 * b + 100 * a + 10 * i + j));
    }
  g.variables = {
      {.name = "ps", .dims = {"beta", "activation"}, .data = ps, .attributes = {{"description", "parallelism score"}}},
      {.name = "status", .dims = {"beta", "activation"}, .data = status, .attributes = {{"pending", std::int64_t{0}}}},
      {.name = "kernel", .dims = {"beta", "activation", "sample_i", "sample_j"}, .data = kernel, .attributes = {}},
      {.name = "tolerance", .dims = {}, .data = std::vector<double>{1e-9}, .attributes = {}}};
  return g;
}

inline io::Group sample_train() {
  io::Group g{.name = "train",
              .axes = {io::Axis::numeric("beta", {0.0625, 1.0, 16.0}),
                       io::Axis::strings("activation", {"relu", "tanh", "clipped_relu"}), io::Axis::index("replicate", 2)},
              .variables = {},
              .attributes = {}};
  std::vector<double> ps;
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t a = 0; a < 3; ++a)
      for (std::size_t r = 0; r < 2; ++r)
        ps.push_back(static_cast<double>(b) + 0.1 * static_cast<double>(a) + 0.01 * static_cast<double>(r));
  g.variables = {{.name = "ps", .dims = {"beta", "activation", "replicate"}, .data = ps, .attributes = {}}};
  return g;
}

inline io::Archive sample_archive() {
  return {.attributes = {{"schema", "absrep/1"}, {"version", "0.1.0"}, {"mpi_ranks", std::int64_t{2}},
                         {"gamma", 1.25}, {"empty", ""}},
          .config = "study: alignment\nseed: 1\nproblem: {labels: 3}  # ünïcödé ✓\n",
          .runs = {{"2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z", 2, "node1", "12345",
                    "absrep sweep c.yaml --output run.h5", 5},
                   {"2026-01-01T01:00:00Z", "2026-01-01T01:05:00Z", 4, "node2", "", "absrep sweep c.yaml --resume", 7}},
          .groups = {sample_meanfield(), sample_train()}};
}

}  // namespace absrep::test
