// Study configs: axes and grids as the schema says, and every mistake reported at its line
// with the allowed values (DESIGN.md, "Config schema").
#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "io/config.hpp"

namespace absrep::io {
namespace {

const char* kValid = R"(study: alignment
seed: 3
problem:
  labels: 3
  alpha: 1.0
  beta: {geomspace: [0.0625, 16, 5]}
model:
  activation: [relu, tanh]
  width: 32
  lam: {linspace: [0.01, 0.03, 3]}
solvers:
  theory: {}
  train: {replicates: 4, grad_tol: 1.0e-9}
output:
  kernels: true
)";

TEST(Config, AxesGridAndUnits) {
  const LoadedConfig c = parse_config(kValid, "valid.yaml");
  const StudySpec& s = c.spec;
  EXPECT_EQ(s.study, "alignment");
  ASSERT_EQ(s.axes.size(), 3u);  // file order: beta, activation, lam
  EXPECT_EQ(s.axes[0].name, "beta");
  EXPECT_DOUBLE_EQ(s.axes[0].numbers.front(), 0.0625);
  EXPECT_DOUBLE_EQ(s.axes[0].numbers[2], 1.0);  // geometric midpoint of 1/16 and 16
  EXPECT_DOUBLE_EQ(s.axes[0].numbers.back(), 16.0);
  EXPECT_EQ(s.axes[1].labels, (std::vector<std::string>{"relu", "tanh"}));
  EXPECT_DOUBLE_EQ(s.axes[2].numbers[1], 0.02);
  const StudyGrid grid(s);
  EXPECT_EQ(grid.points(), 5u * 2u * 3u);
  EXPECT_EQ(enumerate_units(s, grid).size(), 30u * (1 + 4));
  const PointSpec last = grid.point(grid.points() - 1);
  EXPECT_DOUBLE_EQ(last.geometry.beta, 16.0);
  EXPECT_EQ(last.model.activation.name(), "tanh");
  EXPECT_DOUBLE_EQ(last.model.lam1, 0.03);
  EXPECT_DOUBLE_EQ(last.model.lam2, 0.03);
  EXPECT_EQ(last.model.width, 32);
  EXPECT_TRUE(s.store_kernels);
  EXPECT_EQ(s.solvers.train_options.grad_tol, 1e-9);
  EXPECT_EQ(c.sha256.size(), 64u);
}

TEST(Config, ZipMakesAxesVaryTogether) {
  const LoadedConfig c = parse_config(R"(problem:
  alpha: [1, 2, 4]
  beta: [4, 2, 1]
grid:
  zip: [[alpha, beta]]
solvers:
  theory: {}
)", "zip.yaml");
  const StudyGrid grid(c.spec);
  EXPECT_EQ(grid.points(), 3u);
  ASSERT_EQ(grid.dimensions().size(), 1u);
  EXPECT_DOUBLE_EQ(grid.point(2).geometry.alpha[0], 4.0);
  EXPECT_DOUBLE_EQ(grid.point(2).geometry.beta, 1.0);
}

TEST(Config, UnitSeedsDependOnPointAndReplicateOnly) {
  const LoadedConfig c = parse_config(kValid, "valid.yaml");
  const Unit a{SolverKind::train, 4, 1}, b{SolverKind::train, 4, 2};
  EXPECT_EQ(unit_seed(c.spec, a), unit_seed(c.spec, a));
  EXPECT_NE(unit_seed(c.spec, a), unit_seed(c.spec, b));
  EXPECT_LT(unit_seed(c.spec, a), std::uint64_t(1) << 53);  // exact in the archive's float64
}

// Each bad config: the message names file:line:column and the field.
struct Bad {
  const char* name;
  const char* text;
  const char* expect;  // substring of the message
};

class BadConfig : public ::testing::TestWithParam<Bad> {};

TEST_P(BadConfig, IsReportedAtItsLine) {
  const Bad b = GetParam();
  try {
    parse_config(b.text, "bad.yaml");
    FAIL() << b.name << ": accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(b.expect), std::string::npos) << b.name << ": " << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Mistakes, BadConfig,
    ::testing::Values(
        Bad{"syntax", "problem:\n  labels: [3, 4\nsolvers: {theory: {}}\n", "bad.yaml:3:"},
        Bad{"unknown_top_key", "problme:\n  labels: 3\nsolvers: {theory: {}}\n",
            "bad.yaml:1:1: problme: unknown key 'problme' (allowed: study, seed, problem, model, grid, solvers, output)"},
        Bad{"unknown_problem_key", "problem:\n  labelz: 3\nsolvers: {theory: {}}\n", "bad.yaml:2:3: problem.labelz: unknown key"},
        Bad{"wrong_type", "problem:\n  alpha: high\nsolvers: {theory: {}}\n", "bad.yaml:2:10: problem.alpha: must be a number"},
        Bad{"unknown_activation", "model:\n  activation: [relu, swish]\nsolvers: {theory: {}}\n",
            "bad.yaml:2:22: model.activation: unknown activation 'swish' (allowed: relu,"},
        Bad{"out_of_range", "problem:\n  gamma: 0.5\nsolvers: {theory: {}}\n", "bad.yaml:2:10: problem.gamma: gamma must be >="},
        Bad{"out_of_range_on_an_axis", "problem:\n  beta: [1, 0, 2]\nsolvers: {theory: {}}\n",
            "bad.yaml:2:9: problem.beta: beta must be positive"},
        Bad{"labels_too_few", "problem:\n  labels: 1\nsolvers: {theory: {}}\n", "bad.yaml:2:11: problem.labels:"},
        Bad{"unknown_solver", "solvers:\n  annealing: {}\n", "solvers.annealing: unknown key 'annealing' (allowed: theory, meanfield, train)"},
        Bad{"unknown_solver_option", "solvers:\n  train: {replicate: 3}\n", "bad.yaml:2:11: solvers.train.replicate: unknown key"},
        Bad{"bad_optimizer", "solvers:\n  train: {optimizer: sgd}\n", "solvers.train.optimizer: unknown optimizer 'sgd' (allowed: lbfgs, adam, gd)"},
        Bad{"no_solvers", "problem:\n  labels: 3\n", "solvers: no solvers"},
        Bad{"zip_lengths", "problem:\n  alpha: [1, 2]\n  beta: [1, 2, 3]\ngrid: {zip: [[alpha, beta]]}\nsolvers: {theory: {}}\n",
            "grid.zip: zipped axes must have equal lengths"},
        Bad{"zip_unknown_axis", "problem:\n  alpha: [1, 2]\ngrid: {zip: [[alpha, gamma]]}\nsolvers: {theory: {}}\n",
            "grid.zip: 'gamma' is not an axis"},
        Bad{"geomspace_nonpositive", "problem:\n  beta: {geomspace: [0, 1, 3]}\nsolvers: {theory: {}}\n",
            "problem.beta: geomspace needs positive endpoints"},
        Bad{"integer_width", "model:\n  width: 10.5\nsolvers: {theory: {}}\n", "bad.yaml:2:10: model.width: width must be an integer"}),
    [](const ::testing::TestParamInfo<Bad>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace absrep::io
