// The task and the input geometries: Y and Ky as THEORY.md defines them, the aligned kernel
// family in its eigenbasis, inputs that realise it, and the rejection of impossible inputs.
#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "task/geometry.hpp"
#include "task/task.hpp"

namespace absrep {
namespace {

TEST(Task, LabelsAreOrthogonalBalancedAndScaled) {
  for (int m : {2, 3, 5, 10}) {
    Task t({m, 1, {}});
    const int P = t.samples();
    ASSERT_EQ(P, 1 << m);
    const Eigen::MatrixXd YYt = t.Y() * t.Y().transpose();
    EXPECT_LT((YYt - P * Eigen::MatrixXd::Identity(m, m)).norm(), 1e-12) << "m=" << m;
    EXPECT_LT((t.Y() * Eigen::VectorXd::Ones(P)).norm(), 1e-12);
    EXPECT_LT((t.Ky() - t.Y().transpose() * t.Y()).norm(), 1e-12);
  }
  Task s({2, 3, {2.0, 0.5}});
  EXPECT_EQ(s.samples(), 12);
  EXPECT_DOUBLE_EQ(s.Y()(0, 11), 2.0);   // class 3 = (+,+)
  EXPECT_DOUBLE_EQ(s.Y()(1, 0), -0.5);   // class 0 = (−,−)
  EXPECT_EQ(s.class_of(5), 1);
}

TEST(Task, RejectsBadSpecsNamingTheParameter) {
  auto field_of = [](const TaskSpec& spec) {
    try {
      Task t(spec);
    } catch (const InputError& e) {
      return e.field();
    }
    return std::string("none");
  };
  EXPECT_EQ(field_of({1, 1, {}}), "labels");
  EXPECT_EQ(field_of({3, 0, {}}), "per-class");
  EXPECT_EQ(field_of({3, 1, {1.0, 2.0}}), "label-scales");
  EXPECT_EQ(field_of({3, 1, {1.0, -1.0, 1.0}}), "label-scales");
}

TEST(Geometry, WhitenedInputsAreOrthonormal) {
  const Problem pb = make_problem({3, 1, {}}, GeometrySpec{});
  const int P = pb.P();
  EXPECT_LT((pb.X.transpose() * pb.X - Eigen::MatrixXd::Identity(P, P)).norm(), 1e-12);
  EXPECT_LT((pb.Xa.transpose() * pb.Xa - pb.Kx).norm(), 1e-12);
  EXPECT_NEAR(*pb.geometry.gamma, 1.0 + 1.0 / P, 1e-15);
}

// n > 1: Kx = Kx_between ⊗ Σ. Auto γ = 1/C + n/λmax(Σ) makes XᵀX = Kx − 11ᵀ have eigenvalue
// λmax(Σ) along 1 (as the whitened n = 1 case has 1), so inputs exist.
TEST(Geometry, MultiElementAutoGammaIsRealisable) {
  GeometrySpec g;
  g.kind = GeometryKind::aligned;  // the whitened preset would reset ρ to 0
  g.within_corr = 0.3;
  const Problem pb = make_problem({3, 4, {}}, g);
  const int P = pb.P();
  const Eigen::VectorXd u0 = Eigen::VectorXd::Constant(P, 1.0 / std::sqrt(P));
  const Eigen::MatrixXd XtX = pb.X.transpose() * pb.X;
  EXPECT_NEAR(u0.dot(XtX * u0), 1.0 + 3 * 0.3, 1e-12);
  EXPECT_LT((pb.Xa.transpose() * pb.Xa - pb.Kx).norm(), 1e-11);
  EXPECT_GE(Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(XtX).eigenvalues().minCoeff(), -1e-12);
}

TEST(Geometry, AlignedKernelHasTheStatedSpectrum) {
  GeometrySpec g;
  g.kind = GeometryKind::aligned;
  g.alpha = {4.0};
  g.beta = 0.5;
  g.gamma = 2.0;
  const Problem pb = make_problem({3, 1, {}}, g);
  const int P = pb.P();
  const Eigen::VectorXd u0 = Eigen::VectorXd::Constant(P, 1.0 / std::sqrt(P));
  EXPECT_NEAR(u0.dot(pb.Kx * u0), 2.0 * P, 1e-12);  // γP along 1
  for (int k = 0; k < 3; ++k) {
    const Eigen::VectorXd uk = pb.task.label_vector(k) / std::sqrt(P);
    EXPECT_LT((pb.Kx * uk - 4.0 * uk).norm(), 1e-12);  // α on the label directions
  }
  // β on the rest: trace accounting.
  EXPECT_NEAR(pb.Kx.trace(), 2.0 * P + 3 * 4.0 + (P - 4) * 0.5, 1e-12);
}

TEST(Geometry, WithinClassCorrelationIsAKroneckerFactor) {
  GeometrySpec g;
  g.kind = GeometryKind::aligned;
  g.within_corr = 0.4;
  const Problem pb = make_problem({2, 3, {}}, g);
  // Two samples of one class: Kx_b(c,c)·ρ off the diagonal, Kx_b(c,c) on it.
  EXPECT_NEAR(pb.Kx(0, 1), 0.4 * pb.Kx(0, 0), 1e-12);
  EXPECT_NEAR(pb.Kx(0, 4), 0.4 * pb.Kx(0, 3), 1e-12);  // across classes, same factor
  EXPECT_LT((pb.Xa.transpose() * pb.Xa - pb.Kx).norm(), 1e-11);
}

TEST(Geometry, RealisedInputsAreARotationInAnyDimension) {
  GeometrySpec g;
  g.kind = GeometryKind::aligned;
  g.alpha = {3.0};
  g.beta = 0.25;
  const Problem a = make_problem({3, 1, {}}, g);
  g.input_dim = 50;
  g.rotation_seed = 7;
  const Problem b = make_problem({3, 1, {}}, g);
  EXPECT_EQ(b.input_dim(), 50);
  EXPECT_LT((b.Xa.transpose() * b.Xa - a.Kx).norm(), 1e-12);
  EXPECT_GT((b.X.topRows(8) - a.X).norm(), 1e-3);  // a different embedding
}

TEST(Geometry, GaussianInputsDefineTheirKernel) {
  GeometrySpec g;
  g.kind = GeometryKind::gaussian;
  g.input_dim = 20;
  const Problem pb = make_problem({3, 1, {}}, g);
  EXPECT_EQ(pb.input_dim(), 20);
  EXPECT_LT((pb.Xa.transpose() * pb.Xa - pb.Kx).norm(), 1e-12);
}

TEST(Geometry, RejectsImpossibleInputsNamingTheParameter) {
  auto field_of = [](GeometrySpec g, TaskSpec t = {3, 1, {}}) {
    try {
      make_problem(t, g);
    } catch (const InputError& e) {
      return e.field();
    }
    return std::string("none");
  };
  GeometrySpec g;
  g.kind = GeometryKind::aligned;
  GeometrySpec low_gamma = g;
  low_gamma.gamma = 0.9;
  EXPECT_EQ(field_of(low_gamma), "gamma");
  GeometrySpec zero_beta = g;
  zero_beta.beta = 0.0;
  EXPECT_EQ(field_of(zero_beta), "beta");
  GeometrySpec small_d = g;
  small_d.input_dim = 5;  // Kx − 11ᵀ has rank P = 8 at γ > 1
  EXPECT_EQ(field_of(small_d), "input-dim");
  GeometrySpec exact_gamma = small_d;
  exact_gamma.gamma = 1.0;  // rank P − 1 = 7 now, d = 5 still too small; d = 7 suffices
  EXPECT_EQ(field_of(exact_gamma), "input-dim");
  exact_gamma.input_dim = 7;
  EXPECT_EQ(field_of(exact_gamma), "none");
  GeometrySpec bad_rho = g;
  bad_rho.within_corr = 1.0;
  EXPECT_EQ(field_of(bad_rho, {3, 2, {}}), "within-corr");
  GeometrySpec multi = g;
  multi.gamma = 1.0;  // n = 2, ρ = 0 needs γ ≥ 2
  EXPECT_EQ(field_of(multi, {3, 2, {}}), "gamma");
  GeometrySpec alphas = g;
  alphas.alpha = {1.0, 2.0};
  EXPECT_EQ(field_of(alphas), "alpha");
}

}  // namespace
}  // namespace absrep
