// The outcome of one numerical solve, as a value (Eigen's ComputationInfo, in our words).
// The codes are the archive's `status` values (DESIGN.md), so they never change meaning.
#pragma once
#include <cstdint>
#include <string>

namespace absrep {

enum class Status : std::uint8_t { pending = 0, converged = 1, max_iter = 2, diverged = 3, invalid = 4 };

inline std::string to_string(Status s) {
  switch (s) {
    case Status::pending: return "pending";
    case Status::converged: return "converged";
    case Status::max_iter: return "max_iter";
    case Status::diverged: return "diverged";
    case Status::invalid: return "invalid";
  }
  return "?";
}

}  // namespace absrep
