#include "io/sweep_archive.hpp"

#include <cmath>
#include <limits>
#include <map>

#include "core/errors.hpp"

namespace absrep::io {

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json num(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }
double get(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : kNaN;
}

// The scalar variables of each solver's group, read from a Report.
struct Column {
  const char* name;
  const char* description;
  double (*value)(const Report&);
};

double opt(const std::optional<double>& x) { return x ? *x : kNaN; }

const std::vector<Column>& columns(SolverKind s) {
  static const std::vector<Column> common = {
      {"ps", "parallelism score (mean over labels)", [](const Report& r) { return r.ps; }},
      {"energy", "loss / effective energy at the solution (THEORY.md normalisation)", [](const Report& r) { return r.energy; }},
      {"kernel_rel_err", "||K - K*||_F / ||K*||_F against the closed form", [](const Report& r) { return opt(r.kernel_rel_err); }},
      {"energy_rel_gap", "(E - E*) / |E*| against the closed form", [](const Report& r) { return opt(r.energy_rel_gap); }},
      {"kkt_min", "min over h of e(h) / (lam1/2 h'Kx+h): >= 0 certifies a global minimum", [](const Report& r) { return r.kkt_min; }},
      {"kkt_exact", "1 if kkt_min is exact (pattern enumeration), 0 if from local search", [](const Report& r) { return r.kkt_method.empty() ? kNaN : double(r.kkt_method == "exact"); }},
      {"participation_ratio", "effective dimension of the centred kernel", [](const Report& r) { return r.participation_ratio; }},
      {"iterations", "solver iterations", [](const Report& r) { return double(r.iterations); }},
      {"seconds", "wall time of the unit", [](const Report& r) { return r.seconds; }}};
  static const std::vector<Column> theory = [] {
    auto c = common;
    c.push_back({"c", "kernel coefficient of the closed form", [](const Report& r) { return opt(r.c); }});
    return c;
  }();
  static const std::vector<Column> meanfield = [] {
    auto c = common;
    c.push_back({"seed", "seed of the oracle's local search (from base seed and point)", [](const Report& r) { return double(r.seed); }});
    return c;
  }();
  static const std::vector<Column> train = [] {
    auto c = common;
    c.push_back({"stationarity", "norm of the minimum-norm Clarke subgradient", [](const Report& r) { return opt(r.stationarity); }});
    c.push_back({"seed", "initialisation seed (from base seed, point, replicate)", [](const Report& r) { return double(r.seed); }});
    c.push_back({"fraction_single_label", "active neurons responding to one label only", [](const Report& r) { return r.selectivity ? r.selectivity->fraction_single : kNaN; }});
    return c;
  }();
  switch (s) {
    case SolverKind::theory: return theory;
    case SolverKind::meanfield: return meanfield;
    case SolverKind::train: return train;
  }
  return common;
}

}  // namespace

Slab parse_slab(std::string_view text, const std::string& field) {
  const std::string t(text);
  const auto slash = t.find('/');
  auto number = [&](const std::string& part, std::size_t& out) {
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos || part.size() > 9) return false;
    out = std::stoul(part);
    return true;
  };
  Slab s;
  if (slash == std::string::npos || !number(t.substr(0, slash), s.index) || !number(t.substr(slash + 1), s.count) ||
      s.count == 0 || s.index >= s.count)
    throw InputError(field, "'" + t + "' is not a slab i/k with 0 <= i < k (e.g. 0/4)");
  return s;
}

std::uint8_t archive_status(const Report& r) { return static_cast<std::uint8_t>(r.status); }

