// absrep: the command-line front end (DESIGN.md, "CLI contract").
// Every failure becomes one line on stderr and an exit code: 2 bad input, 3 numerical
// failure, 4 I/O failure.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/output.hpp"
#include "cli/problem_flags.hpp"
#include "core/errors.hpp"
#include "study/point.hpp"

#ifndef ABSREP_VERSION
#define ABSREP_VERSION "0.0.0"
#endif

namespace {

int run(int argc, char** argv) {
  using namespace absrep;
  CLI::App app{"absrep — abstract representations in neural networks: closed-form theory, exact training,\n"
               "mean-field solutions with optimality certificates, and sweeps into HDF5 archives."};
  app.set_version_flag("--version", ABSREP_VERSION);
  app.require_subcommand(1);

  cli::ProblemFlags theory_flags, train_flags;
  bool json = false;

  CLI::App* theory = app.add_subcommand("theory", "the closed-form optimum (THEORY.md), where one exists");
  theory_flags.add_to(*theory);
  theory->add_flag("--json", json, "print one JSON object");

  CLI::App* train_cmd = app.add_subcommand("train", "train a network to a true minimum and certify it");
  train_flags.add_to(*train_cmd);
  std::string optimizer = "lbfgs";
  TrainOptions opt;
  bool no_polish = false;
  train_cmd->add_option("--optimizer", optimizer, "lbfgs | adam | gd")->capture_default_str()
      ->check(CLI::IsMember({"lbfgs", "adam", "gd"}));
  train_cmd->add_option("--lr", opt.lr, "Adam/GD learning rate (default 1e-2)")->check(CLI::PositiveNumber);
  train_cmd->add_option("--max-iter", opt.max_iter, "iteration limit")->capture_default_str()->check(CLI::NonNegativeNumber);
  train_cmd->add_option("--grad-tol", opt.grad_tol, "stop at this stationarity")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  train_cmd->add_option("--seed", opt.seed, "initialisation seed")->capture_default_str();
  train_cmd->add_flag("--no-polish", no_polish, "skip the active-set polish for kinked activations");
  train_cmd->add_flag("--json", json, "print one JSON object");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "absrep: error: " << e.what() << " (see --help)\n";
    return 2;
  }

  Report report;
  if (theory->parsed()) {
    report = solve_theory(theory_flags.to_spec());
  } else if (train_cmd->parsed()) {
    opt.optimizer = optimizer_from_string(optimizer);
    opt.polish = !no_polish;
    report = solve_train(train_flags.to_spec(), opt);
  }
  cli::print_report(std::cout, report, json);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const absrep::InputError& e) {
    std::cerr << "absrep: error: --" << e.field() << ": " << e.what() << '\n';
    return 2;
  } catch (const absrep::NumericalError& e) {
    std::cerr << "absrep: numerical failure: " << e.what() << '\n';
    return 3;
  } catch (const absrep::IoError& e) {
    std::cerr << "absrep: I/O failure: " << e.what() << '\n';
    return 4;
  } catch (const std::exception& e) {
    std::cerr << "absrep: internal error: " << e.what() << '\n';
    return 1;
  }
}
