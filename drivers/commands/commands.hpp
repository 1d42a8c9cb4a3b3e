// Subcommands of absrep. Each add_* registers its subcommand and flags on the app; when the
// subcommand is parsed, its callback stores in `action` what to run (returning the exit code).
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace absrep::cli {

using Action = std::function<int()>;

void add_theory(CLI::App& app, Action& action);
void add_train(CLI::App& app, Action& action);
void add_meanfield(CLI::App& app, Action& action);
void add_sweep(CLI::App& app, Action& action);
void add_inspect(CLI::App& app, Action& action);
void add_merge(CLI::App& app, Action& action);

}  // namespace absrep::cli
