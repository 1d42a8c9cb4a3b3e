// The KKT certificate of global optimality (THEORY.md, "The effective (mean-field) problem"):
//
//   kkt_min = min over nonzero h ∈ col(Kx) of e(h) / (½λ1 hᵀKx⁺h) = 1 − (λ2/λ1) φ(h)ᵀGφ(h) / hᵀKx⁺h
//
// A representation with kernel K is a global minimum (up to ε) iff kkt_min ≥ −ε.
//  - relu, P small, Kx full rank: exact. relu is homogeneous, so the minimum is 1 − (λ2/λ1)R*,
//    R* the largest value of the Rayleigh quotient over the sign faces σ ∈ {−,0,+}^P. On its face
//    the maximiser is a generalised eigenvector of (D_σ G D_σ, (Kx⁺)_JJ) with the face's signs;
//    every face is enumerated (3^P − 1 of them).
//  - linear: exact, one generalised eigenproblem of (G, Kx⁺) on col(Kx).
//  - otherwise: multi-start local search, an upper bound on the true minimum (method "search").
//    For relu every local search ends with an exact ascent over sign faces (the face's
//    eigenvector, then entries resting at 0 move to the side that lowers the ratio), since the
//    zero set lies on face boundaries that smooth local search only approaches.
// On request the report also lists several distinct tunings with a negative ratio (the
// mean-field solver adds them as atoms): local minima of the ratio, best first.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "meanfield/energy.hpp"
#include "parallel/reducer.hpp"

namespace absrep {

enum class KktMethod { exact, search };
std::string to_string(KktMethod m);

struct KktOptions {
  int exact_max_samples = 10;  // enumerate sign faces up to this P (3^10 ≈ 59k faces)
  int starts = 24;             // local-search starts
  std::uint64_t seed = 0;
  const Eigen::MatrixXd* candidates = nullptr;  // extra starts (P×k), e.g. a network's neurons
  int max_candidates = 0;      // list up to this many tunings with a negative ratio (0: none)
  // The ranks that share this search (null: this rank alone): rank r runs starts r, r + R, …, and
  // every rank gets every start's result, considered in start order (the serial bits).
  const Reducer* reducer = nullptr;
};

struct KktCandidate {
  double ratio = 0.0;  // kkt_ratio at h, < 0
  Eigen::VectorXd h;
};

struct KktReport {
  double kkt_min = 0.0;
  KktMethod method = KktMethod::search;
  Eigen::VectorXd argmin;  // the tuning h attaining it (scale meaningful only for non-homogeneous φ)
  long evaluated = 0;      // faces enumerated or local searches run
  std::vector<KktCandidate> candidates;  // up to options.max_candidates, lowest ratio first
};

// Scale-free ratio r(h) for a frozen G; the gradient if non-null.
double kkt_ratio(const EffectiveProblem& problem, const Eigen::MatrixXd& G, const Eigen::VectorXd& h,
                 Eigen::VectorXd* grad = nullptr);

KktReport kkt_min(const EffectiveProblem& problem, const Eigen::MatrixXd& K, const KktOptions& options = {});

}  // namespace absrep
