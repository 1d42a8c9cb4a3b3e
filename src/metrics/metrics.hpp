// Measures of abstraction, all functions of the representation (THEORY.md, "Representation,
// kernel, parallelism score"). Everything about a representation that PS needs is in its
// kernel K = φ(H)φ(H)ᵀ; the activity-matrix overloads just form K first.
#pragma once
#include <Eigen/Dense>
#include <vector>

#include "task/task.hpp"

namespace absrep {

struct ParallelismScore {
  double ps = 0.0;               // mean over labels
  std::vector<double> per_label;  // PS_k
};

// Fixed Hamming-1 pairing: for label k, the 2^{m−1} coding vectors Δ = r(c_k=+1) − r(c_k=−1)
// (one per setting of the other labels, between class prototypes); PS_k is the mean cosine
// over all distinct pairs. NaN where a coding vector vanishes (the label is not represented).
ParallelismScore parallelism_score(const Task& task, const Eigen::MatrixXd& K);
// The same from an activity matrix R (features × P).
ParallelismScore parallelism_score_from_activity(const Task& task, const Eigen::MatrixXd& R);

// ‖K − K_ref‖_F / ‖K_ref‖_F.
double kernel_relative_error(const Eigen::MatrixXd& K, const Eigen::MatrixXd& K_ref);

// (Σλ)²/Σλ² over the eigenvalues of the centred kernel: the effective dimension of the
// representation (m for a hypercube, whatever its scale).
double participation_ratio(const Eigen::MatrixXd& K);

struct Selectivity {
  int active = 0;            // neurons with non-negligible response
  int single_label = 0;      // active neurons whose class-mean response depends on one label only
  int mixed = 0;             // the rest of the active ones
  double fraction_single = 0.0;  // single_label / active (NaN if none active)
};
// For each neuron (row of R, features × P) the class-mean response is expanded on the Walsh
// basis of the hypercube; it is single-label when all but `tol` of its variance lies in the
// component of one label. A neuron is active when its norm exceeds active_tol·max norm.
Selectivity selectivity(const Task& task, const Eigen::MatrixXd& R, double tol = 1e-6,
                        double active_tol = 1e-6);

}  // namespace absrep
