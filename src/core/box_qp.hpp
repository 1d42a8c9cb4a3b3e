// min ½ sᵀQs + qᵀs subject to lo ≤ s ≤ hi, Q symmetric PSD and small (a few dozen variables):
// projected Newton on the free variables with a backtracking projection search (Bertsekas).
#pragma once
#include <Eigen/Dense>

namespace absrep {

Eigen::VectorXd solve_box_qp(const Eigen::MatrixXd& Q, const Eigen::VectorXd& q,
                             const Eigen::VectorXd& lo, const Eigen::VectorXd& hi, int max_iter = 200);

}  // namespace absrep
