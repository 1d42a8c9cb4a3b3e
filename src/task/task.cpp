#include "task/task.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/errors.hpp"

namespace absrep {

Task::Task(const TaskSpec& spec) : m_(spec.labels), n_(spec.per_class) {
  require(m_ >= 2, "labels", "labels must be >= 2 (PS needs two labels), got " + std::to_string(m_));
  require(m_ <= 16, "labels", "labels must be <= 16 (2^m classes), got " + std::to_string(m_));
  require(n_ >= 1, "per-class", "per-class must be >= 1, got " + std::to_string(n_));
  require(static_cast<long>(n_) << m_ <= 1L << 16, "per-class",
          "per-class · 2^labels must be <= 65536 samples");
  scales_ = spec.label_scales.empty() ? std::vector<double>(m_, 1.0) : spec.label_scales;
  require(static_cast<int>(scales_.size()) == m_, "label-scales",
          "label-scales needs one value per label (" + std::to_string(m_) + ")");
  for (double s : scales_)
    require(std::isfinite(s) && s > 0, "label-scales", "label-scales must be positive and finite");

  const int P = samples();
  Y_.resize(m_, P);
  for (int p = 0; p < P; ++p)
    for (int k = 0; k < m_; ++k) Y_(k, p) = scales_[k] * sign(class_of(p), k);
  Ky_ = Y_.transpose() * Y_;
}

bool Task::isotropic() const {
  return std::all_of(scales_.begin(), scales_.end(), [&](double s) { return s == scales_[0]; });
}

Eigen::VectorXd Task::label_vector(int k) const {
  Eigen::VectorXd y(samples());
  for (int p = 0; p < samples(); ++p) y(p) = sign(class_of(p), k);
  return y;
}

Eigen::MatrixXd Task::class_means() const {
  Eigen::MatrixXd M = Eigen::MatrixXd::Zero(samples(), classes());
  for (int p = 0; p < samples(); ++p) M(p, class_of(p)) = 1.0 / n_;
  return M;
}

}  // namespace absrep
