// `absrep theory` and `absrep train`: one point, answered by one solver, printed as a table or JSON.
// Under mpirun, `train` splits the network's neurons over the ranks (the same answer as one rank's,
// sooner for wide networks) and rank 0 prints it.
#include <iostream>
#include <memory>

#include "cli/output.hpp"
#include "cli/problem_flags.hpp"
#include "commands/commands.hpp"
#include "parallel/mpi_reducer.hpp"
#include "sweep/mpi_env.hpp"

namespace absrep::cli {

void add_theory(CLI::App& app, Action& action) {
  struct State {
    ProblemFlags problem;
    bool json = false;
  };
  auto st = std::make_shared<State>();
  CLI::App* cmd = app.add_subcommand("theory", "the closed-form optimum (THEORY.md), where one exists");
  st->problem.add_to(*cmd);
  cmd->add_flag("--json", st->json, "print one JSON object");
  cmd->callback([st, &action] {
    action = [st] {
      const Report report = solve_theory(st->problem.to_spec());
      if (MpiEnvironment::rank() == 0) print_report(std::cout, report, st->json);
      return 0;
    };
  });
}

void add_train(CLI::App& app, Action& action) {
  struct State {
    ProblemFlags problem;
    std::string optimizer = "lbfgs";
    TrainOptions options;
    bool no_polish = false;
    bool json = false;
  };
  auto st = std::make_shared<State>();
  CLI::App* cmd = app.add_subcommand("train", "train a two-layer network to a true minimum and certify it");
  st->problem.add_to(*cmd);
  cmd->add_option("--optimizer", st->optimizer, "lbfgs | adam | gd")->capture_default_str()
      ->check(CLI::IsMember({"lbfgs", "adam", "gd"}));
  cmd->add_option("--lr", st->options.lr, "Adam/GD learning rate (default 1e-2)")->check(CLI::PositiveNumber);
  cmd->add_option("--max-iter", st->options.max_iter, "iteration limit")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--grad-tol", st->options.grad_tol, "stop at this stationarity (min-norm subgradient)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", st->options.seed, "initialisation seed")->capture_default_str();
  cmd->add_flag("--no-polish", st->no_polish, "skip the active-set polish for kinked activations");
  cmd->add_option("--init-scale", st->options.init_scale,
                  "scale of the initial weights (default 1; small: the rich, stage-like regime)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--record-every", st->options.record_every,
                  "record energy, PS and kernel every K optimiser iterations (JSON: trajectory)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", st->json, "print one JSON object");
  cmd->callback([st, &action] {
    action = [st] {
      st->options.optimizer = optimizer_from_string(st->optimizer);
      st->options.polish = !st->no_polish;
      const MpiReducer world(MPI_COMM_WORLD);
      const Report report = solve_train(st->problem.to_spec(), st->options, world);
      if (world.rank() == 0) print_report(std::cout, report, st->json);
      return 0;
    };
  });
}

}  // namespace absrep::cli
