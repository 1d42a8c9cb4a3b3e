// Shared by the micro-benchmarks and the peer-comparison driver: the problem sizes, the
// problems built from them (whitened inputs, relu, λ1 = λ2 = 0.01 unless stated) and the flop
// counts used for the GFLOP/s counters.
#pragma once
#include <Eigen/Dense>
#include <map>
#include <memory>
#include <string>

#include "study/point.hpp"

namespace absrep::bench {

struct Size {
  std::string name;
  int labels;     // m
  int per_class;  // n
  int input_dim;  // d (0: d = P)
  int width;      // N
  int P() const { return per_class << labels; }
  int d() const { return input_dim > 0 ? input_dim : P(); }
};

// The sizes of issue 7: the paper's, a medium one, and a GEMM-bound one.
inline const Size kSmall{"small", 3, 1, 0, 512};       // P = 8,    d = 8,    N = 512
inline const Size kMedium{"medium", 5, 4, 0, 4096};    // P = 128,  d = 128,  N = 4096
inline const Size kLarge{"large", 6, 16, 1024, 1024};  // P = 1024, d = 1024, N = 1024

inline PointSpec point_of(const Size& s, const std::string& activation = "relu", double lam = 0.01) {
  PointSpec spec;
  spec.task.labels = s.labels;
  spec.task.per_class = s.per_class;
  if (s.input_dim > 0) spec.geometry.input_dim = s.input_dim;
  spec.model.activation = Activation::from_name(activation);
  spec.model.width = s.width;
  spec.model.lam1 = spec.model.lam2 = lam;
  return spec;
}

// Problems are built once per size (P = 1024 takes an eigendecomposition).
inline const Problem& problem_of(const Size& s) {
  static std::map<std::string, std::unique_ptr<Problem>> cache;
  auto& slot = cache[s.name];
  if (!slot) slot = std::make_unique<Problem>(build_problem(point_of(s)));
  return *slot;
}

// Flops of one loss + gradient of the two-layer network (a multiply-add counts 2): the forward
// W1a·Xa (N×D·D×P) and the weight gradient dZ·Xaᵀ (N×P·P×D) dominate; W2·φ(Z), R·φ(Z)ᵀ and W2ᵀR
// are 2mNP each. Elementwise work (φ, φ′, the penalties) is not counted.
inline double loss_grad_flops(double N, double D, double P, double m) { return 4 * N * D * P + 6 * m * N * P; }
inline double loss_flops(double N, double D, double P, double m) { return 2 * N * D * P + 2 * m * N * P; }

}  // namespace absrep::bench
