#include "study/grid.hpp"

#include <algorithm>
#include <cmath>

#include "core/errors.hpp"
#include "core/random.hpp"

namespace absrep {

namespace {

int as_int(const std::string& name, double v) {
  require(std::isfinite(v) && v == std::round(v), name.c_str(), name + " must be an integer, got " + std::to_string(v));
  return static_cast<int>(v);
}

}  // namespace

const std::vector<std::string>& point_keys() {
  static const std::vector<std::string> keys = {"labels", "per_class", "geometry",   "alpha",     "beta",
                                                "gamma",  "within_corr", "input_dim", "rotation_seed",
                                                "activation", "width",  "depth",      "lam1",      "lam2", "lam"};
  return keys;
}

bool is_string_key(const std::string& name) { return name == "geometry" || name == "activation"; }

void set_point_value(PointSpec& s, const std::string& name, double v) {
  if (name == "labels") s.task.labels = as_int(name, v);
  else if (name == "per_class") s.task.per_class = as_int(name, v);
  else if (name == "alpha") s.geometry.alpha = {v};
  else if (name == "beta") s.geometry.beta = v;
  else if (name == "gamma") s.geometry.gamma = v;
  else if (name == "within_corr") s.geometry.within_corr = v;
  else if (name == "input_dim") s.geometry.input_dim = as_int(name, v);
  else if (name == "rotation_seed") s.geometry.rotation_seed = static_cast<std::uint64_t>(as_int(name, v));
  else if (name == "width") s.model.width = as_int(name, v);
  else if (name == "depth") s.model.depth = as_int(name, v);
  else if (name == "lam1") s.model.lam1 = v;
  else if (name == "lam2") s.model.lam2 = v;
  else if (name == "lam") s.model.lam1 = s.model.lam2 = v;
  else throw InputError(name, "'" + name + "' is not a numeric point key");
  // Choosing α or β means choosing the aligned family, not the whitened preset.
  if ((name == "alpha" || name == "beta" || name == "within_corr") && s.geometry.kind == GeometryKind::whitened)
    s.geometry.kind = GeometryKind::aligned;
}

void set_point_value(PointSpec& s, const std::string& name, const std::string& label) {
  if (name == "activation") s.model.activation = Activation::from_name(label);
  else if (name == "geometry") s.geometry.kind = geometry_from_string(label);
  else throw InputError(name, "'" + name + "' is not a string point key");
}

std::string to_string(SolverKind s) {
  switch (s) {
    case SolverKind::theory: return "theory";
    case SolverKind::meanfield: return "meanfield";
    case SolverKind::train: return "train";
  }
  return "?";
}

StudyGrid::StudyGrid(const StudySpec& spec) : spec_(spec) {
  std::vector<int> group_of(spec.axes.size(), -1);
  for (std::size_t g = 0; g < spec.zip.size(); ++g)
    for (std::size_t a : spec.zip[g]) {
      require(a < spec.axes.size(), "zip", "zip names an axis that does not exist");
      require(group_of[a] < 0, "zip", "axis '" + spec.axes[a].name + "' appears in two zip groups");
      group_of[a] = static_cast<int>(g);
      require(spec.axes[a].size() == spec.axes[spec.zip[g][0]].size(), "zip",
              "zipped axes must have equal lengths ('" + spec.axes[a].name + "' has " +
                  std::to_string(spec.axes[a].size()) + ", '" + spec.axes[spec.zip[g][0]].name + "' has " +
                  std::to_string(spec.axes[spec.zip[g][0]].size()) + ")");
    }
  // Dimensions in the order their first axis appears in the file.
  std::vector<bool> placed(spec.zip.size(), false);
  for (std::size_t a = 0; a < spec.axes.size(); ++a) {
    if (group_of[a] < 0) {
      dims_.push_back({spec.axes[a].name, {a}, spec.axes[a].size()});
    } else if (!placed[group_of[a]]) {
      placed[group_of[a]] = true;
      const auto& members = spec.zip[group_of[a]];
      dims_.push_back({spec.axes[members[0]].name, members, spec.axes[members[0]].size()});
    }
  }
  for (const auto& d : dims_) points_ *= d.size;
}

std::vector<std::size_t> StudyGrid::index_of(std::size_t point) const {
  std::vector<std::size_t> idx(dims_.size());
  for (std::size_t d = dims_.size(); d-- > 0;) {
    idx[d] = point % dims_[d].size;
    point /= dims_[d].size;
  }
  return idx;
}

PointSpec StudyGrid::point(std::size_t point) const {
  PointSpec s = spec_.base;
  const auto idx = index_of(point);
  for (std::size_t d = 0; d < dims_.size(); ++d)
    for (std::size_t a : dims_[d].axes) {
      const StudyAxis& axis = spec_.axes[a];
      if (axis.is_string())
        set_point_value(s, axis.name, axis.labels[idx[d]]);
      else
        set_point_value(s, axis.name, axis.numbers[idx[d]]);
    }
  return s;
}

std::vector<Unit> enumerate_units(const StudySpec& spec, const StudyGrid& grid) {
  std::vector<Unit> units;
  for (std::size_t p = 0; p < grid.points(); ++p) {
    if (spec.solvers.theory) units.push_back({SolverKind::theory, p, 0});
    if (spec.solvers.meanfield) units.push_back({SolverKind::meanfield, p, 0});
    if (spec.solvers.train)
      for (int r = 0; r < spec.solvers.replicates; ++r) units.push_back({SolverKind::train, p, r});
  }
  return units;
}

std::uint64_t unit_seed(const StudySpec& spec, const Unit& unit) {
  // 53 bits, so the archive's float64 `seed` holds it exactly.
  return derive_seed(spec.seed, {static_cast<std::uint64_t>(unit.point), static_cast<std::uint64_t>(unit.replicate)}) &
         ((std::uint64_t(1) << 53) - 1);
}

Report run_unit(const StudySpec& spec, const StudyGrid& grid, const Unit& unit, const Reducer& ranks) {
  try {
    const PointSpec point = grid.point(unit.point);
    switch (unit.solver) {
      case SolverKind::theory: return solve_theory(point);
      case SolverKind::meanfield: {
        MeanfieldOptions opt = spec.solvers.meanfield_options;
        opt.seed = unit_seed(spec, unit);
        Report r = solve_meanfield(point, opt);
        r.seed = opt.seed;
        return r;
      }
      case SolverKind::train: {
        TrainOptions opt = spec.solvers.train_options;
        opt.seed = unit_seed(spec, unit);
        return solve_train(point, opt, ranks);
      }
    }
  } catch (const std::exception& e) {
    // A point the solver cannot take is a result, not the end of the sweep.
    Report r;
    r.solver = to_string(unit.solver);
    r.status = Status::invalid;
    r.note = e.what();
    return r;
  }
  return {};
}

}  // namespace absrep
