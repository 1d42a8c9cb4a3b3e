// Closed forms of THEORY.md ("Closed forms to reproduce"), with their validity conditions.
//
//  threshold φ (relu exactly; clipped_relu, log1p_relu in the small-λ limit), aligned inputs
//  with α_k ≥ β: K* = Σ_k c_k (y_k y_kᵀ + 11ᵀ), i.e. c(Ky + m11ᵀ) for isotropic labels, from
//  single-label ray neurons h = a([y_k]₊ − t*[−y_k]₊) ⊗ 1_n.
//  odd φ (linear exactly; tanh, odd_log1p as the infimum over widths): K* = Σ_k c′_k s_k² … the
//  linear optimum, K* = c′Ky for isotropic labels.
//  λ1 is rescaled by 1/φ′(0)² (slope rescaling). Per-label α_k, output scales s_k and n > 1
//  (within-class collapse) use our derivation of the same forms (docs/THEORY-NOTES.md); the tests
//  check each against trained networks.
#pragma once
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "model/activation.hpp"
#include "task/geometry.hpp"
#include "task/task.hpp"

namespace absrep {

struct ClosedForm {
  bool applicable = false;
  std::string reason;        // why not, when not applicable
  std::string case_name;     // "relu-aligned", "threshold-small-lambda", "linear", "odd-infimum"
  bool exact = false;        // the form is the exact optimum (not a limit or an infimum)
  double c = 0.0;            // the kernel coefficient (NaN for anisotropic labels)
  std::vector<double> c_per_label;
  double t_star = 0.0;       // negative-side depth of the ray neurons (threshold case)
  double energy = 0.0;       // E*
  Eigen::MatrixXd K;         // K*
};

ClosedForm closed_form(const Task& task, const GeometrySpec& resolved, const Activation& act, double lam1,
                       double lam2);

// The single-label ReLU ray h = a([y_k]₊ − t*[−y_k]₊) ⊗ 1_n: its depth t* and its weight cost
// hᵀKx⁺h / a² at that depth (THEORY.md's q).
double relu_ray_depth(const Task& task, const GeometrySpec& resolved, int label);
double relu_ray_weight(const Task& task, const GeometrySpec& resolved, int label);

// The odd-activation energy at finite width N (THEORY.md): N/m neurons on each label with
// h = a_k y_k ⊗ 1_n, each a_k optimal. Returns +∞ where it does not apply.
double odd_finite_width_energy(const Task& task, const GeometrySpec& resolved, const Activation& act,
                               double lam1, double lam2, int width);

}  // namespace absrep
