// The analytic gradient of a loss against central finite differences, parameter by parameter:
// |∇_j L − (L(θ + h e_j) − L(θ − h e_j)) / 2h| ≤ tol·(1 + |fd_j|) for every j. `loss(θ, grad*)`
// returns L(θ) and writes ∇L when grad is non-null (TwoLayerLoss, DeepLoss).
#pragma once
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>

namespace absrep::testing {

template <class Loss>
::testing::AssertionResult gradient_matches_finite_differences(const Loss& loss, const Eigen::VectorXd& theta,
                                                               double tol = 1e-7, double h = 1e-6) {
  Eigen::VectorXd grad;
  loss(theta, &grad);
  for (Eigen::Index j = 0; j < theta.size(); ++j) {
    Eigen::VectorXd tp = theta, tm = theta;
    tp(j) += h;
    tm(j) -= h;
    const double fd = (loss(tp, nullptr) - loss(tm, nullptr)) / (2 * h);
    if (!(std::abs(grad(j) - fd) <= tol * (1 + std::abs(fd))))
      return ::testing::AssertionFailure() << "parameter " << j << ": gradient " << grad(j) << ", finite differences "
                                           << fd;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace absrep::testing
