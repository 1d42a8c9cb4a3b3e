// `absrep inspect FILE.h5 [--json]`: what an archive holds, without Python: its axes, units by
// status, PS along the first axis for every solver, and the provenance of each run.
#include <cmath>
#include <fmt/format.h>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands/commands.hpp"
#include "io/archive.hpp"

namespace absrep::cli {

namespace {

struct Summary {
  nlohmann::json json;
  std::string text;
};

const char* kStatusNames[] = {"pending", "ok", "not_converged", "diverged", "failed"};

Summary summarise(const io::Archive& ar) {
  nlohmann::json j;
  std::string t;
  for (const auto& [key, value] : ar.attributes)
    std::visit([&](const auto& v) { j["attributes"][key] = v; }, value);
  t += fmt::format("archive  study {}  schema {}  version {}\n", j["attributes"].value("study", "?"),
                   j["attributes"].value("schema", "?"), j["attributes"].value("version", "?"));
  for (const auto& g : ar.groups) {
    nlohmann::json gj;
    const io::Variable* status = g.variable("status");
    const io::Variable* ps = g.variable("ps");
    if (!status || !ps) continue;
    t += fmt::format("\n[{}]\n", g.name);
    for (const auto& d : status->dims) {
      const io::Axis* ax = g.axis(d);
      gj["axes"][d] = ax->size();
      t += fmt::format("  axis {:<12} {} values\n", d, ax->size());
    }
    const auto& codes = std::get<std::vector<std::uint8_t>>(status->data);
    std::map<std::string, int> counts;
    for (auto c : codes) ++counts[c < 5 ? kStatusNames[c] : "unknown"];
    t += "  units:";
    for (const auto& [name, n] : counts) {
      gj["status"][name] = n;
      t += fmt::format(" {} {}", name, n);
    }
    t += '\n';
    // PS along the first axis: mean (and range) over everything else.
    const io::Axis* first = g.axis(status->dims.front());
    const auto& values = std::get<std::vector<double>>(ps->data);
    const std::size_t stride = values.size() / first->size();
    t += fmt::format("  {:>14}  {:>10} {:>10} {:>10}  {:>5}\n", first->name, "PS mean", "min", "max", "n");
    for (std::size_t i = 0; i < first->size(); ++i) {
      double sum = 0, lo = INFINITY, hi = -INFINITY;
      int n = 0;
      for (std::size_t k = 0; k < stride; ++k) {
        const double v = values[i * stride + k];
        if (std::isnan(v)) continue;
        sum += v, lo = std::min(lo, v), hi = std::max(hi, v), ++n;
      }
      const std::string coord = first->is_string() ? first->labels[i] : fmt::format("{:.6g}", first->values[i]);
      nlohmann::json row = {{"coordinate", coord}, {"n", n}};
      row["ps_mean"] = n ? nlohmann::json(sum / n) : nlohmann::json(nullptr);
      row["ps_min"] = n ? nlohmann::json(lo) : nlohmann::json(nullptr);
      row["ps_max"] = n ? nlohmann::json(hi) : nlohmann::json(nullptr);
      gj["ps_along_" + first->name].push_back(row);
      t += n ? fmt::format("  {:>14}  {:>10.6f} {:>10.6f} {:>10.6f}  {:>5}\n", coord, sum / n, lo, hi, n)
             : fmt::format("  {:>14}  {:>10} {:>10} {:>10}  {:>5}\n", coord, "—", "—", "—", 0);
    }
    j["groups"][g.name] = gj;
  }
  t += "\nruns\n";
  for (const auto& r : ar.runs) {
    j["runs"].push_back({{"start_utc", r.start_utc}, {"end_utc", r.end_utc}, {"ranks", r.ranks}, {"host", r.host},
                         {"job_id", r.job_id}, {"units_done", r.units_done}, {"command_line", r.command_line}});
    t += fmt::format("  {} → {}  {} ranks on {}{}  {} units  {}\n", r.start_utc, r.end_utc.empty() ? "(killed)" : r.end_utc,
                     r.ranks, r.host, r.job_id.empty() ? "" : " job " + r.job_id, r.units_done, r.command_line);
  }
  return {j, t};
}

}  // namespace

void add_inspect(CLI::App& app, Action& action) {
  struct State {
    std::string file;
    bool json = false;
  };
  auto st = std::make_shared<State>();
  CLI::App* cmd = app.add_subcommand("inspect", "summarise a sweep archive: axes, status counts, PS table, provenance");
  cmd->add_option("archive", st->file, "FILE.h5 written by absrep sweep")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--json", st->json, "print one JSON object");
  cmd->callback([st, &action] {
    action = [st] {
      const Summary s = summarise(io::read_archive(st->file));
      if (st->json)
        std::cout << s.json.dump() << '\n';
      else
        std::cout << s.text;
      return 0;
    };
  });
}

}  // namespace absrep::cli
