// The problem flags shared by every solver subcommand (DESIGN.md, "CLI contract").
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "study/point.hpp"

namespace absrep::cli {

// Raw flag values, bound to CLI11 options; to_spec() turns them into a validated PointSpec.
struct ProblemFlags {
  int labels = 3;
  int per_class = 1;
  std::vector<double> label_scales;
  std::string geometry = "aligned";
  std::vector<double> alpha = {1.0};
  double beta = 1.0;
  std::optional<double> gamma;
  double within_corr = 0.0;
  std::optional<int> input_dim;
  std::uint64_t rotation_seed = 0;
  std::string activation = "relu";
  int width = 64;
  int depth = 1;
  double lam1 = 0.01, lam2 = 0.01;
  std::optional<double> lam;

  void add_to(CLI::App& app);
  PointSpec to_spec() const;
};

}  // namespace absrep::cli
