// Trained networks against the closed-form theory (issue 2): the trained optimum must be the
// theory's to tight tolerances, certified by the exact KKT check, with single-label ray
// neurons for relu; odd activations give K ∝ Ky. Also: invariance to the input embedding,
// the first-order optimisers, divergence as a status, and the narrowest optimal width.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

#include "core/errors.hpp"
#include "study/point.hpp"
#include "theory/closed_form.hpp"

namespace absrep {
namespace {

PointSpec point(int m, double alpha, double beta, double lam, const char* act = "relu", int width = 64) {
  PointSpec s;
  s.task.labels = m;
  s.geometry.kind = GeometryKind::aligned;
  s.geometry.alpha = {alpha};
  s.geometry.beta = beta;
  s.model.activation = Activation::from_name(act);
  s.model.width = width;
  s.model.lam1 = s.model.lam2 = lam;
  return s;
}

// Every active neuron's response is a·[±y_k]₊ for one label k and sign (a single-label ray),
// up to 1e-6 of the largest neuron's norm. (Deviations are measured on that common scale: a
// neuron of mass ε² can turn by δ at an energy cost of only ~ε²δ², so tiny neurons are
// pointed less precisely than big ones at the same stationarity.)
void expect_single_label_rays(const PointSpec& spec, const TrainOptions& opt) {
  const Problem pb = build_problem(spec);
  const TwoLayerLoss loss(pb.Xa, pb.task.Y(), spec.model.activation, spec.model.width, spec.model.lam1,
                          spec.model.lam2);
  const TrainResult tr = train(loss, opt);
  Eigen::MatrixXd A;
  spec.model.activation.apply(loss.W1a(tr.theta) * pb.Xa, A);  // N×P
  const double biggest = A.rowwise().norm().maxCoeff();
  int rays = 0;
  for (Eigen::Index i = 0; i < A.rows(); ++i) {
    const Eigen::VectorXd r = A.row(i).transpose();
    if (r.norm() <= 1e-6 * biggest) continue;
    double best = 1.0;
    for (int k = 0; k < pb.task.labels(); ++k)
      for (double s : {1.0, -1.0}) {
        const Eigen::VectorXd ray = (s * pb.task.label_vector(k)).cwiseMax(0.0);
        const double a = r.dot(ray) / ray.squaredNorm();
        best = std::min(best, (r - a * ray).norm() / biggest);
      }
    EXPECT_LT(best, 1e-6) << "neuron " << i << " (norm " << r.norm() / biggest << ") is not a single-label ray";
    ++rays;
  }
  EXPECT_GE(rays, 2 * pb.task.labels());
}

struct Grid {
  int m;
  double alpha, beta, lam;
};

class ReluAgainstTheory : public ::testing::TestWithParam<Grid> {};

TEST_P(ReluAgainstTheory, TrainedOptimumIsTheClosedForm) {
  const Grid g = GetParam();
  const PointSpec spec = point(g.m, g.alpha, g.beta, g.lam);
  const Report th = solve_theory(spec);
  ASSERT_TRUE(th.applicable && *th.applicable);
  TrainOptions opt;
  const Report tr = solve_train(spec, opt);
  EXPECT_EQ(tr.status, Status::converged) << tr.note;
  EXPECT_LE(*tr.stationarity, 1e-8);
  EXPECT_GE(tr.ps, 0.999);
  EXPECT_LE(*tr.kernel_rel_err, 1e-3);
  EXPECT_LE(std::abs(*tr.energy_rel_gap), 1e-6);
  EXPECT_GE(tr.kkt_min, -1e-6);
  EXPECT_EQ(tr.kkt_method, "exact");
  expect_single_label_rays(spec, opt);
  std::printf("[measure] m=%d α=%g β=%g λ=%g: PS=%.12f gap=%.1e Krel=%.1e kkt=%.1e stat=%.1e it=%d %.3fs\n", g.m,
              g.alpha, g.beta, g.lam, tr.ps, *tr.energy_rel_gap, *tr.kernel_rel_err, tr.kkt_min, *tr.stationarity,
              tr.iterations, tr.seconds);
}

std::vector<Grid> relu_grid() {
  std::vector<Grid> out;
  for (int m : {2, 3})
    for (double lam : {1e-3, 1e-2, 1e-1}) {
      out.push_back({m, 1.0, 1.0, lam});  // whitened
      out.push_back({m, 4.0, 1.0, lam});  // target-aligned
    }
  out.push_back({3, 30.0, 0.5, 1e-2});  // α > γP: negative inactive half (t* > 0)
  return out;
}

std::string grid_name(const ::testing::TestParamInfo<Grid>& info) {
  const Grid& g = info.param;
  std::ostringstream s;  // (not operator+ on strings: GCC 12 warns falsely there, bug 105329)
  s << 'm' << g.m << "_alpha" << g.alpha << "_beta" << g.beta << "_lam" << g.lam;
  std::string name = s.str();
  for (char& c : name)
    if (c == '.' || c == '-') c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Issue2Grid, ReluAgainstTheory, ::testing::ValuesIn(relu_grid()), grid_name);

TEST(Training, DefaultProblemReachesTheClosedFormTo1e10) {
  const Report tr = solve_train(PointSpec{}, TrainOptions{});
  const Report th = solve_theory(PointSpec{});
  EXPECT_EQ(tr.status, Status::converged);
  EXPECT_LE(*tr.stationarity, 1e-8);
  EXPECT_LE(std::abs(tr.energy - th.energy), 1e-10 * th.energy);
}

TEST(Training, LinearGivesAScaledOutputKernel) {
  for (double alpha : {1.0, 0.25, 4.0}) {
    const PointSpec spec = point(3, alpha, 1.0, 1e-2, "linear", 16);
    const Report tr = solve_train(spec, TrainOptions{});
    EXPECT_EQ(tr.status, Status::converged);
    EXPECT_GE(tr.ps, 0.999);
    EXPECT_LE(*tr.kernel_rel_err, 1e-6) << "α=" << alpha;
    EXPECT_LE(std::abs(*tr.energy_rel_gap), 1e-10);
    EXPECT_GE(tr.kkt_min, -1e-7);
  }
}

// tanh at width N approaches the infimum c′Ky only as N → ∞. THEORY.md's E_N (N/m neurons
// h = a y_k per label) is one configuration at width N, so the trained optimum is compared with
// it: it must be within 1e-3 (training may settle in another split or in mixed neurons) and
// above the infimum; the kernel error shrinks with N.
TEST(Training, TanhApproachesTheOddInfimumAsWidthGrows) {
  double previous = 1.0;
  for (int N : {6, 24, 96}) {
    const PointSpec spec = point(3, 1.0, 1.0, 1e-2, "tanh", N);
    const Report tr = solve_train(spec, TrainOptions{});
    EXPECT_EQ(tr.status, Status::converged);
    EXPECT_GE(tr.ps, 0.999);
    const Problem pb = build_problem(spec);
    const double EN = odd_finite_width_energy(pb.task, pb.geometry, spec.model.activation, 1e-2, 1e-2, N);
    EXPECT_LE(std::abs(tr.energy - EN), 1e-3 * EN) << "N=" << N;
    EXPECT_GE(*tr.energy_rel_gap, 0.0);  // never below the infimum
    EXPECT_LT(*tr.kernel_rel_err, previous);
    previous = *tr.kernel_rel_err;
    std::printf("[measure] tanh N=%d: E=%.12g E_N=%.12g gap to infimum %.3e, Krel %.3e\n", N, tr.energy, EN,
                *tr.energy_rel_gap, *tr.kernel_rel_err);
  }
}

TEST(Training, ResultsDoNotDependOnTheInputEmbedding) {
  PointSpec base = point(3, 4.0, 0.5, 1e-2);
  const Report ref = solve_train(base, TrainOptions{});
  for (int d : {8, 20, 64})
    for (std::uint64_t rot : {1u, 9u}) {
      PointSpec s = base;
      s.geometry.input_dim = d;
      s.geometry.rotation_seed = rot;
      const Report r = solve_train(s, TrainOptions{});
      EXPECT_NEAR(r.energy, ref.energy, 1e-8 * ref.energy) << "d=" << d << " rotation " << rot;
      EXPECT_NEAR(r.ps, ref.ps, 1e-8);
      EXPECT_LT(kernel_relative_error(r.kernel, ref.kernel), 1e-6);
    }
}

// Linear networks have no spurious minima, so every optimiser must reach the same energy.
TEST(Training, FirstOrderOptimisersConvergeOnSmoothProblems) {
  const PointSpec spec = point(2, 1.0, 1.0, 1e-1, "linear", 8);
  TrainOptions lbfgs;
  const Report ref = solve_train(spec, lbfgs);
  for (Optimizer o : {Optimizer::adam, Optimizer::gd}) {
    TrainOptions opt;
    opt.optimizer = o;
    opt.lr = o == Optimizer::adam ? 3e-3 : 5e-2;
    opt.max_iter = 200000;
    opt.grad_tol = 1e-7;
    const Report r = solve_train(spec, opt);
    EXPECT_EQ(r.status, Status::converged) << to_string(o);
    EXPECT_NEAR(r.energy, ref.energy, 1e-10) << to_string(o);
    EXPECT_NEAR(r.energy, solve_theory(spec).energy, 1e-10) << to_string(o);
  }
}

TEST(Training, DivergenceIsAStatusNotACrash) {
  TrainOptions opt;
  opt.optimizer = Optimizer::gd;
  opt.lr = 1e3;
  opt.max_iter = 1000;
  const Report r = solve_train(point(3, 1.0, 1.0, 1e-2), opt);
  EXPECT_EQ(r.status, Status::diverged);
  EXPECT_TRUE(std::isnan(r.energy));
}

// At the narrowest optimal width N = 2m every neuron must find its own ray; some seeds end in
// a local minimum. This is a measurement: it is printed, and only "sometimes" is asserted.
TEST(Training, NarrowestOptimalWidthOverSeeds) {
  for (int m : {2, 3}) {
    const PointSpec spec = point(m, 1.0, 1.0, 1e-2, "relu", 2 * m);
    const double Estar = solve_theory(spec).energy;
    int global = 0;
    const int seeds = 20;
    for (int seed = 0; seed < seeds; ++seed) {
      TrainOptions opt;
      opt.seed = seed;
      const Report r = solve_train(spec, opt);
      global += std::abs(r.energy - Estar) <= 1e-8 * Estar;
    }
    std::printf("[measure] N=2m=%d: %d of %d seeds reach the global minimum\n", 2 * m, global, seeds);
    EXPECT_GT(global, 0);
  }
}


// Learning trajectories: what is recorded is the loss and the kernel of the weights at those
// iterations, from the initial weights on, and L-BFGS never climbs (beyond its rounding slack).
TEST(Training, TrajectoryRecordsTheLossAndKernelAlongTheRun) {
  for (const char* act : {"relu", "tanh"}) {
    const PointSpec spec = point(3, 1.0, 0.5, 1e-2, act, 48);
    TrainOptions opt;
    opt.seed = 4;
    opt.record_every = 25;
    const Problem pb = build_problem(spec);
    const TwoLayerLoss loss(pb.Xa, pb.task.Y(), spec.model.activation, 48, 1e-2, 1e-2);
    const TrainResult tr = train(loss, opt);
    ASSERT_GE(tr.trajectory.size(), 3u) << act;
    const Eigen::VectorXd theta0 = loss.initial(opt.seed);
    EXPECT_EQ(tr.trajectory[0].iteration, 0);
    EXPECT_EQ(tr.trajectory[0].loss, loss(theta0, nullptr));
    Eigen::MatrixXd A;
    spec.model.activation.apply(loss.preactivations(theta0), A);
    EXPECT_LE((tr.trajectory[0].kernel - A * A.transpose()).norm(), 1e-12 * A.squaredNorm());
    for (std::size_t k = 1; k < tr.trajectory.size(); ++k) {
      EXPECT_EQ(tr.trajectory[k].iteration, 25 * static_cast<int>(k));
      EXPECT_LE(tr.trajectory[k].loss, tr.trajectory[k - 1].loss * (1 + 1e-11)) << act << " at " << k;
    }
    EXPECT_LE(tr.trajectory.back().iteration, tr.iterations);
    EXPECT_GE(tr.trajectory.back().loss, tr.loss * (1 - 1e-12));
    // The Report's PS of each recorded kernel.
    const Report r = solve_train(spec, opt);
    ASSERT_EQ(r.trajectory_ps.size(), tr.trajectory.size());
    for (std::size_t k = 0; k < tr.trajectory.size(); ++k) {
      EXPECT_EQ(r.trajectory_energy[k], tr.trajectory[k].loss);
      EXPECT_EQ(r.trajectory_ps[k], parallelism_score(pb.task, tr.trajectory[k].kernel).ps);
    }
  }
}

// Units of the default phase diagram that ended at stationarity 1e-8…6e-8 (status max_iter) with
// their energy already at the optimum: a few neurons 1e-6…1e-3 times weaker than the rest were
// still shrinking towards zero. With them at zero (exactly stationary there) and re-polished,
// every one converges (the whole phase diagram: 248 → 300 of 300 training units).
TEST(Training, WeakNeuronsDoNotHoldBackStationarity) {
  struct Case {
    const char* act;
    double beta;
    std::uint64_t seed;
  };
  for (const Case& c : {Case{"relu", 3.1748021039363996, 4093566012752669}, Case{"relu", 16.0, 3627393811083522},
                        Case{"clipped_relu", 12.699208415745598, 2322366989401052},
                        Case{"clipped_relu", 16.0, 6841972392733693}}) {
    const PointSpec spec = point(3, 1.0, c.beta, 1e-2, c.act, 64);
    TrainOptions opt;
    opt.seed = c.seed;
    const Report r = solve_train(spec, opt);
    EXPECT_EQ(r.status, Status::converged) << c.act << " β=" << c.beta;
    EXPECT_LE(*r.stationarity, 1e-8) << c.act << " β=" << c.beta;
  }
}

// A small initial scale starts training from scale·θ0 (the rich regime of the trajectory figure).
TEST(Training, InitScaleScalesTheInitialWeights) {
  const PointSpec spec = point(3, 1.0, 1.0, 1e-2, "relu", 32);
  const Problem pb = build_problem(spec);
  const TwoLayerLoss loss(pb.Xa, pb.task.Y(), spec.model.activation, 32, 1e-2, 1e-2);
  TrainOptions opt;
  opt.optimizer = Optimizer::gd;
  opt.max_iter = 5;
  opt.record_every = 1;
  opt.init_scale = 1e-3;
  const TrainResult tr = train(loss, opt);
  const Eigen::VectorXd theta0 = 1e-3 * loss.initial(opt.seed);
  EXPECT_EQ(tr.trajectory.at(0).loss, loss(theta0, nullptr));
  opt.init_scale = -1.0;
  EXPECT_THROW(train(loss, opt), InputError);
}

}  // namespace
}  // namespace absrep