nlohmann::json to_record(const Unit& unit, const Report& r, bool with_kernel) {
  nlohmann::json j;
  j["type"] = "unit";
  j["solver"] = to_string(unit.solver);
  j["point"] = unit.point;
  j["replicate"] = unit.replicate;
  j["status"] = static_cast<int>(r.status);
  if (!r.note.empty()) j["note"] = r.note;
  j["ps"] = num(r.ps);
  nlohmann::json per = nlohmann::json::array();
  for (double v : r.ps_per_label) per.push_back(num(v));
  j["ps_per_label"] = per;
  j["energy"] = num(r.energy);
  if (r.kernel_rel_err) j["kernel_rel_err"] = num(*r.kernel_rel_err);
  if (r.energy_rel_gap) j["energy_rel_gap"] = num(*r.energy_rel_gap);
  j["kkt_min"] = num(r.kkt_min);
  j["kkt_method"] = r.kkt_method;
  j["participation_ratio"] = num(r.participation_ratio);
  j["iterations"] = r.iterations;
  j["seconds"] = r.seconds;
  if (r.c) j["c"] = num(*r.c);
  if (r.stationarity) j["stationarity"] = num(*r.stationarity);
  if (r.selectivity) j["fraction_single_label"] = num(r.selectivity->fraction_single);
  j["seed"] = r.seed;
  if (with_kernel && r.kernel.size()) {
    std::vector<double> k(r.kernel.data(), r.kernel.data() + r.kernel.size());  // symmetric: layout-free
    j["kernel"] = k;
  }
  if (!r.trajectory_iteration.empty()) {
    nlohmann::json t;
    t["iteration"] = r.trajectory_iteration;
    nlohmann::json energy = nlohmann::json::array(), ps = nlohmann::json::array();
    for (std::size_t i = 0; i < r.trajectory_iteration.size(); ++i) {
      energy.push_back(num(r.trajectory_energy[i]));
      ps.push_back(num(r.trajectory_ps[i]));
    }
    t["energy"] = energy;
    t["ps"] = ps;
    if (with_kernel) {
      nlohmann::json kernels = nlohmann::json::array();
      for (const auto& K : r.trajectory_kernel) kernels.push_back(std::vector<double>(K.data(), K.data() + K.size()));
      t["kernel"] = kernels;
    }
    j["trajectory"] = t;
  }
  return j;
}

UnitRecord from_record(const nlohmann::json& j) {
  try {
    UnitRecord u;
    const std::string solver = j.at("solver").get<std::string>();
    u.unit.solver = solver == "theory" ? SolverKind::theory : solver == "meanfield" ? SolverKind::meanfield : SolverKind::train;
    u.unit.point = j.at("point").get<std::size_t>();
    u.unit.replicate = j.at("replicate").get<int>();
    Report& r = u.report;
    r.solver = solver;
    r.status = static_cast<Status>(j.at("status").get<int>());
    r.note = j.value("note", "");
    r.ps = get(j, "ps");
    for (const auto& v : j.at("ps_per_label")) r.ps_per_label.push_back(v.is_number() ? v.get<double>() : kNaN);
    r.energy = get(j, "energy");
    if (j.contains("kernel_rel_err")) r.kernel_rel_err = get(j, "kernel_rel_err");
    if (j.contains("energy_rel_gap")) r.energy_rel_gap = get(j, "energy_rel_gap");
    r.kkt_min = get(j, "kkt_min");
    r.kkt_method = j.value("kkt_method", "");
    r.participation_ratio = get(j, "participation_ratio");
    r.iterations = j.at("iterations").get<int>();
    r.seconds = j.at("seconds").get<double>();
    if (j.contains("c")) r.c = get(j, "c");
    if (j.contains("stationarity")) r.stationarity = get(j, "stationarity");
    if (j.contains("fraction_single_label")) r.selectivity = Selectivity{0, 0, 0, get(j, "fraction_single_label")};
    r.seed = j.at("seed").get<std::uint64_t>();
    auto square = [](const std::vector<double>& k) -> Eigen::MatrixXd {
      const auto P = static_cast<Eigen::Index>(std::llround(std::sqrt(double(k.size()))));
      return Eigen::Map<const Eigen::MatrixXd>(k.data(), P, P);
    };
    if (j.contains("kernel")) r.kernel = square(j["kernel"].get<std::vector<double>>());
    if (j.contains("trajectory")) {
      const auto& t = j["trajectory"];
      r.trajectory_iteration = t.at("iteration").get<std::vector<int>>();
      for (const auto& v : t.at("energy")) r.trajectory_energy.push_back(v.is_number() ? v.get<double>() : kNaN);
      for (const auto& v : t.at("ps")) r.trajectory_ps.push_back(v.is_number() ? v.get<double>() : kNaN);
      if (t.contains("kernel"))
        for (const auto& k : t["kernel"]) r.trajectory_kernel.push_back(square(k.get<std::vector<double>>()));
    }
    return u;
  } catch (const nlohmann::json::exception& e) {
    throw IoError(std::string("malformed unit record in the journal: ") + e.what());
  }
}

