// PS golden values and the other measures of abstraction.
#include <gtest/gtest.h>

#include <cmath>

#include "metrics/metrics.hpp"

namespace absrep {
namespace {

TEST(ParallelismScore, HypercubeKernelScoresOneForAnyScaleAndShift) {
  for (int m : {2, 3, 5}) {
    Task t({m, 1, {}});
    const int P = t.samples();
    const Eigen::MatrixXd ones = Eigen::MatrixXd::Ones(P, P);
    for (double c : {1e-3, 0.7, 40.0})
      for (double shift : {0.0, 3.0, -0.2}) {
        const Eigen::MatrixXd K = c * (t.Ky() + m * ones) + shift * ones;
        const ParallelismScore ps = parallelism_score(t, K);
        EXPECT_NEAR(ps.ps, 1.0, 1e-12) << "m=" << m << " c=" << c << " shift=" << shift;
        for (double v : ps.per_label) EXPECT_NEAR(v, 1.0, 1e-12);
      }
  }
}

TEST(ParallelismScore, IdentityKernelScoresZero) {
  for (int m : {2, 4}) {
    Task t({m, 1, {}});
    EXPECT_NEAR(parallelism_score(t, Eigen::MatrixXd::Identity(t.samples(), t.samples())).ps, 0.0, 1e-14);
  }
}

// m = 2, r(c) = (c1, c2, a·c1c2). Label 1's coding vectors are (2, 0, ∓2a), with cosine
// (1 − a²)/(1 + a²); by symmetry label 2 has the same. At a = 1/2 that is 0.6.
TEST(ParallelismScore, HandComputedTwoLabelExample) {
  Task t({2, 1, {}});
  Eigen::MatrixXd R(3, 4);
  for (int p = 0; p < 4; ++p) {
    const double c1 = Task::sign(p, 0), c2 = Task::sign(p, 1);
    R.col(p) << c1, c2, 0.5 * c1 * c2;
  }
  const ParallelismScore ps = parallelism_score_from_activity(t, R);
  EXPECT_NEAR(ps.ps, 0.6, 1e-14);
  EXPECT_NEAR(ps.per_label[0], 0.6, 1e-14);
  EXPECT_NEAR(ps.per_label[1], 0.6, 1e-14);
  // Anisotropic per-label: stretch only label 2's axis; PS is unchanged (cosines are scale-free).
  R.row(1) *= 3.0;
  EXPECT_NEAR(parallelism_score_from_activity(t, R).per_label[0], (1 - 0.25 / 1) / (1 + 0.25), 1e-14);
}

TEST(ParallelismScore, UnrepresentedLabelIsUndefined) {
  Task t({2, 1, {}});
  Eigen::MatrixXd R(1, 4);
  for (int p = 0; p < 4; ++p) R(0, p) = Task::sign(p, 0);  // ignores label 2
  const ParallelismScore ps = parallelism_score_from_activity(t, R);
  EXPECT_NEAR(ps.per_label[0], 1.0, 1e-14);
  EXPECT_TRUE(std::isnan(ps.per_label[1]));
}

TEST(ParallelismScore, SamplesOfAClassAreAveragedIntoPrototypes) {
  Task t({2, 3, {}});
  // Hypercube prototypes plus within-class noise that averages to zero.
  Eigen::MatrixXd R = t.Y();
  R.conservativeResize(3, t.samples());
  for (int p = 0; p < t.samples(); ++p) R(2, p) = (p % 3 == 0) ? 2.0 : -1.0;
  EXPECT_NEAR(parallelism_score_from_activity(t, R).ps, 1.0, 1e-12);
}

TEST(Kernel, RelativeErrorAndParticipationRatio) {
  Task t({3, 1, {}});
  const Eigen::MatrixXd K = t.Ky() + 3 * Eigen::MatrixXd::Ones(8, 8);
  EXPECT_DOUBLE_EQ(kernel_relative_error(K, K), 0.0);
  EXPECT_NEAR(kernel_relative_error(1.1 * K, K), 0.1, 1e-14);
  EXPECT_NEAR(participation_ratio(K), 3.0, 1e-12);  // a cube: m equal directions
  EXPECT_NEAR(participation_ratio(Eigen::MatrixXd::Identity(8, 8)), 7.0, 1e-12);  // centred: P − 1
}

TEST(Selectivity, SingleLabelRaysAndMixedNeurons) {
  Task t({3, 1, {}});
  Eigen::MatrixXd R = Eigen::MatrixXd::Zero(4, 8);
  for (int p = 0; p < 8; ++p) {
    R(0, p) = std::max(0.0, Task::sign(p, 0));                 // [y_1]₊: label 1 only
    R(1, p) = 2 * std::max(0.0, -Task::sign(p, 2));            // [−y_3]₊: label 3 only
    R(2, p) = std::max(0.0, Task::sign(p, 0) + Task::sign(p, 1));  // mixed
  }
  const Selectivity s = selectivity(t, R);
  EXPECT_EQ(s.active, 3);  // row 3 is silent
  EXPECT_EQ(s.single_label, 2);
  EXPECT_EQ(s.mixed, 1);
  EXPECT_NEAR(s.fraction_single, 2.0 / 3.0, 1e-15);
}

}  // namespace
}  // namespace absrep
