// Our derivation for deep ReLU networks (issue 6): the best network whose every hidden layer is
// a box, K_ℓ = c_ℓ (Ky + m11ᵀ), made of single-label rays (isotropic labels, aligned inputs).
//
// With A_ℓ = 2c_ℓ the mass on each of the 2m rays of layer ℓ:
//  - layer 1 costs ½λ1 · 2m · A_1 q, q the ray's weight under Kx⁺ (closed_form's relu_ray_weight);
//  - layer ℓ ≥ 2 sees K_{ℓ−1} as its input kernel (no bias); the cheapest weights making a ray
//    b[y]₊ out of the previous layer cost b²·[y]₊ᵀK_{ℓ−1}⁺[y]₊ = b²(1 + 1/m)/(2A_{ℓ−1}) (its
//    negative half stays at 0 for m > 1), so the layer costs λ_ℓ (m+1) A_ℓ / (2A_{ℓ−1});
//  - the readout, optimised out: ½λ_{L+1} · mP/(c_L P + λ_{L+1}).
// E(A_1..A_L) is minimised numerically (in log A). The paper states the optimum of a deep net
// is of this form; tests/train compare it with trained networks.
#pragma once
#include <Eigen/Dense>
#include <vector>

#include "task/geometry.hpp"

namespace absrep {

struct DeepBox {
  bool applicable = false;
  std::vector<double> c;  // c_ℓ per hidden layer
  double energy = 0.0;
  std::vector<Eigen::MatrixXd> K;  // K_ℓ = c_ℓ (Ky + m11ᵀ)
};

// lams: L + 1 values (hidden layers, then the readout).
DeepBox deep_relu_box(const Task& task, const GeometrySpec& resolved, const std::vector<double>& lams);

}  // namespace absrep