namespace {

// K into the samples×samples slot `slot` of a kernel variable. Kernels of smaller tasks (an axis
// over labels) fill the top-left block; the rest stays NaN.
void place_kernel(std::vector<double>& out, std::size_t slot, int samples, const Eigen::MatrixXd& K) {
  for (Eigen::Index i = 0; i < K.rows(); ++i)
    for (Eigen::Index j = 0; j < K.cols(); ++j) out[(slot * samples + i) * samples + j] = K(i, j);
}

// The learning trajectories along an `iteration` axis (0, k, 2k, … up to max_iter); a run that
// stopped earlier leaves NaN after its last recorded iteration.
template <class CellOf>
void add_trajectory(Group& g, const std::vector<std::string>& dims, std::size_t cells, int samples,
                    const StudySpec& spec, const std::vector<UnitRecord>& records, const CellOf& cell_of) {
  const TrainOptions& t = spec.solvers.train_options;
  const std::size_t steps = static_cast<std::size_t>(t.max_iter / t.record_every) + 1;
  std::vector<double> iteration(steps);
  for (std::size_t i = 0; i < steps; ++i) iteration[i] = static_cast<double>(i * t.record_every);
  g.axes.push_back(Axis::numeric("iteration", iteration));
  std::vector<double> energy(cells * steps, kNaN), ps(cells * steps, kNaN), kernel;
  const bool kernels = spec.store_kernels && samples;
  if (kernels) kernel.assign(cells * steps * samples * samples, kNaN);
  for (const auto& rec : records) {
    if (rec.unit.solver != SolverKind::train) continue;
    const std::size_t c = cell_of(rec.unit);
    const Report& r = rec.report;
    for (std::size_t k = 0; k < r.trajectory_iteration.size(); ++k) {
      const std::size_t i = static_cast<std::size_t>(r.trajectory_iteration[k] / t.record_every);
      if (i >= steps) continue;
      energy[c * steps + i] = r.trajectory_energy[k];
      ps[c * steps + i] = r.trajectory_ps[k];
      if (kernels && k < r.trajectory_kernel.size()) place_kernel(kernel, c * steps + i, samples, r.trajectory_kernel[k]);
    }
  }
  auto tdims = dims;
  tdims.push_back("iteration");
  g.variables.push_back({"trajectory_energy", tdims, energy, {{"description", std::string("loss during training, every record_every iterations")}}});
  g.variables.push_back({"trajectory_ps", tdims, ps, {{"description", std::string("parallelism score during training")}}});
  if (kernels) {
    tdims.push_back("sample_i");
    tdims.push_back("sample_j");
    g.variables.push_back({"trajectory_kernel", tdims, kernel, {{"description", std::string("representation kernel during training")}}});
  }
}

}  // namespace

