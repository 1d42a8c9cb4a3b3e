#include "task/geometry.hpp"

#include <cmath>
#include <string>

#include "core/errors.hpp"
#include "core/random.hpp"

namespace absrep {

std::string to_string(GeometryKind kind) {
  switch (kind) {
    case GeometryKind::aligned: return "aligned";
    case GeometryKind::whitened: return "whitened";
    case GeometryKind::gaussian: return "gaussian";
  }
  return "?";
}

GeometryKind geometry_from_string(const std::string& name) {
  if (name == "aligned") return GeometryKind::aligned;
  if (name == "whitened") return GeometryKind::whitened;
  if (name == "gaussian") return GeometryKind::gaussian;
  throw InputError("geometry", "unknown geometry '" + name + "' (allowed: aligned, whitened, gaussian)");
}

double auto_gamma(const Task& task, double within_corr) {
  const double top = 1.0 + (task.per_class() - 1) * within_corr;  // λmax(Σ), eigenvector 1
  return 1.0 / task.classes() + task.per_class() / top;
}

double alpha_of(const GeometrySpec& spec, int k) {
  return spec.alpha.size() == 1 ? spec.alpha[0] : spec.alpha[k];
}

GeometrySpec resolve(const GeometrySpec& in, const Task& task) {
  GeometrySpec g = in;
  if (g.kind == GeometryKind::whitened) {
    g.alpha = {1.0};
    g.beta = 1.0;
    g.within_corr = 0.0;
    g.gamma.reset();
  }
  const int n = task.per_class();
  require(g.within_corr >= 0.0 && g.within_corr < 1.0, "within-corr",
          "within-corr ρ must lie in [0, 1), got " + std::to_string(g.within_corr));
  if (!g.gamma) g.gamma = auto_gamma(task, g.within_corr);
  if (g.kind != GeometryKind::gaussian) {
    require(g.alpha.size() == 1 || static_cast<int>(g.alpha.size()) == task.labels(), "alpha",
            "alpha needs one value or one per label (" + std::to_string(task.labels()) + ")");
    for (double a : g.alpha)
      require(std::isfinite(a) && a > 0, "alpha", "alpha must be positive, got " + std::to_string(a));
    require(std::isfinite(g.beta) && g.beta > 0, "beta",
            "beta must be positive (beta <= 0 leaves no output-orthogonal input), got " +
                std::to_string(g.beta));
    // Kx − 11ᵀ must be PSD for inputs to exist: γ·C·λmax(Σ) ≥ P, i.e. γ ≥ n/λmax(Σ) (γ ≥ 1 at n = 1).
    const double gamma_min = n / (1.0 + (n - 1) * g.within_corr);
    require(std::isfinite(*g.gamma) && *g.gamma >= gamma_min * (1 - 1e-12), "gamma",
            "gamma must be >= " + std::to_string(gamma_min) +
                " so that inputs realising Kx exist, got " + std::to_string(*g.gamma));
  }
  const int P = task.samples();
  if (!g.input_dim) g.input_dim = P;
  require(*g.input_dim >= 1, "input-dim", "input-dim must be >= 1");
  return g;
}

Eigen::MatrixXd aligned_input_kernel(const Task& task, const GeometrySpec& g) {
  const int C = task.classes(), n = task.per_class();
  // Between classes, in the orthonormal basis u0 = 1/√C, u_k = y_k/√C, V the rest.
  Eigen::MatrixXd Kb = g.beta * Eigen::MatrixXd::Identity(C, C);
  const Eigen::VectorXd u0 = Eigen::VectorXd::Constant(C, 1.0 / std::sqrt(C));
  Kb += (*g.gamma * C - g.beta) * u0 * u0.transpose();
  for (int k = 0; k < task.labels(); ++k) {
    Eigen::VectorXd uk(C);
    for (int j = 0; j < C; ++j) uk(j) = Task::sign(j, k) / std::sqrt(C);
    Kb += (alpha_of(g, k) - g.beta) * uk * uk.transpose();
  }
  if (n == 1) return Kb;
  const Eigen::MatrixXd Sigma = (1 - g.within_corr) * Eigen::MatrixXd::Identity(n, n) +
                                g.within_corr * Eigen::MatrixXd::Ones(n, n);
  Eigen::MatrixXd Kx(C * n, C * n);
  for (int a = 0; a < C; ++a)
    for (int b = 0; b < C; ++b) Kx.block(a * n, b * n, n, n) = Kb(a, b) * Sigma;
  return Kx;
}

namespace {

// d×r with orthonormal columns, from the QR of a seeded Gaussian matrix.
Eigen::MatrixXd random_orthonormal(int d, int r, std::uint64_t seed) {
  Rng rng(derive_seed(seed, {0x70747A}));
  Eigen::MatrixXd G(d, r);
  for (int j = 0; j < r; ++j)
    for (int i = 0; i < d; ++i) G(i, j) = rng.normal();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(G);
  return qr.householderQ() * Eigen::MatrixXd::Identity(d, r);
}

}  // namespace

Eigen::MatrixXd realize_inputs(const Eigen::MatrixXd& Kx, int d, std::uint64_t seed) {
  const int P = static_cast<int>(Kx.rows());
  const Eigen::MatrixXd G0 = Kx - Eigen::MatrixXd::Ones(P, P);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(G0);
  const Eigen::VectorXd& lam = eig.eigenvalues();
  const double scale = std::max(1.0, lam.cwiseAbs().maxCoeff());
  const double tol = 1e-12 * P * scale;
  require(lam.minCoeff() >= -tol, "gamma",
          "Kx − 11ᵀ is not positive semidefinite (smallest eigenvalue " +
              std::to_string(lam.minCoeff()) + "): no inputs realise it; raise gamma");
  int r = 0;
  for (int i = 0; i < P; ++i) r += lam(i) > tol;
  require(d >= r, "input-dim",
          "input-dim " + std::to_string(d) + " is below the rank " + std::to_string(r) +
              " that Kx − 11ᵀ needs");
  Eigen::MatrixXd root(r, P);  // Λ_r^{1/2} U_rᵀ over the kept eigenpairs
  for (int i = P - r, row = 0; i < P; ++i, ++row)
    root.row(row) = std::sqrt(lam(i)) * eig.eigenvectors().col(i).transpose();
  return random_orthonormal(d, r, seed) * root;
}

Problem make_problem(const TaskSpec& task_spec, const GeometrySpec& geometry_spec) {
  Task task(task_spec);
  GeometrySpec g = resolve(geometry_spec, task);
  const int P = task.samples(), d = *g.input_dim;
  Eigen::MatrixXd X, Kx;
  if (g.kind == GeometryKind::gaussian) {
    Rng rng(derive_seed(g.rotation_seed, {0x6761757373}));
    X.resize(d, P);
    for (int p = 0; p < P; ++p)
      for (int i = 0; i < d; ++i) X(i, p) = rng.normal() / std::sqrt(d);
    Kx = X.transpose() * X + Eigen::MatrixXd::Ones(P, P);
  } else {
    Kx = aligned_input_kernel(task, g);
    X = realize_inputs(Kx, d, g.rotation_seed);
  }
  Eigen::MatrixXd Xa(d + 1, P);
  Xa << X, Eigen::RowVectorXd::Ones(P);
  return Problem{std::move(task), std::move(g), std::move(Kx), std::move(X), std::move(Xa)};
}

}  // namespace absrep
