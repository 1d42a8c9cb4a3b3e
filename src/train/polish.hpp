// Active-set polish for kinked activations (THEORY.md, "Numerical facts").
//
// In preactivation space H (P×N) the loss with W2 and W1a optimised out is E(H)
// (meanfield/energy.hpp). Pin every entry of H to one smooth piece of φ (for relu: h ≥ 0 or
// h ≤ 0); there E is smooth, and L-BFGS-B solves the bound-constrained problem to high
// accuracy. Entries resting on a kink whose one-sided derivative into the next piece is a
// descent direction move to that piece; repeat until none moves. The weights follow exactly:
// W1a = Hᵀ Kx⁺ Xaᵀ (minimum norm) and W2 = Y (K + λ2 I)⁻¹ φ(H)ᵀ (ridge).
#pragma once
#include <Eigen/Dense>
#include <string>

#include "meanfield/energy.hpp"
#include "parallel/reducer.hpp"

namespace absrep {

struct PolishResult {
  Eigen::MatrixXd H;  // P×(this rank's neurons), on the pinned pieces
  double energy = 0.0;
  int rounds = 0;
  bool settled = false;  // no entry wanted to move in the last round
  int iterations = 0;    // bound-constrained L-BFGS iterations over all rounds
  std::string stopped;   // the last round's complaint, if it gave up early
};

// H0: this rank's columns (neurons) of the network's preactivations; `partition` says which (by
// default one rank holding all of H0). tol bounds each entry's projected gradient (its 2-norm
// over the network is held to tol·√(P·N)). Every rank returns its own columns; all ranks take
// the same steps (block-ordered sums: parallel/reducer.hpp).
PolishResult polish_on_pieces(const EffectiveProblem& problem, const Eigen::MatrixXd& H0, double tol,
                              const NeuronPartition* partition = nullptr, int max_rounds = 60);

}  // namespace absrep
