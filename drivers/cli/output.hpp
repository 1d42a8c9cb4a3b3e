// Printing a Report: one JSON object (--json) or a short human-readable table.
#pragma once
#include <iosfwd>

#include "study/point.hpp"

namespace absrep::cli {

void print_report(std::ostream& out, const Report& report, bool json);

}  // namespace absrep::cli
