// The neuron partition (issue 6): ctest runs this under mpiexec with 2 ranks (and serially).
// Whatever the number of ranks, a partitioned network computes the same bits as one rank holding
// every neuron: the loss, each neuron's gradient, and a whole training run to its last digit.
#include <gtest/gtest.h>
#include <mpi.h>

#include "model/two_layer.hpp"
#include "parallel/mpi_reducer.hpp"
#include "study/point.hpp"
#include "sweep/mpi_env.hpp"
#include "task/geometry.hpp"

namespace absrep {
namespace {

const cli::MpiReducer& world() {
  static const cli::MpiReducer reducer(MPI_COMM_WORLD);
  return reducer;
}

TEST(NeuronSlice, WholeBlocksCoverTheNetworkOnce) {
  for (int width : {1, 255, 256, 257, 1000, 4096, 100000})
    for (int ranks : {1, 2, 3, 7}) {
      int next = 0;
      for (int r = 0; r < ranks; ++r) {
        const NeuronSlice s = neuron_slice(width, r, ranks);
        EXPECT_EQ(s.first, next) << width << " " << ranks;
        EXPECT_GE(s.count, 0);
        if (s.first + s.count < width) {
          EXPECT_EQ(s.count % kNeuronBlock, 0) << "a slice ends inside a block";
        }
        next = s.first + s.count;
      }
      EXPECT_EQ(next, width);
    }
}

TEST(OrderedDot, DoesNotDependOnWhereTheDataLie) {
  Eigen::VectorXd x = Eigen::VectorXd::Random(1003), y = Eigen::VectorXd::Random(1003);
  const double at_start = ordered_dot(x.data(), y.data(), 1000);
  Eigen::VectorXd xs(1003), ys(1003);
  xs.segment(3, 1000) = x.head(1000);
  ys.segment(1, 1000) = y.head(1000);
  EXPECT_EQ(ordered_dot(xs.data() + 3, ys.data() + 1, 1000), at_start);  // bitwise
  EXPECT_NEAR(at_start, x.head(1000).dot(y.head(1000)), 1e-12);
}

TEST(MpiReducer, SumsAndGathersInRankOrder) {
  const Reducer& r = world();
  Eigen::MatrixXd m = Eigen::MatrixXd::Constant(2, 3, r.rank() + 1.0);
  r.sum(m);
  EXPECT_EQ(m(1, 2), r.ranks() * (r.ranks() + 1) / 2.0);
  const Eigen::VectorXd all = r.gather(Eigen::VectorXd::Constant(r.rank() + 1, r.rank()));
  ASSERT_EQ(all.size(), r.ranks() * (r.ranks() + 1) / 2);
  for (int k = 0, at = 0; k < r.ranks(); at += ++k)
    for (int j = 0; j <= k; ++j) EXPECT_EQ(all(at + j), k);
  EXPECT_EQ(r.max(static_cast<double>(r.rank())), r.ranks() - 1.0);
}

struct Network {
  Eigen::MatrixXd Xa, Y;
};

Network small_problem(int m, double alpha, double beta) {
  PointSpec spec;
  spec.task.labels = m;
  spec.geometry.kind = GeometryKind::aligned;
  spec.geometry.alpha = {alpha};
  spec.geometry.beta = beta;
  const Problem pb = build_problem(spec);
  return {pb.Xa, pb.task.Y()};
}

// The loss and the gradient of a slice equal the serial network's, bit for bit.
TEST(PartitionedLoss, EqualsTheSerialLossAndGradientBitwise) {
  const Network net = small_problem(3, 1.0, 0.5);
  using Path = TwoLayerLoss::Path;
  for (const Path path : {Path::lanes, Path::gemm})
  for (const char* act : {"relu", "tanh", "clipped_relu"})
    for (int width : {300, 1000, 1537}) {
      TwoLayerLoss serial(net.Xa, net.Y, Activation::from_name(act), width, 0.01, 0.02);
      TwoLayerLoss part(net.Xa, net.Y, Activation::from_name(act), width, 0.01, 0.02, world());
      serial.set_path(path);
      part.set_path(path);
      const Eigen::VectorXd theta = serial.initial(7), mine = part.initial(7);
      Eigen::VectorXd g_serial, g_part;
      const double f_serial = serial(theta, &g_serial), f_part = part(mine, &g_part);
      EXPECT_EQ(f_serial, f_part) << act << " N=" << width;
      // The slice's entries of θ and ∇L are rows of W1a and columns of W2.
      const NeuronSlice s = part.slice();
      const auto W1 = serial.W1a(g_serial);
      const auto W2 = serial.W2(g_serial);
      EXPECT_TRUE(part.W1a(g_part) == W1.middleRows(s.first, s.count)) << act << " N=" << width;
      EXPECT_TRUE(part.W2(g_part) == W2.middleCols(s.first, s.count)) << act << " N=" << width;
      EXPECT_TRUE(part.W1a(mine) == serial.W1a(theta).middleRows(s.first, s.count));
      EXPECT_EQ(part.dot(g_part, mine), serial.dot(g_serial, theta));
      EXPECT_NEAR(serial.dot(g_serial, theta), g_serial.dot(theta), 1e-12 * std::abs(g_serial.dot(theta)));
      EXPECT_TRUE(part.preactivations(mine) == serial.preactivations(theta));
    }
}

// A whole training run, polish included, ends on the same bits as the serial one.
TEST(PartitionedTraining, EqualsTheSerialRunBitwise) {
  struct Case {
    const char* act;
    int width;
    double alpha, beta;
  };
  for (const Case& c : {Case{"relu", 700, 1.0, 1.0}, Case{"relu", 900, 0.5, 2.0}, Case{"tanh", 600, 1.0, 1.0},
                        Case{"clipped_relu", 520, 1.0, 0.5}}) {
    PointSpec spec;
    spec.task.labels = 3;
    spec.geometry.kind = GeometryKind::aligned;
    spec.geometry.alpha = {c.alpha};
    spec.geometry.beta = c.beta;
    spec.model.activation = Activation::from_name(c.act);
    spec.model.width = c.width;
    TrainOptions opt;
    opt.seed = 11;
    opt.record_every = 200;
    const Report serial = solve_train(spec, opt);
    const Report part = solve_train(spec, opt, world());
    EXPECT_EQ(part.status, serial.status) << c.act;
    EXPECT_EQ(part.iterations, serial.iterations) << c.act;
    EXPECT_EQ(part.polish_rounds, serial.polish_rounds) << c.act;
    EXPECT_EQ(part.energy, serial.energy) << c.act;
    EXPECT_EQ(*part.stationarity, *serial.stationarity) << c.act;
    EXPECT_TRUE(part.kernel == serial.kernel) << c.act;
    EXPECT_EQ(part.ps, serial.ps) << c.act;
    EXPECT_EQ(part.kkt_min, serial.kkt_min) << c.act;
    EXPECT_EQ(part.trajectory_iteration, serial.trajectory_iteration) << c.act;
    EXPECT_EQ(part.trajectory_energy, serial.trajectory_energy) << c.act;
    EXPECT_EQ(part.trajectory_ps, serial.trajectory_ps) << c.act;
    EXPECT_GE(part.trajectory_energy.size(), 2u);
    if (world().rank() == 0)
      std::printf("[measure] %s N=%d α=%g β=%g on %d ranks: E=%.15g status %s, %d iterations, identical to serial\n",
                c.act, c.width, c.alpha, c.beta, world().ranks(), part.energy, to_string(part.status).c_str(),
                part.iterations);
  }
}

// The mean-field oracle's local-search starts split over the ranks: the same solve, bit for bit
// (m = 4, P = 16: the search oracle, not the exact enumeration).
TEST(PartitionedMeanfield, SharedOracleStartsGiveTheSerialSolve) {
  for (double beta : {1.0, 4.0}) {
    PointSpec spec;
    spec.task.labels = 4;
    spec.geometry.kind = GeometryKind::aligned;
    spec.geometry.alpha = {1.0};
    spec.geometry.beta = beta;
    MeanfieldOptions opt;
    opt.seed = 5;
    const Report serial = solve_meanfield(spec, opt);
    opt.reducer = &world();
    const Report part = solve_meanfield(spec, opt);
    EXPECT_EQ(part.kkt_method, "search");
    EXPECT_EQ(part.energy, serial.energy) << beta;
    EXPECT_EQ(part.kkt_min, serial.kkt_min) << beta;
    EXPECT_EQ(part.iterations, serial.iterations) << beta;
    EXPECT_EQ(part.atoms, serial.atoms) << beta;
    EXPECT_TRUE(part.kernel == serial.kernel) << beta;
  }
}

}  // namespace
}  // namespace absrep

int main(int argc, char** argv) {
  absrep::cli::MpiEnvironment mpi(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  // Only rank 0 prints gtest's report; every rank's failures still fail the run (exit code).
  if (absrep::cli::MpiEnvironment::rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS();
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return failed;
}
