#include "cli/problem_flags.hpp"

namespace absrep::cli {

void ProblemFlags::add_to(CLI::App& app) {
  app.add_option("--labels", labels, "number of latent binary labels m")->capture_default_str()->check(CLI::Range(2, 16));
  app.add_option("--per-class", per_class, "samples per class n")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--label-scales", label_scales, "per-label output scales s_k (one per label)")->delimiter(',');
  app.add_option("--geometry", geometry, "input geometry")->capture_default_str()
      ->check(CLI::IsMember({"aligned", "whitened", "gaussian"}));
  app.add_option("--alpha", alpha, "output-aligned input strength α (one, or one per label, comma-separated)")
      ->delimiter(',')->capture_default_str();
  app.add_option("--beta", beta, "output-orthogonal input strength β")->capture_default_str();
  app.add_option("--gamma", gamma, "bias-direction strength γ (default: 1/C + n/λmax(Σ), 1 + 1/P at n = 1)");
  app.add_option("--within-corr", within_corr, "within-class correlation ρ (n > 1)")->capture_default_str();
  app.add_option("--input-dim", input_dim, "input dimension d (default P)");
  app.add_option("--rotation-seed", rotation_seed, "seed of the random embedding of the inputs in R^d")
      ->capture_default_str();
  app.add_option("--activation", activation, "hidden nonlinearity")->capture_default_str()
      ->check(CLI::IsMember(Activation::names()));
  app.add_option("--width", width, "hidden units N")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--depth", depth, "hidden layers L")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--lam1", lam1, "first-layer L2 strength λ1")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--lam2", lam2, "readout L2 strength λ2")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--lam", lam, "sets every layer's λ")->check(CLI::PositiveNumber);
}

PointSpec ProblemFlags::to_spec() const {
  PointSpec s;
  s.task.labels = labels;
  s.task.per_class = per_class;
  s.task.label_scales = label_scales;
  s.geometry.kind = geometry_from_string(geometry);
  s.geometry.alpha = alpha;
  s.geometry.beta = beta;
  s.geometry.gamma = gamma;
  s.geometry.within_corr = within_corr;
  s.geometry.input_dim = input_dim;
  s.geometry.rotation_seed = rotation_seed;
  s.model.activation = Activation::from_name(activation);
  s.model.width = width;
  s.model.depth = depth;
  s.model.lam1 = lam ? *lam : lam1;
  s.model.lam2 = lam ? *lam : lam2;
  return s;
}

}  // namespace absrep::cli
