// Activations and the network loss: every analytic derivative against central finite
// differences, the classification of each activation, and the loss gradient of the two-layer
// network for every activation.
#include <gtest/gtest.h>

#include <tuple>

#include "core/errors.hpp"
#include "core/random.hpp"
#include "model/finite_difference.hpp"
#include "model/activation.hpp"
#include "model/two_layer.hpp"
#include "task/geometry.hpp"

namespace absrep {
namespace {

class EveryActivation : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryActivation, DerivativeMatchesFiniteDifferences) {
  const Activation act = Activation::from_name(GetParam());
  const double h = 1e-6;
  for (double x : {-2.3, -0.7, -0.1, 0.05, 0.4, 0.8, 1.3, 2.9}) {
    const double fd = (act.value(x + h) - act.value(x - h)) / (2 * h);
    EXPECT_NEAR(act.derivative(x), fd, 1e-8) << act.name() << " at " << x;
  }
}

TEST_P(EveryActivation, MatrixApplyAgreesWithScalar) {
  const Activation act = Activation::from_name(GetParam());
  Eigen::MatrixXd Z = Eigen::MatrixXd::Random(5, 7) * 2.0;
  Z(0, 0) = 0.0;
  Z(1, 1) = 1.0;  // on the kinks of clipped_relu
  Eigen::MatrixXd A, dA;
  act.apply(Z, A, &dA);
  for (Eigen::Index i = 0; i < Z.size(); ++i) {
    EXPECT_DOUBLE_EQ(A(i), act.value(Z(i)));
    EXPECT_DOUBLE_EQ(dA(i), act.derivative(Z(i)));
  }
}

TEST_P(EveryActivation, BranchesAgreeWithTheFunctionInsideTheirRegion) {
  const Activation act = Activation::from_name(GetParam());
  for (double x : {-1.5, -0.2, 0.3, 0.9, 1.7}) {
    const int r = act.region_of(x);
    EXPECT_DOUBLE_EQ(act.branch_value(r, x), act.value(x));
    EXPECT_DOUBLE_EQ(act.branch_derivative(r, x), act.derivative(x));
  }
}

TEST_P(EveryActivation, TwoLayerLossGradientMatchesFiniteDifferences) {
  const Activation act = Activation::from_name(GetParam());
  GeometrySpec g;
  g.kind = GeometryKind::aligned;
  g.alpha = {2.0};
  g.input_dim = 11;
  const Problem pb = make_problem({2, 2, {}}, g);
  TwoLayerLoss loss(pb.Xa, pb.task.Y(), act, 6, 0.03, 0.02);
  const Eigen::VectorXd theta = 1.3 * loss.initial(5);
  for (const auto path : {TwoLayerLoss::Path::lanes, TwoLayerLoss::Path::gemm}) {
    if (path == TwoLayerLoss::Path::lanes && !TwoLayerLoss::lanes_support(pb.Xa.cols(), pb.Xa.rows(), 2, act)) continue;
    loss.set_path(path);
    EXPECT_TRUE(testing::gradient_matches_finite_differences(loss, theta)) << act.name();
  }
}

// The two ways of computing a block (GEMM; neurons in SIMD lanes, the default at the paper's
// sizes for relu, clipped_relu, linear and tanh) give the same loss and gradient to rounding, at widths that end inside a SIMD vector and
// span several blocks of neurons, and at sample counts with and without a compile-time kernel.
TEST_P(EveryActivation, LaneAndGemmPathsAgree) {
  const Activation act = Activation::from_name(GetParam());
  for (const auto& [labels, per_class, width] : {std::tuple{2, 1, 6}, {3, 1, 517}, {3, 3, 300}, {5, 1, 261}}) {
    GeometrySpec g;
    g.kind = GeometryKind::aligned;
    g.alpha = {1.5};
    const Problem pb = make_problem({labels, per_class, {}}, g);
    TwoLayerLoss loss(pb.Xa, pb.task.Y(), act, width, 0.03, 0.02);
    if (!TwoLayerLoss::lanes_support(pb.Xa.cols(), pb.Xa.rows(), labels, act)) {  // no lane kernel for φ
      EXPECT_EQ(loss.path(), TwoLayerLoss::Path::gemm);
      EXPECT_THROW(loss.set_path(TwoLayerLoss::Path::lanes), InputError);
      continue;
    }
    ASSERT_EQ(loss.path(), TwoLayerLoss::Path::lanes);  // P ≤ 32 samples, few inputs
    const Eigen::VectorXd theta = 1.3 * loss.initial(11);
    Eigen::VectorXd g_lanes, g_gemm;
    const double f_lanes = loss(theta, &g_lanes), f_only = loss(theta, nullptr);
    loss.set_path(TwoLayerLoss::Path::gemm);
    const double f_gemm = loss(theta, &g_gemm);
    EXPECT_EQ(f_only, f_lanes) << act.name();
    EXPECT_NEAR(f_lanes, f_gemm, 1e-14 * f_gemm) << act.name() << " P=" << pb.Xa.cols() << " N=" << width;
    EXPECT_LE((g_lanes - g_gemm).norm(), 1e-14 * g_gemm.norm()) << act.name() << " P=" << pb.Xa.cols() << " N=" << width;
  }
}

INSTANTIATE_TEST_SUITE_P(All, EveryActivation, ::testing::ValuesIn(Activation::names()));

TEST(Activation, ClassesAndSlopes) {
  EXPECT_EQ(Activation::from_name("relu").family(), ActivationClass::threshold);
  EXPECT_EQ(Activation::from_name("clipped_relu").family(), ActivationClass::threshold);
  EXPECT_EQ(Activation::from_name("log1p_relu").family(), ActivationClass::threshold);
  for (const char* odd : {"linear", "tanh", "odd_log1p"}) {
    const Activation a = Activation::from_name(odd);
    EXPECT_EQ(a.family(), ActivationClass::odd) << odd;
    for (double x : {0.3, 1.7}) EXPECT_DOUBLE_EQ(a.value(-x), -a.value(x)) << odd;
  }
  EXPECT_EQ(Activation::from_name("softplus").family(), ActivationClass::other);
  EXPECT_EQ(Activation::from_name("gelu").family(), ActivationClass::other);
  for (const auto& name : Activation::names()) {
    const Activation a = Activation::from_name(name);
    const double h = 1e-7;
    EXPECT_NEAR(a.slope_at_origin(), (a.value(h) - a.value(0.0)) / h, 1e-6) << name;
  }
  EXPECT_TRUE(Activation::from_name("relu").positively_homogeneous());
  EXPECT_FALSE(Activation::from_name("tanh").positively_homogeneous());
  EXPECT_THROW(Activation::from_name("sigmoid"), InputError);
}

TEST(TwoLayer, InitialWeightsOfANeuronDoNotDependOnTheWidth) {
  const Problem pb = make_problem({3, 1, {}}, GeometrySpec{});
  const TwoLayerLoss narrow(pb.Xa, pb.task.Y(), Activation(), 4, 0.01, 0.01);
  const TwoLayerLoss wide(pb.Xa, pb.task.Y(), Activation(), 9, 0.01, 0.01);
  const Eigen::VectorXd a = narrow.initial(3), b = wide.initial(3);
  EXPECT_LT((narrow.W1a(a) - wide.W1a(b).topRows(4)).norm(), 1e-15);
}

TEST(Random, StreamsAreReproducibleAndNormal) {
  Rng a(42), b(42);
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = a.normal();
    ASSERT_EQ(x, b.normal());
    sum += x;
    sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.01);
  EXPECT_NE(derive_seed(1, {2, 3}), derive_seed(1, {3, 2}));
}

}  // namespace
}  // namespace absrep
