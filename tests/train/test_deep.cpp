// Deep networks (issue 6): exact gradients at every depth, the two-layer case as a special
// case, and what training finds for whitened inputs at small λ compared with our ray-box
// derivation (theory/deep_box.hpp).
#include <gtest/gtest.h>

#include <cstdio>

#include "metrics/metrics.hpp"
#include "model/deep_network.hpp"
#include "model/finite_difference.hpp"
#include "model/two_layer.hpp"
#include "task/geometry.hpp"
#include "theory/closed_form.hpp"
#include "theory/deep_box.hpp"
#include "train/deep_trainer.hpp"

namespace absrep {
namespace {

TEST(DeepLoss, GradientMatchesFiniteDifferencesAtEveryDepth) {
  GeometrySpec g;
  g.kind = GeometryKind::aligned;
  g.alpha = {2.0};
  g.input_dim = 9;
  const Problem pb = make_problem({2, 1, {}}, g);
  for (const char* act : {"relu", "tanh", "softplus", "clipped_relu"})
    for (int L = 1; L <= 4; ++L) {
      std::vector<double> lams;
      for (int l = 0; l <= L; ++l) lams.push_back(0.01 * (l + 1));
      const DeepLoss loss(pb.Xa, pb.task.Y(), Activation::from_name(act), 5, L, lams);
      const Eigen::VectorXd theta = 1.5 * loss.initial(3);
      ASSERT_TRUE(testing::gradient_matches_finite_differences(loss, theta)) << act << " L=" << L;
    }
}

TEST(DeepLoss, DepthOneIsTheTwoLayerNetwork) {
  const Problem pb = make_problem({3, 1, {}}, GeometrySpec{});
  const DeepLoss deep(pb.Xa, pb.task.Y(), Activation(), 7, 1, {0.02, 0.03});
  const TwoLayerLoss two(pb.Xa, pb.task.Y(), Activation(), 7, 0.02, 0.03);
  const Eigen::VectorXd theta = two.initial(4);  // same flat layout: [vec(W1a); vec(W2)]
  Eigen::VectorXd gd, gt;
  EXPECT_NEAR(deep(theta, &gd), two(theta, &gt), 1e-14);
  EXPECT_LT((gd - gt).norm(), 1e-13);
}

TEST(DeepBox, DepthOneIsTheClosedForm) {
  for (double alpha : {1.0, 4.0, 30.0}) {
    GeometrySpec g;
    g.kind = GeometryKind::aligned;
    g.alpha = {alpha};
    const Problem pb = make_problem({3, 1, {}}, g);
    const DeepBox box = deep_relu_box(pb.task, pb.geometry, {0.01, 0.02});
    const ClosedForm cf = closed_form(pb.task, pb.geometry, Activation(), 0.01, 0.02);
    ASSERT_TRUE(box.applicable && cf.applicable);
    EXPECT_NEAR(box.energy, cf.energy, 1e-12 * cf.energy) << alpha;
    EXPECT_NEAR(box.c[0], cf.c, 1e-8 * cf.c) << alpha;
  }
}

// Whitened inputs, λ = 1e-3, relu, N = 32: every hidden layer is abstract — PS near 1 and the
// kernel of the shifted-box form a·Ky + b·11ᵀ. Measured (this suite prints it): the last layer is
// the ray box (b = m·a) but earlier layers carry a larger shift, and the trained energy lies ~1.3%
// *below* our ray-box family for L = 2, 3: that family is not the deep optimum (docs/NOTES.md).
TEST(DeepTraining, EveryLayerIsAbstractForWhitenedInputs) {
  const Problem pb = make_problem({3, 1, {}}, GeometrySpec{});
  const int P = pb.P(), m = 3;
  Eigen::MatrixXd basis(P * P, 2);
  const Eigen::MatrixXd Ky = pb.task.Ky(), ones = Eigen::MatrixXd::Ones(P, P);
  basis.col(0) = Eigen::Map<const Eigen::VectorXd>(Ky.data(), P * P);
  basis.col(1) = Eigen::Map<const Eigen::VectorXd>(ones.data(), P * P);
  for (int L : {2, 3}) {
    const std::vector<double> lams(L + 1, 1e-3);
    const DeepLoss loss(pb.Xa, pb.task.Y(), Activation(), 32, L, lams);
    TrainOptions opt;
    opt.max_iter = 20000;
    const TrainResult tr = train_deep(loss, opt);
    ASSERT_NE(tr.status, Status::diverged);
    const DeepBox box = deep_relu_box(pb.task, pb.geometry, lams);
    const auto A = loss.activities(tr.theta);
    for (int l = 0; l < L; ++l) {
      const Eigen::MatrixXd K = A[l].transpose() * A[l];
      const Eigen::VectorXd k = Eigen::Map<const Eigen::VectorXd>(K.data(), P * P);
      const Eigen::VectorXd ab = basis.colPivHouseholderQr().solve(k);
      const double residual = (basis * ab - k).norm() / k.norm();
      const double ps = parallelism_score(pb.task, K).ps;
      EXPECT_GE(ps, 0.995) << "L=" << L << " layer " << l + 1;
      EXPECT_LE(residual, 2e-2) << "L=" << L << " layer " << l + 1;
      std::printf("[measure] deep relu L=%d layer %d: PS=%.6f  K ≈ %.4f·Ky + %.4f·11ᵀ (shift/m·a = %.3f, residual %.1e)\n", L,
                  l + 1, ps, ab(0), ab(1), ab(1) / (m * ab(0)), residual);
    }
    std::printf("[measure] deep relu L=%d: trained E=%.10g (stationarity %.1e), ray-box E=%.10g, relative %.2e\n", L, tr.loss,
                tr.stationarity, box.energy, (tr.loss - box.energy) / box.energy);
  }
}

// tanh is smooth: training converges, and every layer's kernel is ∝ Ky (PS = 1) as for L = 1.
TEST(DeepTraining, TanhLayersAreScaledOutputKernels) {
  const Problem pb = make_problem({3, 1, {}}, GeometrySpec{});
  for (int L : {2, 3}) {
    const DeepLoss loss(pb.Xa, pb.task.Y(), Activation::from_name("tanh"), 16, L, std::vector<double>(L + 1, 1e-2));
    const TrainResult tr = train_deep(loss, TrainOptions{});
    EXPECT_EQ(tr.status, Status::converged) << tr.note;
    for (const auto& Al : loss.activities(tr.theta)) {
      const Eigen::MatrixXd K = Al.transpose() * Al;
      EXPECT_GE(parallelism_score(pb.task, K).ps, 0.999) << "L=" << L;
      const double c = K.cwiseProduct(pb.task.Ky()).sum() / pb.task.Ky().squaredNorm();
      EXPECT_LT(kernel_relative_error(K, c * pb.task.Ky()), 0.05) << "L=" << L;
    }
  }
}

}  // namespace
}  // namespace absrep
