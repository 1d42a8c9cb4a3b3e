#include "io/report_json.hpp"

#include <cmath>

namespace absrep::io {

namespace {
// JSON has no NaN: a missing or undefined number is null.
nlohmann::json number(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }
nlohmann::json number(const std::optional<double>& x) { return x ? number(*x) : nlohmann::json(nullptr); }
nlohmann::json vector_to_json(const Eigen::VectorXd& v) {
  nlohmann::json list = nlohmann::json::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) list.push_back(number(v(i)));
  return list;
}
}  // namespace

nlohmann::json matrix_to_json(const Eigen::MatrixXd& M) {
  nlohmann::json rows = nlohmann::json::array();
  for (Eigen::Index i = 0; i < M.rows(); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (Eigen::Index j = 0; j < M.cols(); ++j) row.push_back(number(M(i, j)));
    rows.push_back(std::move(row));
  }
  return rows;
}

nlohmann::json to_json(const Report& r, bool include_kernel) {
  nlohmann::json j;
  j["solver"] = r.solver;
  j["status"] = to_string(r.status);
  if (!r.note.empty()) j["note"] = r.note;
  j["ps"] = number(r.ps);
  nlohmann::json per = nlohmann::json::array();
  for (double v : r.ps_per_label) per.push_back(number(v));
  j["ps_per_label"] = per;
  if (!r.ps_layers.empty()) {
    nlohmann::json layers = nlohmann::json::array();
    for (double v : r.ps_layers) layers.push_back(number(v));
    j["ps_layers"] = layers;
  }
  j["energy"] = number(r.energy);
  j["kernel_rel_err"] = number(r.kernel_rel_err);
  j["energy_rel_gap"] = number(r.energy_rel_gap);
  j["kkt_min"] = number(r.kkt_min);
  j["kkt_method"] = r.kkt_method.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.kkt_method);
  j["participation_ratio"] = number(r.participation_ratio);
  j["iterations"] = r.iterations;
  j["seconds"] = r.seconds;
  if (r.applicable) {
    j["applicable"] = *r.applicable;
    j["case"] = r.theory_case;
    j["c"] = number(r.c);
  }
  if (r.stationarity) {
    j["stationarity"] = number(r.stationarity);
    j["polish_rounds"] = r.polish_rounds.value_or(0);
    j["seed"] = r.seed;
  }
  if (r.selectivity) {
    j["selectivity"] = {{"active", r.selectivity->active},
                        {"single_label", r.selectivity->single_label},
                        {"mixed", r.selectivity->mixed},
                        {"fraction_single", number(r.selectivity->fraction_single)}};
  }
  if (r.gap_bound) {
    j["gap_bound"] = number(r.gap_bound);
    j["atoms"] = r.atoms.value_or(0);
    j["attained"] = r.attained.value_or(true);
    j["seed"] = r.seed;
  }
  if (!r.tunings.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const Tuning& t : r.tunings)
      list.push_back({{"mass", number(t.mass)},
                      {"linear_regime", t.linear_regime},
                      {"labels", t.labels},
                      {"polarity", t.polarity},
                      {"response", vector_to_json(t.response)},
                      {"h", vector_to_json(t.h)}});
    j["tunings"] = std::move(list);
  }
  if (include_kernel) j["kernel"] = r.kernel.size() ? matrix_to_json(r.kernel) : nlohmann::json(nullptr);
  if (!r.trajectory_iteration.empty()) {
    nlohmann::json energy = nlohmann::json::array(), ps = nlohmann::json::array(), kernels = nlohmann::json::array();
    for (std::size_t t = 0; t < r.trajectory_iteration.size(); ++t) {
      energy.push_back(number(r.trajectory_energy[t]));
      ps.push_back(number(r.trajectory_ps[t]));
      if (include_kernel) kernels.push_back(matrix_to_json(r.trajectory_kernel[t]));
    }
    j["trajectory"] = {{"iteration", r.trajectory_iteration}, {"energy", energy}, {"ps", ps}};
    if (include_kernel) j["trajectory"]["kernel"] = std::move(kernels);
  }
  return j;
}

}  // namespace absrep::io
