// The typed error family. The CLI maps each to one line on stderr and an exit code
// (DESIGN.md: 2 bad input, 3 numerical failure, 4 I/O failure). Per-point numerical trouble
// inside a solver is a Status value in its result, never one of these.
#pragma once
#include <stdexcept>
#include <string>

namespace absrep {

// Something the user asked for is invalid. `field` names the parameter (a flag or config key
// without dashes, e.g. "gamma"), so the front end can point at exactly what to fix.
class InputError : public std::invalid_argument {
 public:
  InputError(std::string field, const std::string& message)
      : std::invalid_argument(message), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

// A configuration file is wrong: the message carries "file:line:column: field: what" so the
// user can go straight to it.
class ConfigError : public InputError {
 public:
  using InputError::InputError;
};

class NumericalError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class IoError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws InputError(field, message) unless `condition` holds.
inline void require(bool condition, const char* field, const std::string& message) {
  if (!condition) throw InputError(field, message);
}

}  // namespace absrep
