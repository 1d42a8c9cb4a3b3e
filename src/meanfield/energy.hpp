// The effective (mean-field) energy with W2 (ridge) and W1a (minimum norm) optimised out
// (THEORY.md, "The effective (mean-field) problem"):
//
//   E(H) = ½λ1 Σ_i h_iᵀ Kx⁺ h_i + ½λ2 tr(Ky (K + λ2 I)⁻¹),   K = φ(H)φ(H)ᵀ,  h_i ∈ col(Kx)
//   e(h) = ½λ1 hᵀKx⁺h − ½λ2 φ(h)ᵀ G φ(h),   G = (K+λ2 I)⁻¹ Ky (K+λ2 I)⁻¹
//
// H is P×N: column i is neuron i's preactivation over the samples.
#pragma once
#include <Eigen/Dense>

#include "model/activation.hpp"

namespace absrep {

class EffectiveProblem {
 public:
  EffectiveProblem(const Eigen::MatrixXd& Kx, const Eigen::MatrixXd& Ky, Activation act,
                   double lam1, double lam2);

  int P() const { return static_cast<int>(Ky_.rows()); }
  const Eigen::MatrixXd& Kx() const { return Kx_; }
  const Eigen::MatrixXd& Kx_pinv() const { return Kx_pinv_; }
  const Eigen::MatrixXd& Ky() const { return Ky_; }
  // Orthogonal projector onto col(Kx) (identity when Kx is full rank).
  const Eigen::MatrixXd& col_projector() const { return proj_; }
  bool full_rank() const { return rank_ == P(); }
  int rank() const { return rank_; }
  const Activation& activation() const { return act_; }
  double lam1() const { return lam1_; }
  double lam2() const { return lam2_; }

  Eigen::MatrixXd kernel(const Eigen::MatrixXd& H) const;  // φ(H)φ(H)ᵀ
  // E(H); grad (P×N) if non-null: λ1 Kx⁺H − λ2 φ′(H) ⊙ (G φ(H)).
  double energy(const Eigen::MatrixXd& H, Eigen::MatrixXd* grad = nullptr) const;
  // The two parts of E from a kernel: weight cost is supplied by the caller.
  double readout_energy(const Eigen::MatrixXd& K) const;  // ½λ2 tr(Ky (K+λ2)⁻¹)
  Eigen::MatrixXd G(const Eigen::MatrixXd& K) const;

  // e(h) for a frozen G, and its gradient.
  double single_neuron_energy(const Eigen::MatrixXd& G, const Eigen::VectorXd& h,
                              Eigen::VectorXd* grad = nullptr) const;

 private:
  Eigen::MatrixXd Kx_, Kx_pinv_, Ky_, proj_;
  int rank_ = 0;
  Activation act_;
  double lam1_, lam2_;
};

}  // namespace absrep
