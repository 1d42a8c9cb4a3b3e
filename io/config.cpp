#include "io/config.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "core/errors.hpp"
#include "io/sha256.hpp"

namespace absrep::io {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ", ") + i;
  return s;
}

// Walks the YAML tree, remembering where every point key was written so that errors found
// later (an invalid grid point) still point at the line.
class Reader {
 public:
  explicit Reader(std::string name) : name_(std::move(name)) {}

  [[noreturn]] void fail(const YAML::Mark& at, const std::string& field, const std::string& message) const {
    std::ostringstream s;
    s << name_ << ':' << at.line + 1 << ':' << at.column + 1 << ": " << field << ": " << message;
    throw ConfigError(field, s.str());
  }
  [[noreturn]] void fail(const YAML::Node& at, const std::string& field, const std::string& message) const {
    fail(at.Mark(), field, message);
  }

  void check_keys(const YAML::Node& map, const std::string& section, const std::vector<std::string>& allowed) const {
    if (!map.IsMap()) fail(map, section, "must be a mapping with keys: " + join(allowed));
    for (const auto& kv : map) {
      const std::string key = kv.first.as<std::string>();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail(kv.first, section.empty() ? key : section + "." + key,
             "unknown key '" + key + "' (allowed: " + join(allowed) + ")");
    }
  }

  double number(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) fail(n, field, "must be a number");
    try {
      const double v = n.as<double>();
      if (!std::isfinite(v)) fail(n, field, "must be finite");
      return v;
    } catch (const YAML::BadConversion&) {
      fail(n, field, "must be a number, got '" + n.Scalar() + "'");
    }
  }
  long integer(const YAML::Node& n, const std::string& field, long min) const {
    const double v = number(n, field);
    if (v != std::round(v)) fail(n, field, "must be an integer, got " + n.Scalar());
    if (v < min) fail(n, field, "must be >= " + std::to_string(min) + ", got " + n.Scalar());
    return static_cast<long>(v);
  }
  bool boolean(const YAML::Node& n, const std::string& field) const {
    try {
      return n.as<bool>();
    } catch (const YAML::BadConversion&) {
      fail(n, field, "must be true or false");
    }
  }
  std::string text(const YAML::Node& n, const std::string& field) const {
    if (!n.IsScalar()) fail(n, field, "must be a string");
    return n.Scalar();
  }

  // A point key's value: a scalar (fixed) or an axis.
  void point_value(const YAML::Node& n, const std::string& section, const std::string& key, StudySpec& spec) {
    const std::string field = section + "." + key;
    where_[key] = n.Mark();
    fields_[key] = field;
    const bool strings = is_string_key(key);
    if (key == "gamma" || key == "input_dim") {
      if (n.IsScalar() && n.Scalar() == "auto") return;  // the default
    }
    auto apply = [&](const YAML::Node& v, auto&& value) {
      try {
        PointSpec probe = spec.base;
        set_point_value(probe, key, value);
        return value;
      } catch (const InputError& e) {
        fail(v, field, e.what());
      }
    };
    if (n.IsScalar()) {
      if (strings)
        set_point_value(spec.base, key, apply(n, text(n, field)));
      else
        set_point_value(spec.base, key, apply(n, number(n, field)));
      return;
    }
    StudyAxis axis{key, {}, {}};
    if (n.IsSequence()) {
      if (n.size() == 0) fail(n, field, "an axis needs at least one value");
      for (const auto& v : n) {
        if (strings)
          axis.labels.push_back(apply(v, text(v, field)));
        else
          axis.numbers.push_back(apply(v, number(v, field)));
      }
    } else if (n.IsMap() && !strings) {
      check_keys(n, field, {"linspace", "geomspace"});
      if (n.size() != 1) fail(n, field, "give one of linspace or geomspace");
      const auto kv = *n.begin();
      const std::string kind = kv.first.as<std::string>();
      const YAML::Node& args = kv.second;
      if (!args.IsSequence() || args.size() != 3) fail(args, field, kind + " takes [start, stop, count]");
      const double a = number(args[0], field), b = number(args[1], field);
      const long count = integer(args[2], field, 1);
      if (kind == "geomspace" && !(a > 0 && b > 0)) fail(args, field, "geomspace needs positive endpoints");
      for (long i = 0; i < count; ++i) {
        const double t = count == 1 ? 0.0 : double(i) / double(count - 1);
        const double v = kind == "linspace" ? a + t * (b - a) : a * std::pow(b / a, t);
        axis.numbers.push_back(apply(args, i == count - 1 ? b : v));  // the endpoint exactly
      }
    } else {
      fail(n, field, strings ? "must be a name or a list of names" : "must be a number, a list, {linspace: [a, b, n]} or {geomspace: [a, b, n]}");
    }
    spec.axes.push_back(std::move(axis));
  }

  const YAML::Mark& where(const std::string& key) const { return where_.at(key); }
  bool knows(const std::string& key) const { return where_.count(key) > 0; }
  const std::string& field(const std::string& key) const { return fields_.at(key); }

 private:
  std::string name_;
  std::map<std::string, YAML::Mark> where_;
  std::map<std::string, std::string> fields_;
};

