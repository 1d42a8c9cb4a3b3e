// Input geometries (THEORY.md, "Input geometry family") and inputs that realise them.
//
// aligned:  Kx = γP·u0u0ᵀ + Σ_k α_k u_k u_kᵀ + β VVᵀ between classes, ⊗ Σ within a class,
//           Σ = (1−ρ)I + ρ11ᵀ (its top eigenvector is 1, as the paper requires).
// whitened: the aligned preset with α = β = 1, ρ = 0 and γ = auto, so that XᵀX = I.
// gaussian: X with i.i.d. N(0, 1/d) entries; Kx = XᵀX + 11ᵀ.
// Kx is always the augmented kernel XaᵀXa with Xa = [X; 1ᵀ] (the bias is the last row).
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "task/task.hpp"

namespace absrep {

enum class GeometryKind { aligned, whitened, gaussian };
std::string to_string(GeometryKind kind);
GeometryKind geometry_from_string(const std::string& name);  // throws InputError("geometry")

struct GeometrySpec {
  GeometryKind kind = GeometryKind::whitened;
  std::vector<double> alpha = {1.0};  // one value for every label, or one per label
  double beta = 1.0;
  std::optional<double> gamma;        // empty: auto (XᵀX has eigenvalue λmax(Σ) along 1)
  double within_corr = 0.0;           // ρ
  std::optional<int> input_dim;       // d; empty: P
  std::uint64_t rotation_seed = 0;    // the random embedding of R^P in R^d (and gaussian draws)
};

// γ for which the aligned kernel with α = β = 1, ρ = 0 is whitened: 1/C + n/λmax(Σ).
double auto_gamma(const Task& task, double within_corr);
// α_k of label k (expands a single value).
double alpha_of(const GeometrySpec& spec, int k);

// The geometry with whitened's preset applied and every value checked against the task.
// Throws InputError naming the parameter (gamma, beta, alpha, within-corr, input-dim).
GeometrySpec resolve(const GeometrySpec& spec, const Task& task);

// A task with its inputs: Kx exact, X realised in R^d, Xa = [X; 1ᵀ].
struct Problem {
  Task task;
  GeometrySpec geometry;  // resolved
  Eigen::MatrixXd Kx;     // P×P, the exact augmented input kernel
  Eigen::MatrixXd X;      // d×P
  Eigen::MatrixXd Xa;     // (d+1)×P
  int P() const { return task.samples(); }
  int input_dim() const { return static_cast<int>(X.rows()); }
};

Problem make_problem(const TaskSpec& task, const GeometrySpec& geometry);

// The aligned-family kernel itself (no inputs drawn).
Eigen::MatrixXd aligned_input_kernel(const Task& task, const GeometrySpec& resolved);

// X (d×P) with XᵀX = Kx − 11ᵀ, embedded in R^d by a seeded random orthonormal map.
// Throws InputError("input-dim") when d is below the rank Kx − 11ᵀ needs,
// InputError("gamma") when Kx − 11ᵀ is not PSD (no inputs can realise it).
Eigen::MatrixXd realize_inputs(const Eigen::MatrixXd& Kx, int d, std::uint64_t seed);

}  // namespace absrep
