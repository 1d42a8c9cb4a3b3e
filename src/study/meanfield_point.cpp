// The mean-field solver at one point of a study: the task's symmetries, the solve, and the
// Report fields of the CLI contract, with the optimal tunings described on the task's classes.
#include <chrono>
#include <cmath>

#include "meanfield/energy.hpp"
#include "study/point.hpp"
#include "theory/closed_form.hpp"

namespace absrep {

namespace {

// Sample p = class·n + i ↦ class_map(class)·n + within_map(i).
template <class C, class W>
std::vector<int> sample_permutation(const Task& task, C class_map, W within_map) {
  const int n = task.per_class();
  std::vector<int> perm(static_cast<std::size_t>(task.samples()));
  for (int c = 0; c < task.classes(); ++c)
    for (int i = 0; i < n; ++i) perm[c * n + i] = class_map(c) * n + within_map(i);
  return perm;
}

// Class j ↦ j with bits k and l exchanged.
int swap_bits(int j, int k, int l) {
  const int bk = (j >> k) & 1, bl = (j >> l) & 1;
  return (j & ~((1 << k) | (1 << l))) | (bk << l) | (bl << k);
}

// The class-mean response of an atom and the labels it depends on: label k matters when
// flipping it changes the response of some class by more than 1e-6 of the largest response.
Tuning describe(const Task& task, const MeanfieldAtom& atom) {
  Tuning t{atom.h, atom.mass, atom.linear_regime, task.class_means().transpose() * atom.activity, {}, 0};
  const double tol = 1e-6 * t.response.cwiseAbs().maxCoeff();
  for (int k = 0; k < task.labels(); ++k) {
    double change = 0.0, preference = 0.0;
    for (int c = 0; c < task.classes(); ++c) {
      change = std::max(change, std::abs(t.response(c) - t.response(c ^ (1 << k))));
      preference += Task::sign(c, k) * t.response(c);
    }
    if (change > tol) {
      t.labels.push_back(k);
      t.polarity = preference > 0 ? 1 : -1;
    }
  }
  if (t.labels.size() != 1) t.polarity = 0;
  return t;
}

}  // namespace

std::vector<std::vector<int>> sample_symmetries(const Task& task, const GeometrySpec& g) {
  std::vector<std::vector<int>> gens;
  if (g.kind == GeometryKind::gaussian) return gens;
  const auto same = [](int i) { return i; };
  const int m = task.labels(), n = task.per_class();
  // A flip of label k maps y_k to −y_k: Ky and each u_k u_kᵀ are unchanged.
  for (int k = 0; k < m; ++k) gens.push_back(sample_permutation(task, [k](int c) { return c ^ (1 << k); }, same));
  // A swap of labels k, k+1 exchanges their terms: a symmetry when they are alike.
  for (int k = 0; k + 1 < m; ++k)
    if (alpha_of(g, k) == alpha_of(g, k + 1) && task.label_scale(k) == task.label_scale(k + 1))
      gens.push_back(sample_permutation(task, [k](int c) { return swap_bits(c, k, k + 1); }, same));
  // Σ = (1−ρ)I + ρ11ᵀ is invariant under any permutation applied to every class at once.
  for (int i = 0; i + 1 < n; ++i)
    gens.push_back(sample_permutation(task, [](int c) { return c; },
                                      [i](int j) { return j == i ? i + 1 : (j == i + 1 ? i : j); }));
  return gens;
}

Report solve_meanfield(const PointSpec& spec, const MeanfieldOptions& options, bool task_symmetries) {
  const auto start = std::chrono::steady_clock::now();
  const Problem pb = build_problem(spec);
  const ModelSpec& md = spec.model;
  const EffectiveProblem ep(pb.Kx, pb.task.Ky(), md.activation, md.lam1, md.lam2);
  MeanfieldOptions opt = options;
  if (opt.symmetries.empty() && task_symmetries) opt.symmetries = sample_symmetries(pb.task, pb.geometry);
  const MeanfieldResult mf = minimize_over_measures(ep, opt);

  Report r;
  r.solver = "meanfield";
  r.seed = options.seed;
  r.status = mf.status;
  r.note = mf.note;
  r.energy = mf.energy;
  r.kernel = mf.K;
  r.kkt_min = mf.kkt_min;
  r.kkt_method = to_string(mf.kkt_method);
  r.iterations = mf.iterations;
  r.gap_bound = mf.gap_bound;
  r.atoms = static_cast<int>(mf.atoms.size());
  r.attained = mf.attained;
  const ParallelismScore ps = parallelism_score(pb.task, r.kernel);
  r.ps = ps.ps;
  r.ps_per_label = ps.per_label;
  r.participation_ratio = participation_ratio(r.kernel);
  const ClosedForm cf = closed_form(pb.task, pb.geometry, md.activation, md.lam1, md.lam2);
  if (cf.applicable) {
    r.kernel_rel_err = kernel_relative_error(r.kernel, cf.K);
    r.energy_rel_gap = (r.energy - cf.energy) / std::abs(cf.energy);
  }
  Eigen::MatrixXd activity(mf.atoms.size(), pb.P());  // √mass-weighted, one row per atom
  for (std::size_t j = 0; j < mf.atoms.size(); ++j) {
    r.tunings.push_back(describe(pb.task, mf.atoms[j]));
    activity.row(j) = std::sqrt(mf.atoms[j].mass) * mf.atoms[j].activity.transpose();
  }
  if (!mf.atoms.empty()) r.selectivity = selectivity(pb.task, activity);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace absrep
