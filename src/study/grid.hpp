// A study: a base point, the axes that vary over it, the solvers to run at every point, and
// the work units that come out of it (DESIGN.md, "Data flow"). Pure data and arithmetic: the
// YAML front end is io/config, the scheduler drivers/sweep.
//
// Axes appear in file order. Axes in one zip group vary together and form one grid dimension
// (named after the group's first axis); the others form one dimension each; the grid is the
// Cartesian product of the dimensions, the last varying fastest.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "meanfield/solver.hpp"
#include "study/point.hpp"
#include "train/trainer.hpp"

namespace absrep {

struct StudyAxis {
  std::string name;                  // a point key: alpha, beta, activation, lam, ...
  std::vector<double> numbers;       // numeric axis
  std::vector<std::string> labels;   // string axis (activation, geometry, optimizer)
  bool is_string() const { return !labels.empty(); }
  std::size_t size() const { return is_string() ? labels.size() : numbers.size(); }
};

// Sets one point key on a spec; throws InputError(name) for unknown keys or bad values.
void set_point_value(PointSpec& spec, const std::string& name, double number);
void set_point_value(PointSpec& spec, const std::string& name, const std::string& label);
bool is_string_key(const std::string& name);
const std::vector<std::string>& point_keys();  // every key an axis may vary

enum class SolverKind { theory = 0, meanfield = 1, train = 2 };
std::string to_string(SolverKind s);

struct SolverPlan {
  bool theory = false, meanfield = false, train = false;
  MeanfieldOptions meanfield_options;
  TrainOptions train_options;
  int replicates = 1;
  int ranks_per_unit = 1;  // > 1: each training unit's neurons are split over a group of ranks
};

struct StudySpec {
  std::string study = "study";
  std::uint64_t seed = 0;
  PointSpec base;
  std::vector<StudyAxis> axes;
  std::vector<std::vector<std::size_t>> zip;  // groups of axis indices that vary together
  SolverPlan solvers;
  bool store_kernels = false;
};

// One grid dimension: the axes it carries (one, or a zip group).
struct GridDimension {
  std::string name;
  std::vector<std::size_t> axes;
  std::size_t size = 1;
};

class StudyGrid {
 public:
  explicit StudyGrid(const StudySpec& spec);  // throws InputError on inconsistent zips
  const std::vector<GridDimension>& dimensions() const { return dims_; }
  std::size_t points() const { return points_; }
  std::vector<std::size_t> index_of(std::size_t point) const;  // one index per dimension
  PointSpec point(std::size_t point) const;  // the base with every axis value applied

 private:
  const StudySpec& spec_;
  std::vector<GridDimension> dims_;
  std::size_t points_ = 1;
};

// A unit of work: one solver at one point (and one replicate, for training).
struct Unit {
  SolverKind solver;
  std::size_t point;
  int replicate;
  bool operator==(const Unit&) const = default;
};

// Every unit of a study, in a fixed order (point-major, then solver, then replicate).
std::vector<Unit> enumerate_units(const StudySpec& spec, const StudyGrid& grid);
// The seed of a unit depends on (base seed, point, replicate) only: results do not depend on
// the number of ranks or on the order in which units finish.
std::uint64_t unit_seed(const StudySpec& spec, const Unit& unit);

// Runs one unit; numerical trouble and invalid points come back as a Report status.
// `ranks` splits a training unit's neurons (the same Report on any number of ranks).
Report run_unit(const StudySpec& spec, const StudyGrid& grid, const Unit& unit, const Reducer& ranks = serial_reducer());

}  // namespace absrep