Archive build_archive(const LoadedConfig& config, const std::vector<UnitRecord>& records,
                      const std::vector<RunRecord>& runs, const Attributes& provenance) {
  const StudySpec& spec = config.spec;
  const StudyGrid grid(spec);
  Archive ar;
  ar.attributes = provenance;
  ar.config = config.text;
  ar.runs = runs;

  // Grid coordinates, shared by every solver group.
  std::vector<Axis> grid_axes;
  std::vector<std::string> grid_dims;
  std::vector<Variable> zipped;  // the other axes of zip groups, as variables along the dimension
  for (const auto& d : grid.dimensions()) {
    const StudyAxis& first = spec.axes[d.axes[0]];
    grid_axes.push_back(first.is_string() ? Axis::strings(d.name, first.labels) : Axis::numeric(d.name, first.numbers));
    grid_dims.push_back(d.name);
    for (std::size_t k = 1; k < d.axes.size(); ++k) {
      const StudyAxis& other = spec.axes[d.axes[k]];
      if (!other.is_string()) zipped.push_back({other.name, {d.name}, other.numbers, {{"description", std::string("zipped with ") + d.name}}});
    }
  }
  // The input geometry each point resolves to (γ = auto included): the phase diagram's x axis is
  // α/β whichever of them the grid varies.
  std::vector<double> point_alpha(grid.points()), point_beta(grid.points()), point_gamma(grid.points());
  for (std::size_t p = 0; p < grid.points(); ++p) {
    const PointSpec point = grid.point(p);
    const GeometrySpec g = resolve(point.geometry, Task(point.task));
    point_alpha[p] = g.alpha[0];
    point_beta[p] = g.beta;
    point_gamma[p] = *g.gamma;
  }
  int labels = spec.base.task.labels, samples = 0;
  for (const auto& rec : records) {
    labels = std::max(labels, static_cast<int>(rec.report.ps_per_label.size()));
    samples = std::max(samples, static_cast<int>(rec.report.kernel.rows()));
  }

  for (SolverKind s : {SolverKind::theory, SolverKind::meanfield, SolverKind::train}) {
    const bool on = s == SolverKind::theory ? spec.solvers.theory : s == SolverKind::meanfield ? spec.solvers.meanfield : spec.solvers.train;
    if (!on) continue;
    Group g;
    g.name = to_string(s);
    g.axes = grid_axes;
    std::vector<std::string> dims = grid_dims;
    std::size_t cells = grid.points();
    const int reps = s == SolverKind::train ? spec.solvers.replicates : 1;
    if (s == SolverKind::train) {
      g.axes.push_back(Axis::index("replicate", reps));
      dims.push_back("replicate");
      cells *= reps;
    }
    g.axes.push_back(Axis::index("label", labels));
    auto cell_of = [&](const Unit& u) { return u.point * reps + u.replicate; };

    std::vector<std::uint8_t> status(cells, 0);
    const auto& cols = columns(s);
    std::vector<std::vector<double>> values(cols.size(), std::vector<double>(cells, kNaN));
    std::vector<double> per_label(cells * labels, kNaN), kernel;
    if (spec.store_kernels && samples) {
      g.axes.push_back(Axis::index("sample_i", samples));
      g.axes.push_back(Axis::index("sample_j", samples));
      kernel.assign(cells * samples * samples, kNaN);
    }
    for (const auto& rec : records) {
      if (rec.unit.solver != s) continue;
      const std::size_t c = cell_of(rec.unit);
      status[c] = archive_status(rec.report);
      for (std::size_t k = 0; k < cols.size(); ++k) values[k][c] = cols[k].value(rec.report);
      for (std::size_t l = 0; l < rec.report.ps_per_label.size(); ++l) per_label[c * labels + l] = rec.report.ps_per_label[l];
      if (!kernel.empty()) place_kernel(kernel, c, samples, rec.report.kernel);
    }
    g.variables.push_back({"status", dims, status,
                           {{"description", std::string("0 pending, 1 ok, 2 not converged, 3 diverged, 4 failed or not applicable")}}});
    for (std::size_t k = 0; k < cols.size(); ++k)
      g.variables.push_back({cols[k].name, dims, values[k], {{"description", std::string(cols[k].description)}}});
    auto label_dims = dims;
    label_dims.push_back("label");
    g.variables.push_back({"ps_label", label_dims, per_label, {{"description", std::string("parallelism score of each label")}}});
    if (!kernel.empty()) {
      auto kdims = dims;
      kdims.push_back("sample_i");
      kdims.push_back("sample_j");
      g.variables.push_back({"kernel", kdims, kernel, {{"description", std::string("representation kernel K = phi(H) phi(H)'")}}});
    }
    if (s == SolverKind::train && spec.solvers.train_options.record_every > 0)
      add_trajectory(g, dims, cells, samples, spec, records, cell_of);
    for (const auto& z : zipped) g.variables.push_back(z);
    g.variables.push_back({"point_alpha", grid_dims, point_alpha, {{"description", std::string("alpha at this point (first label)")}}});
    g.variables.push_back({"point_beta", grid_dims, point_beta, {{"description", std::string("beta at this point")}}});
    g.variables.push_back({"point_gamma", grid_dims, point_gamma, {{"description", std::string("gamma at this point (auto resolved)")}}});
    ar.groups.push_back(std::move(g));
  }
  return ar;
}

}  // namespace absrep::io
