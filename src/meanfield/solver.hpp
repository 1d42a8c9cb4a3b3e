// The numerical mean-field solver (THEORY.md, "The effective (mean-field) problem"): the
// infinite-width optimum, computed directly from Kx and Ky,
//
//   min over positive measures μ on col(Kx) of  E[μ] = ½λ1 ∫ hᵀKx⁺h dμ + ½λ2 tr(Ky (K_μ + λ2 I)⁻¹),
//   K_μ = ∫ φ(h)φ(h)ᵀ dμ.
//
// E is convex in μ (K_μ is linear in μ and K ↦ tr(Ky (K + λ2 I)⁻¹) is convex) and its first
// variation is e(h). The method is a fully corrective conditional gradient (Frank–Wolfe) over
// measures: the oracle (meanfield/kkt) finds the tunings h of lowest e(h)/(½λ1 hᵀKx⁺h) at the
// current K and they join the support as atoms; all masses are then re-optimised (a smooth convex
// problem in w ≥ 0, by projected Newton), atoms whose mass vanishes are dropped, and a particle
// polish moves positions and masses together by local descent. It stops when the oracle finds
// kkt_min ≥ −tol: the measure then certifies itself, E − E* ≤ gap_bound (derived in solver.cpp).
//
// Atoms are of two kinds:
//  - finite: a position h with mass w (a number of neurons): K += w φ(h)φ(h)ᵀ, weight ½λ1 w hᵀKx⁺h.
//  - ray: a direction d with dᵀKx⁺d = 1 and mass w: K += w ψ(d)ψ(d)ᵀ, weight ½λ1 w. ψ is φ itself
//    for positively homogeneous φ (relu, linear: mass and radius trade off, so only directions
//    matter), and otherwise φ's linearisation at 0, ψ(x) = φ′(0±)x: the limit of atoms that shrink
//    toward 0 while their mass grows (tanh's linear regime). An optimum that needs such atoms is an
//    infimum that no finite network attains; it is reported as such (attained = false) instead of
//    being chased forever. Where φ is exactly linear near 0 (clipped_relu) the ray is attained: it
//    is a finite atom at the largest scale inside the linear piece.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "meanfield/energy.hpp"
#include "meanfield/kkt.hpp"
#include "parallel/reducer.hpp"

namespace absrep {

struct MeanfieldOptions {
  double tol = 1e-9;        // stop when kkt_min ≥ −tol
  int max_iter = 100;       // outer (Frank–Wolfe) iterations
  int atoms_per_step = 8;   // tunings the oracle may add per iteration, best first
  bool polish = true;       // particle polish of positions (needs Kx of full rank)
  std::uint64_t seed = 0;   // local-search starts of the oracle
  int exact_max_samples = 10;  // exact relu oracle up to this P (meanfield/kkt)
  int search_starts = 24;      // random starts of the search oracle
  const Reducer* reducer = nullptr;  // ranks that share the oracle's starts (null: this rank alone)
  // Before a search oracle's "no descent left" is accepted, it is rerun with this many starts.
  int confirm_starts = 256;
  // With a search oracle: independent runs, each seeded with the atoms of the earlier ones; the
  // best is continued with all of them as seeds (one run when the oracle is exact).
  int restarts = 4;
  // Permutations of the samples (sample p ↦ perm[p]) that leave Kx and Ky unchanged, e.g. the
  // hypercube's label flips and label swaps. The optimum is then sought among invariant measures
  // (E is convex, so the group average of an optimal measure is optimal and E* is unchanged): each
  // atom stands for its orbit, far fewer atoms are needed, and K is exactly invariant. A
  // permutation that does not preserve Kx and Ky is dropped (and said so in the note).
  std::vector<std::vector<int>> symmetries;
};

// One atom of the solution, in the units of a network: `mass` neurons with preactivation `h`.
// For positively homogeneous φ only w·hhᵀ matters: h is the direction with hᵀKx⁺h = 1.
// A linear-regime atom (the limit h → 0, mass → ∞) is given by that direction too, with its mass
// the limit of (neurons)·|h|²/|d|², i.e. the contribution mass·ψ(d)ψ(d)ᵀ to K.
struct MeanfieldAtom {
  Eigen::VectorXd h;         // P
  double mass = 0.0;
  bool linear_regime = false;
  Eigen::VectorXd activity;  // φ(h) over the samples (ψ(h) in the linear regime)
};

// φ(0) ≠ 0 (softplus) is not supported: status invalid, with a note.
struct MeanfieldResult {
  Status status = Status::pending;
  std::string note;
  double energy = 0.0;  // E at the returned measure
  Eigen::MatrixXd K;    // P×P
  // The support. With symmetries it is made of whole orbits, so its size bounds the narrowest
  // optimal width from above (a non-invariant optimum may need fewer neurons).
  std::vector<MeanfieldAtom> atoms;
  double kkt_min = 0.0;  // at K, from the oracle (exact or search: kkt_method)
  KktMethod kkt_method = KktMethod::search;
  // E − E* ≤ gap_bound, E* the infimum over all measures. A proof when kkt_method is exact; with
  // a search oracle it rests on the search having found the minimum.
  double gap_bound = 0.0;
  // false: no finite network attains E. Either the optimum is an infimum over widths (linear-regime
  // atoms), or finite atoms of a non-homogeneous φ carry fractional neuron counts: the relaxation
  // to all positive measures then lies below every network (the note says which).
  bool attained = true;
  int orbits = 0;        // atoms the solver kept (each an orbit under the symmetries)
  int iterations = 0;    // oracle calls that added atoms, over all restarts
  double seconds = 0.0;
};

MeanfieldResult minimize_over_measures(const EffectiveProblem& problem, const MeanfieldOptions& options = {});

}  // namespace absrep
