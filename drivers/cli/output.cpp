#include "cli/output.hpp"

#include <fmt/format.h>

#include <ostream>

#include "io/report_json.hpp"

namespace absrep::cli {

namespace {
std::string num(double x, const char* f = "{:.10g}") { return std::isfinite(x) ? fmt::format(fmt::runtime(f), x) : "—"; }
std::string num(const std::optional<double>& x, const char* f = "{:.3e}") { return x ? num(*x, f) : "—"; }
}  // namespace

void print_report(std::ostream& out, const Report& r, bool json) {
  if (json) {
    out << io::to_json(r).dump() << '\n';
    return;
  }
  out << fmt::format("{:<16}{}\n", "solver", r.solver);
  out << fmt::format("{:<16}{}{}\n", "status", to_string(r.status), r.note.empty() ? "" : "  (" + r.note + ")");
  if (r.applicable) out << fmt::format("{:<16}{}  {}\n", "closed form", *r.applicable ? "applicable" : "not applicable", r.theory_case);
  out << fmt::format("{:<16}{}\n", "PS", num(r.ps, "{:.8f}"));
  out << fmt::format("{:<16}{}\n", "energy", num(r.energy, "{:.12g}"));
  if (r.c) out << fmt::format("{:<16}{}\n", "c", num(*r.c, "{:.10g}"));
  out << fmt::format("{:<16}{}\n", "energy gap", num(r.energy_rel_gap));
  out << fmt::format("{:<16}{}\n", "kernel rel err", num(r.kernel_rel_err));
  out << fmt::format("{:<16}{} ({})\n", "KKT min", num(r.kkt_min, "{:.3e}"), r.kkt_method.empty() ? "—" : r.kkt_method);
  if (r.stationarity) out << fmt::format("{:<16}{}\n", "stationarity", num(r.stationarity));
  if (r.selectivity)
    out << fmt::format("{:<16}{} of {} active neurons single-label\n", "selectivity", r.selectivity->single_label,
                       r.selectivity->active);
  out << fmt::format("{:<16}{}\n", "iterations", r.iterations);
  out << fmt::format("{:<16}{:.3f} s\n", "time", r.seconds);
}

}  // namespace absrep::cli
