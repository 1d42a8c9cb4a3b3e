// The multi-label binary task (THEORY.md, "Task"): m latent labels, one class per corner of
// {−1,+1}^m, n samples per class. Samples are ordered class-major: sample p = class·n + i,
// and label k of class j is +1 when bit k of j is set, −1 otherwise.
#pragma once
#include <Eigen/Dense>
#include <vector>

namespace absrep {

struct TaskSpec {
  int labels = 3;                   // m ≥ 2
  int per_class = 1;                // n ≥ 1
  std::vector<double> label_scales;  // s_k (empty: all 1), for anisotropic outputs
};

class Task {
 public:
  explicit Task(const TaskSpec& spec);

  int labels() const { return m_; }
  int per_class() const { return n_; }
  int classes() const { return 1 << m_; }
  int samples() const { return classes() * n_; }
  double label_scale(int k) const { return scales_[k]; }
  const std::vector<double>& label_scales() const { return scales_; }
  bool isotropic() const;

  int class_of(int sample) const { return sample / n_; }
  // ±1: label k of class j (unscaled).
  static double sign(int cls, int k) { return ((cls >> k) & 1) ? 1.0 : -1.0; }

  // Y (m×P) with Y[k,p] = s_k · label k of p's class; Ky = YᵀY.
  const Eigen::MatrixXd& Y() const { return Y_; }
  const Eigen::MatrixXd& Ky() const { return Ky_; }
  // The unscaled label vectors y_k (rows of Y at s_k = 1), P each.
  Eigen::VectorXd label_vector(int k) const;
  // Class-averaging matrix M (P×C): column j averages the samples of class j.
  Eigen::MatrixXd class_means() const;

 private:
  int m_, n_;
  std::vector<double> scales_;
  Eigen::MatrixXd Y_, Ky_;
};

}  // namespace absrep