void read_problem(Reader& r, const YAML::Node& n, StudySpec& spec) {
  const std::vector<std::string> keys = {"labels",    "per_class", "geometry",      "alpha",       "beta", "gamma",
                                         "within_corr", "input_dim", "rotation_seed", "label_scales"};
  r.check_keys(n, "problem", keys);
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    if (key == "label_scales") {
      if (!kv.second.IsSequence()) r.fail(kv.second, "problem.label_scales", "must be a list, one scale per label");
      for (const auto& v : kv.second) spec.base.task.label_scales.push_back(r.number(v, "problem.label_scales"));
      continue;
    }
    r.point_value(kv.second, "problem", key, spec);
  }
}

void read_model(Reader& r, const YAML::Node& n, StudySpec& spec) {
  r.check_keys(n, "model", {"activation", "width", "depth", "lam1", "lam2", "lam"});
  for (const auto& kv : n) r.point_value(kv.second, "model", kv.first.as<std::string>(), spec);
}

void read_solvers(Reader& r, const YAML::Node& n, StudySpec& spec) {
  r.check_keys(n, "solvers", {"theory", "meanfield", "train"});
  SolverPlan& plan = spec.solvers;
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& opts = kv.second.IsNull() ? YAML::Node(YAML::NodeType::Map) : kv.second;
    const std::string field = "solvers." + key;
    if (key == "theory") {
      r.check_keys(opts, field, {});
      plan.theory = true;
    } else if (key == "meanfield") {
      r.check_keys(opts, field, {"tol", "max_iter"});
      plan.meanfield = true;
      if (opts["tol"]) plan.meanfield_options.tol = r.number(opts["tol"], field + ".tol");
      if (opts["max_iter"]) plan.meanfield_options.max_iter = static_cast<int>(r.integer(opts["max_iter"], field + ".max_iter", 1));
    } else {
      r.check_keys(opts, field, {"replicates", "optimizer", "max_iter", "grad_tol", "lr", "polish", "ranks_per_unit", "record_every", "init_scale"});
      plan.train = true;
      TrainOptions& t = plan.train_options;
      if (opts["replicates"]) plan.replicates = static_cast<int>(r.integer(opts["replicates"], field + ".replicates", 1));
      if (opts["optimizer"]) {
        try {
          t.optimizer = optimizer_from_string(r.text(opts["optimizer"], field + ".optimizer"));
        } catch (const InputError& e) {
          r.fail(opts["optimizer"], field + ".optimizer", e.what());
        }
      }
      if (opts["max_iter"]) t.max_iter = static_cast<int>(r.integer(opts["max_iter"], field + ".max_iter", 0));
      if (opts["grad_tol"]) t.grad_tol = r.number(opts["grad_tol"], field + ".grad_tol");
      if (opts["lr"]) t.lr = r.number(opts["lr"], field + ".lr");
      if (opts["polish"]) t.polish = r.boolean(opts["polish"], field + ".polish");
      if (opts["init_scale"]) {
        t.init_scale = r.number(opts["init_scale"], field + ".init_scale");
        if (t.init_scale <= 0) r.fail(opts["init_scale"], field + ".init_scale", "must be positive");
      }
      if (opts["record_every"])
        t.record_every = static_cast<int>(r.integer(opts["record_every"], field + ".record_every", 1));
      if (opts["ranks_per_unit"])
        plan.ranks_per_unit = static_cast<int>(r.integer(opts["ranks_per_unit"], field + ".ranks_per_unit", 1));
    }
  }
}

