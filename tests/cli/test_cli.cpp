// The CLI contract (DESIGN.md): JSON fields, exit codes, and one clear line for bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace {

struct CliRun {
  int code;
  std::string out, err;
};

CliRun run(const std::string& args) {
  static int calls = 0;  // ctest runs these tests in parallel processes: one file per call
  const std::string err_file = ::testing::TempDir() + "absrep_cli_stderr_" + std::to_string(getpid()) + "_" +
                               std::to_string(calls++) + ".txt";
  const std::string cmd = std::string(ABSREP_EXE) + " " + args + " 2>" + err_file;
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (std::size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int status = pclose(pipe);
  std::string err;
  if (FILE* f = fopen(err_file.c_str(), "r")) {
    while (std::size_t n = fread(buf.data(), 1, buf.size(), f)) err.append(buf.data(), n);
    fclose(f);
  }
  std::remove(err_file.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, err};
}

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

TEST(Cli, TrainJsonHasTheContractFields) {
  const CliRun r = run("train --labels 2 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"ps", "energy", "kernel", "kernel_rel_err", "kkt_min", "kkt_method", "status", "iterations",
                          "seconds", "stationarity"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["status"], "converged");
  EXPECT_EQ(j["kkt_method"], "exact");
  EXPECT_EQ(j["kernel"].size(), 4u);
  EXPECT_NEAR(j["ps"].get<double>(), 1.0, 1e-9);
}

TEST(Cli, TheoryJsonAddsCAndApplicability) {
  const CliRun ok = run("theory --json");
  ASSERT_EQ(ok.code, 0) << ok.err;
  const auto j = nlohmann::json::parse(ok.out);
  EXPECT_TRUE(j["applicable"].get<bool>());
  EXPECT_NEAR(j["c"].get<double>(), (std::sqrt(0.01 * 8 * 9 / (0.01 * 10)) - 0.01) / 8, 1e-14);
  const auto na = nlohmann::json::parse(run("theory --alpha 0.5 --beta 2 --json").out);
  EXPECT_FALSE(na["applicable"].get<bool>());
  EXPECT_TRUE(na["kernel_rel_err"].is_null());
}

TEST(Cli, HumanReadableTable) {
  const CliRun r = run("train --labels 2");
  ASSERT_EQ(r.code, 0);
  for (const char* row : {"PS", "energy", "KKT min", "status", "time"}) EXPECT_NE(r.out.find(row), std::string::npos) << row;
}

TEST(Cli, BadInputExitsTwoWithOneLineNamingTheFlag) {
  struct Case { const char* args; const char* flag; };
  for (const Case c : {Case{"train --labels 1", "--labels"}, Case{"train --gamma 0.5", "--gamma"},
                       Case{"train --beta 0", "--beta"}, Case{"train --activation swish", "--activation"},
                       Case{"train --width abc", "--width"}, Case{"train --input-dim 3", "--input-dim"},
                       Case{"train --optimizer sgd", "--optimizer"}, Case{"train --lr -1", "--lr"},
                       Case{"theory --lam1 0", "--lam1"}, Case{"train --nonsense", "--nonsense"}}) {
    const CliRun r = run(c.args);
    EXPECT_EQ(r.code, 2) << c.args;
    EXPECT_EQ(lines(r.err), 1) << c.args << ": " << r.err;
    EXPECT_NE(r.err.find(c.flag), std::string::npos) << c.args << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << c.args;
  }
}

TEST(Cli, HelpOnEverySubcommand) {
  for (const char* sub : {"", "theory", "train"}) {
    const CliRun r = run(std::string(sub) + " --help");
    EXPECT_EQ(r.code, 0) << sub;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub;
  }
}

}  // namespace
