// `absrep meanfield`: the infinite-width optimum of one point (meanfield/solver), with its
// certificate; `--atoms` lists the optimal tunings grouped by the labels they respond to.
#include <fmt/format.h>

#include <iostream>
#include <map>
#include <memory>

#include "cli/output.hpp"
#include "cli/problem_flags.hpp"
#include "commands/commands.hpp"
#include "parallel/mpi_reducer.hpp"
#include "sweep/mpi_env.hpp"

namespace absrep::cli {

namespace {

std::string group_name(const Tuning& t) {
  if (t.labels.empty()) return "no label (constant response)";
  if (t.labels.size() == 1) return fmt::format("label {} only ({})", t.labels[0], t.polarity > 0 ? "+" : "-");
  return fmt::format("labels {} (mixed)", fmt::join(t.labels, ","));
}

// Groups in order of first appearance (tunings come heaviest first).
void print_tunings(std::ostream& out, const Report& r) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Tuning*>> groups;
  for (const Tuning& t : r.tunings) {
    const std::string key = group_name(t);
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(&t);
  }
  out << fmt::format("\noptimal tunings: {} atoms; class-mean responses over classes 0..{} (bit k of a class = label k)\n",
                     r.tunings.size(), r.tunings.empty() ? 0 : r.tunings.front().response.size() - 1);
  for (const auto& key : order) {
    const auto& members = groups[key];
    double mass = 0.0;
    for (const Tuning* t : members) mass += t->mass;
    out << fmt::format("  {}: {} atoms, total mass {:.6g}\n", key, members.size(), mass);
    for (const Tuning* t : members)
      out << fmt::format("    mass {:<12.6g}{} response [{:.4g}]\n", t->mass, t->linear_regime ? " (linear regime)" : "",
                         fmt::join(t->response.data(), t->response.data() + t->response.size(), ", "));
  }
}

}  // namespace

void add_meanfield(CLI::App& app, Action& action) {
  struct State {
    ProblemFlags problem;
    MeanfieldOptions options;
    bool no_symmetry = false;
    bool json = false;
    bool atoms = false;
  };
  auto st = std::make_shared<State>();
  CLI::App* cmd = app.add_subcommand("meanfield", "the infinite-width optimum over measures, with its certificate");
  st->problem.add_to(*cmd);
  cmd->add_option("--tol", st->options.tol, "stop when kkt_min >= -tol")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-iter", st->options.max_iter, "Frank-Wolfe iteration limit")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", st->options.seed, "seed of the oracle's local-search starts")->capture_default_str();
  cmd->add_flag("--no-symmetry", st->no_symmetry, "do not use the task's symmetries (every atom solved separately)");
  cmd->add_flag("--atoms", st->atoms, "list the optimal tunings, grouped by the labels they respond to");
  cmd->add_flag("--json", st->json, "print one JSON object");
  cmd->callback([st, &action] {
    action = [st] {
      // Under mpirun the ranks share the oracle's local-search starts (the same answer, sooner).
      const MpiReducer world(MPI_COMM_WORLD);
      MeanfieldOptions options = st->options;
      options.reducer = &world;
      Report r = solve_meanfield(st->problem.to_spec(), options, !st->no_symmetry);
      if (!st->atoms) r.tunings.clear();
      if (world.rank() != 0) return 0;  // under mpirun every rank solves; one prints
      print_report(std::cout, r, st->json);
      if (!st->json) {
        std::cout << fmt::format("{:<16}{:.3e}\n", "gap bound", r.gap_bound.value_or(NAN));
        std::cout << fmt::format("{:<16}{}{}\n", "atoms", r.atoms.value_or(0), r.attained.value_or(true) ? "" : " (no finite network attains E: see status)");
        if (st->atoms) print_tunings(std::cout, r);
      }
      return 0;
    };
  });
}

}  // namespace absrep::cli
