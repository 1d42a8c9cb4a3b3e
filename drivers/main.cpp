// absrep: the command-line front end (DESIGN.md, "CLI contract").
// Every failure becomes one line on stderr and an exit code: 2 bad input, 3 numerical
// failure, 4 I/O failure, 1 anything unexpected.
#include <CLI/CLI.hpp>
#include <iostream>

#include "commands/commands.hpp"
#include "core/errors.hpp"

#ifndef ABSREP_VERSION
#define ABSREP_VERSION "0.0.0"
#endif

namespace {

int run(int argc, char** argv) {
  CLI::App app{"absrep — abstract representations in neural networks: closed-form theory, exact training,\n"
               "mean-field solutions with optimality certificates, and sweeps into HDF5 archives."};
  app.set_version_flag("--version", ABSREP_VERSION);
  app.require_subcommand(1);
  absrep::cli::Action action;
  absrep::cli::add_theory(app, action);
  absrep::cli::add_train(app, action);
  absrep::cli::add_meanfield(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "absrep: error: " << e.what() << " (see --help)\n";
    return 2;
  }
  return action ? action() : 0;
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