void read_grid(Reader& r, const YAML::Node& n, StudySpec& spec) {
  r.check_keys(n, "grid", {"zip"});
  const YAML::Node& zip = n["zip"];
  if (!zip) return;
  if (!zip.IsSequence()) r.fail(zip, "grid.zip", "must be a list of lists of axis names, e.g. [[alpha, beta]]");
  for (const auto& group : zip) {
    if (!group.IsSequence() || group.size() < 2) r.fail(group, "grid.zip", "each group lists two or more axes");
    std::vector<std::size_t> members;
    for (const auto& name : group) {
      const std::string axis = r.text(name, "grid.zip");
      auto it = std::find_if(spec.axes.begin(), spec.axes.end(), [&](const StudyAxis& a) { return a.name == axis; });
      if (it == spec.axes.end()) r.fail(name, "grid.zip", "'" + axis + "' is not an axis (give it a list of values)");
      members.push_back(static_cast<std::size_t>(it - spec.axes.begin()));
    }
    spec.zip.push_back(members);
  }
}

// Every grid point must be a valid problem: an invalid one is reported at its key's line.
void check_points(const Reader& r, const StudySpec& spec, const YAML::Node& root) {
  StudyGrid grid(spec);
  for (std::size_t p = 0; p < grid.points(); ++p) {
    PointSpec point;
    try {
      point = grid.point(p);
      build_problem(point);
    } catch (const InputError& e) {
      std::string key = e.field();
      std::replace(key.begin(), key.end(), '-', '_');
      std::string where;
      const auto idx = grid.index_of(p);
      for (std::size_t d = 0; d < idx.size(); ++d)
        for (std::size_t a : grid.dimensions()[d].axes) {
          const StudyAxis& ax = spec.axes[a];
          where += (where.empty() ? "" : ", ") + ax.name + "=" +
                   (ax.is_string() ? ax.labels[idx[d]] : std::to_string(ax.numbers[idx[d]]));
        }
      const std::string message = std::string(e.what()) + (where.empty() ? "" : " (at grid point " + where + ")");
      if (r.knows(key)) r.fail(r.where(key), r.field(key), message);
      if (key == "lam1" || key == "lam2") {
        if (r.knows("lam")) r.fail(r.where("lam"), r.field("lam"), message);
      }
      r.fail(root.Mark(), key, message + " (the default value)");
    }
  }
}

}  // namespace

LoadedConfig parse_config(const std::string& text, const std::string& name) {
  Reader r(name);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    r.fail(e.mark, "syntax", e.msg);
  }
  if (!root.IsMap()) r.fail(root, "config", "must be a mapping (study, seed, problem, model, grid, solvers, output)");
  r.check_keys(root, "", {"study", "seed", "problem", "model", "grid", "solvers", "output"});
  LoadedConfig out;
  StudySpec& spec = out.spec;
  spec.base.geometry.kind = GeometryKind::aligned;  // α = β = 1 by default: whitened
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "study") spec.study = r.text(v, "study");
    else if (key == "seed") spec.seed = static_cast<std::uint64_t>(r.integer(v, "seed", 0));
    else if (key == "problem") read_problem(r, v, spec);
    else if (key == "model") read_model(r, v, spec);
    else if (key == "solvers") read_solvers(r, v, spec);
    else if (key == "output") {
      r.check_keys(v, "output", {"kernels"});
      if (v["kernels"]) spec.store_kernels = r.boolean(v["kernels"], "output.kernels");
    }
  }
  if (root["grid"]) read_grid(r, root["grid"], spec);
  if (!root["solvers"]) r.fail(root.Mark(), "solvers", "no solvers: give at least one of theory, meanfield, train");
  try {
    StudyGrid grid(spec);
  } catch (const InputError& e) {
    r.fail(root["grid"].Mark(), "grid.zip", e.what());
  }
  check_points(r, spec, root);
  out.text = text;
  out.sha256 = sha256_hex(text);
  return out;
}

LoadedConfig load_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("config", path.string() + ": cannot read the config file");
  std::ostringstream s;
  s << in.rdbuf();
  return parse_config(s.str(), path.string());
}

}  // namespace absrep::io
