// absrep: the command-line front end (DESIGN.md, "CLI contract").
// Every failure becomes one line on stderr and an exit code: 2 bad input, 3 numerical
// failure, 4 I/O failure, 1 anything unexpected.
#include <CLI/CLI.hpp>
#include <iostream>

#include "commands/commands.hpp"
#include "core/errors.hpp"
#include "sweep/mpi_env.hpp"

#ifndef ABSREP_VERSION
#define ABSREP_VERSION "0.0.0"
#endif

namespace {

// Errors print once, from rank 0 (every rank meets the same bad input).
int report(int code, const std::string& line) {
  if (absrep::cli::MpiEnvironment::rank() == 0) std::cerr << "absrep: " << line << '\n';
  return code;
}

int run(int argc, char** argv) {
  CLI::App app{"absrep — abstract representations in neural networks: closed-form theory, exact training,\n"
               "mean-field solutions with optimality certificates, and sweeps into HDF5 archives."};
  app.set_version_flag("--version", ABSREP_VERSION);
  app.require_subcommand(1);
  absrep::cli::Action action;
  absrep::cli::add_theory(app, action);
  absrep::cli::add_train(app, action);
  absrep::cli::add_meanfield(app, action);
  absrep::cli::add_sweep(app, action);
  absrep::cli::add_inspect(app, action);
  absrep::cli::add_merge(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report(2, std::string("error: ") + e.what() + " (see --help)");
  }
  return action ? action() : 0;
}

}  // namespace

int main(int argc, char** argv) {
  absrep::cli::MpiEnvironment mpi(argc, argv);
  try {
    return run(argc, argv);
  } catch (const absrep::ConfigError& e) {
    return report(2, std::string("error: ") + e.what());
  } catch (const absrep::InputError& e) {
    return report(2, "error: --" + e.field() + ": " + e.what());
  } catch (const absrep::NumericalError& e) {
    return report(3, std::string("numerical failure: ") + e.what());
  } catch (const absrep::IoError& e) {
    return report(4, std::string("I/O failure: ") + e.what());
  } catch (const std::exception& e) {
    return report(1, std::string("internal error: ") + e.what());
  }
}
