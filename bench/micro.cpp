// Google Benchmark micro-benchmarks of absrep's hot paths (issue 7), at the sizes:
//   small  m = 3, n = 1,  P = 8,    d = 8,    N = 512   (the paper's)
//   medium m = 5, n = 4,  P = 128,  d = 128,  N = 4096
//   large  m = 6, n = 16, P = 1024, d = 1024, N = 1024  (GEMM-bound)
// Matrix-bound benchmarks carry a FLOPS counter; the machine's double-precision GEMM rate is
// measured in the same binary (DGEMM_eigen: Eigen's product as the library is built; DGEMM_openblas:
// OpenBLAS's dgemm_ called directly, when the build found it). The same source also builds
// absrep_bench_eigenblas, where Eigen itself (and the whole library under it) routes products to
// OpenBLAS (EIGEN_USE_BLAS): the ratio of the two binaries is what making OpenBLAS the default buys.
//
// `--absrep-smoke` registers only the smallest case of each benchmark (the ctest smoke run).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common.hpp"
#include "core/lbfgs.hpp"
#include "fused_loss.hpp"
#include "meanfield/energy.hpp"
#include "meanfield/kkt.hpp"
#include "meanfield/solver.hpp"
#include "metrics/metrics.hpp"
#include "model/deep_network.hpp"
#include "model/two_layer.hpp"
#include "study/point.hpp"
#include "theory/closed_form.hpp"

#ifdef ABSREP_HAVE_OPENBLAS
extern "C" {
#ifndef EIGEN_USE_BLAS  // otherwise Eigen's misc/blas.h has declared it
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc);
#endif
void openblas_set_num_threads(int);
char* openblas_get_corename(void);
char* openblas_get_config(void);
}
#endif

namespace {

using namespace absrep;
using bench::Size;
using benchmark::Counter;

Counter flops(double per_iteration) { return Counter(per_iteration, Counter::kIsIterationInvariantRate); }

// ---- DGEMM: C (M×N) = A (M×K) · B (K×N) ---------------------------------------------------------

struct Gemm {
  std::string name;
  int M, N, K;
};

void dgemm_eigen(benchmark::State& state, Gemm g) {
  const Eigen::MatrixXd A = Eigen::MatrixXd::Random(g.M, g.K), B = Eigen::MatrixXd::Random(g.K, g.N);
  Eigen::MatrixXd C(g.M, g.N);
  for (auto _ : state) {
    C.noalias() = A * B;
    benchmark::DoNotOptimize(C.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOPS"] = flops(2.0 * g.M * g.N * g.K);
}

#ifdef ABSREP_HAVE_OPENBLAS
void dgemm_openblas(benchmark::State& state, Gemm g) {
  const Eigen::MatrixXd A = Eigen::MatrixXd::Random(g.M, g.K), B = Eigen::MatrixXd::Random(g.K, g.N);
  Eigen::MatrixXd C(g.M, g.N);
  const double one = 1.0, zero = 0.0;
  for (auto _ : state) {
    dgemm_("N", "N", &g.M, &g.N, &g.K, &one, A.data(), &g.M, B.data(), &g.K, &zero, C.data(), &g.M);
    benchmark::DoNotOptimize(C.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOPS"] = flops(2.0 * g.M * g.N * g.K);
}
#endif

// ---- The two-layer network ----------------------------------------------------------------------

struct Net {
  const Problem& pb;
  TwoLayerLoss loss;
  Eigen::VectorXd theta;
  explicit Net(const Size& s)
      : pb(bench::problem_of(s)), loss(pb.Xa, pb.task.Y(), Activation(ActivationKind::relu), s.width, 0.01, 0.01),
        theta(loss.initial(1)) {}
  double N() const { return loss.shape().width; }
  double D() const { return loss.shape().inputs; }
  double P() const { return pb.P(); }
  double m() const { return loss.shape().outputs; }
};

// The library's loss + gradient on the path it chooses (lanes at the paper's sizes), or forced
// onto the GEMM path (LossGradGemm/*: what the lane kernels buy).
void loss_grad(benchmark::State& state, Size s, bool gemm) {
  Net net(s);
  if (gemm) net.loss.set_path(TwoLayerLoss::Path::gemm);
  Eigen::VectorXd g(net.theta.size());
  for (auto _ : state) benchmark::DoNotOptimize(net.loss(net.theta, &g));
  state.counters["FLOPS"] = flops(bench::loss_grad_flops(net.N(), net.D(), net.P(), net.m()));
}

// What a first-order step adds to the loss + gradient: the trainer's norm of the gradient (through
// the loss's rank-independent block-ordered dot) against Eigen's, and the GD update θ −= lr·g.
void grad_norm(benchmark::State& state, Size s, bool ordered) {
  Net net(s);
  Eigen::VectorXd g(net.theta.size());
  net.loss(net.theta, &g);
  for (auto _ : state) benchmark::DoNotOptimize(ordered ? net.loss.norm(g) : g.norm());
  state.counters["bytes_per_s"] = Counter(8.0 * static_cast<double>(g.size()), Counter::kIsIterationInvariantRate);
}

void gd_update(benchmark::State& state, Size s) {
  Net net(s);
  Eigen::VectorXd g(net.theta.size()), x = net.theta;
  net.loss(net.theta, &g);
  for (auto _ : state) {
    x -= 1e-9 * g;
    benchmark::DoNotOptimize(x.data());
  }
}

// The candidate rewrite of the relu loss + gradient (bench/fused_loss.hpp), same counter.
void loss_grad_fused(benchmark::State& state, Size s) {
  Net net(s);
  const bench::FusedReluLoss fused(net.loss);
  Eigen::VectorXd g(net.theta.size());
  for (auto _ : state) benchmark::DoNotOptimize(fused(net.theta, &g));
  state.counters["FLOPS"] = flops(bench::loss_grad_flops(net.N(), net.D(), net.P(), net.m()));
}

void loss_only(benchmark::State& state, Size s) {
  Net net(s);
  for (auto _ : state) benchmark::DoNotOptimize(net.loss(net.theta, nullptr));
  state.counters["FLOPS"] = flops(bench::loss_flops(net.N(), net.D(), net.P(), net.m()));
}

// The deep network with L hidden layers of width N (bias in layer 1 only), same sizes. Flops of one
// loss + gradient: forward 2NDP + (L−1)·2N²P + 2mNP; backward the same again for the weight
// gradients plus the deltas through layers L+1 … 2 ((L−1)·2N²P + 2mNP).
void deep_loss_grad(benchmark::State& state, Size s, int depth) {
  const Problem& pb = bench::problem_of(s);
  const DeepLoss loss(pb.Xa, pb.task.Y(), Activation(ActivationKind::relu), s.width, depth,
                      std::vector<double>(static_cast<std::size_t>(depth) + 1, 0.01));
  const Eigen::VectorXd theta = loss.initial(1);
  Eigen::VectorXd g(theta.size());
  for (auto _ : state) benchmark::DoNotOptimize(loss(theta, &g));
  const double N = s.width, D = pb.Xa.rows(), P = pb.P(), m = pb.task.labels();
  state.counters["FLOPS"] = flops(4 * N * D * P + (depth - 1) * 6 * N * N * P + 6 * m * N * P);
}

// One L-BFGS iteration as the trainer runs it (core/lbfgs.hpp: memory 10, approximate-Wolfe line
// search, inner products through the loss's reducer): each benchmark iteration restarts `iters`
// L-BFGS iterations from the same initial weights. Counters: L-BFGS iterations per second and loss
// evaluations per L-BFGS iteration.
void lbfgs_iteration(benchmark::State& state, Size s, int iters) {
  Net net(s);
  LbfgsOptions opt;
  opt.grad_tol = 0.0;
  opt.max_iter = iters;
  const auto dot = [&](const Eigen::VectorXd& a, const Eigen::VectorXd& b) { return net.loss.dot(a, b); };
  const auto f = [&](const Eigen::VectorXd& x, Eigen::VectorXd& grad) { return net.loss(x, &grad); };
  long evaluations = 0, iterations = 0;
  for (auto _ : state) {
    Eigen::VectorXd x = net.theta;
    const LbfgsResult r = lbfgs_minimize(f, x, dot, opt);
    iterations += r.iterations;
    evaluations += r.evaluations;
    benchmark::DoNotOptimize(r.f);
  }
  state.counters["lbfgs_iter"] = Counter(static_cast<double>(iterations), Counter::kIsRate);
  state.counters["evals_per_iter"] = static_cast<double>(evaluations) / static_cast<double>(iterations);
}

// ---- The mean-field problem -----------------------------------------------------------------------

struct MeanField {
  const Problem& pb;
  EffectiveProblem ep;
  Eigen::MatrixXd H;  // P×N preactivations of the initial network
  explicit MeanField(const Size& s, ActivationKind act = ActivationKind::relu)
      : pb(bench::problem_of(s)), ep(pb.Kx, pb.task.Ky(), Activation(act), 0.01, 0.01) {
    const TwoLayerLoss loss(pb.Xa, pb.task.Y(), Activation(act), s.width, 0.01, 0.01);
    H = (loss.W1a(loss.initial(1)) * pb.Xa).transpose();
  }
};

// E(H) and its gradient: Kx⁺H (2P²N), K = φ(H)φ(H)ᵀ (P²N), G(K) and tr(Ky (K+λ2)⁻¹) (two
// Cholesky factorisations, P³/3 each, and three P×P solves, 2P³ each), G·φ(H) (2P²N).
void energy_grad(benchmark::State& state, Size s) {
  MeanField mf(s);
  Eigen::MatrixXd grad;
  for (auto _ : state) benchmark::DoNotOptimize(mf.ep.energy(mf.H, &grad));
  const double P = mf.ep.P(), N = static_cast<double>(mf.H.cols());
  state.counters["FLOPS"] = flops(5 * P * P * N + (2.0 / 3 + 6) * P * P * P);
}

// e(h) and its gradient for a frozen G: two matrix-vector products (4P², GEMV-bound).
void single_neuron(benchmark::State& state, Size s) {
  MeanField mf(s);
  const Eigen::MatrixXd G = mf.ep.G(mf.ep.kernel(mf.H));
  const Eigen::VectorXd h = mf.H.col(0);
  Eigen::VectorXd grad;
  for (auto _ : state) benchmark::DoNotOptimize(mf.ep.single_neuron_energy(G, h, &grad));
  const double P = mf.ep.P();
  state.counters["FLOPS"] = flops(4 * P * P);
}

// The scale-free KKT ratio and its gradient (what the search oracle's local searches evaluate).
void kkt_ratio_grad(benchmark::State& state, Size s) {
  MeanField mf(s);
  const Eigen::MatrixXd G = mf.ep.G(mf.ep.kernel(mf.H));
  const Eigen::VectorXd h = mf.H.col(0);
  Eigen::VectorXd grad;
  for (auto _ : state) benchmark::DoNotOptimize(kkt_ratio(mf.ep, G, h, &grad));
  const double P = mf.ep.P();
  state.counters["FLOPS"] = flops(4 * P * P);
}

// The exact relu certificate: all 3^P − 1 sign faces (6560 at P = 8), at the closed-form optimum.
void kkt_exact(benchmark::State& state, Size s) {
  MeanField mf(s);
  const ClosedForm cf = closed_form(mf.pb.task, mf.pb.geometry, mf.ep.activation(), 0.01, 0.01);
  long faces = 0;
  for (auto _ : state) {
    const KktReport rep = kkt_min(mf.ep, cf.K);
    faces += rep.evaluated;
    benchmark::DoNotOptimize(rep.kkt_min);
  }
  state.counters["faces"] = Counter(static_cast<double>(faces), Counter::kIsRate);
}

// The Frank–Wolfe solver at a study point, with the task's symmetries (as `absrep meanfield`).
// max_iter = 1 is one fully corrective step (oracle, new atoms, masses by projected Newton,
// particle polish, masses again) followed by the certifying oracle call; the single step is not
// exposed on its own. max_iter = 100 is the full certified solve.
void meanfield_solve(benchmark::State& state, double alpha, int max_iter) {
  PointSpec spec = bench::point_of(bench::kSmall);
  spec.geometry.kind = GeometryKind::aligned;
  spec.geometry.alpha = {alpha};
  spec.geometry.beta = 1.0;
  const Problem pb = build_problem(spec);
  const EffectiveProblem ep(pb.Kx, pb.task.Ky(), spec.model.activation, 0.01, 0.01);
  MeanfieldOptions opt;
  opt.max_iter = max_iter;
  opt.symmetries = sample_symmetries(pb.task, pb.geometry);
  double kkt = 0.0, energy = 0.0;
  for (auto _ : state) {
    const MeanfieldResult r = minimize_over_measures(ep, opt);
    kkt = r.kkt_min;
    energy = r.energy;
    benchmark::DoNotOptimize(r.energy);
  }
  state.counters["kkt_min"] = kkt;
  state.counters["energy"] = energy;
}

// A whole sweep unit of each solver at the paper's point (build the problem, solve, describe).
void unit_meanfield(benchmark::State& state) {
  const PointSpec spec = bench::point_of(bench::kSmall);
  for (auto _ : state) benchmark::DoNotOptimize(solve_meanfield(spec, MeanfieldOptions{}).energy);
}

void unit_train(benchmark::State& state) {
  PointSpec spec = bench::point_of(bench::kSmall);
  spec.model.width = 64;
  TrainOptions opt;
  opt.seed = 1;
  for (auto _ : state) benchmark::DoNotOptimize(solve_train(spec, opt).energy);
}

// ---- Parallelism score from a kernel: M_ᵀKM between class prototypes (2P²C + 2PC²) ----------

void parallelism(benchmark::State& state, Size s) {
  const Problem& pb = bench::problem_of(s);
  const Eigen::MatrixXd R = Eigen::MatrixXd::Random(64, pb.P());
  const Eigen::MatrixXd K = R.transpose() * R;
  for (auto _ : state) benchmark::DoNotOptimize(parallelism_score(pb.task, K).ps);
  const double P = pb.P(), C = pb.task.classes();
  state.counters["FLOPS"] = flops(2 * P * P * C + 2 * P * C * C);
}

void register_all(bool smoke) {
  const std::vector<Size> sizes = smoke ? std::vector<Size>{bench::kSmall}
                                        : std::vector<Size>{bench::kSmall, bench::kMedium, bench::kLarge};
  using benchmark::kMillisecond;
  using benchmark::kMicrosecond;
  // DGEMM: square sizes and the exact shapes of the loss's two big products.
  std::vector<Gemm> gemms = {{"n=64", 64, 64, 64}};
  if (!smoke) {
    gemms.insert(gemms.end(), {{"n=256", 256, 256, 256}, {"n=512", 512, 512, 512}, {"n=1024", 1024, 1024, 1024},
                               {"n=2048", 2048, 2048, 2048}});
    for (const Size& s : sizes) {
      const int N = s.width, D = s.d() + 1, P = s.P();
      gemms.push_back({s.name + "_fwd(NxDxP)", N, P, D});
      gemms.push_back({s.name + "_grad(NxPxD)", N, D, P});
    }
  }
  for (const Gemm& g : gemms) {
    benchmark::RegisterBenchmark(("DGEMM_eigen/" + g.name).c_str(), dgemm_eigen, g)->Unit(kMicrosecond);
#ifdef ABSREP_HAVE_OPENBLAS
    benchmark::RegisterBenchmark(("DGEMM_openblas/" + g.name).c_str(), dgemm_openblas, g)->Unit(kMicrosecond);
#endif
  }
  for (const Size& s : sizes) {
    benchmark::RegisterBenchmark(("LossGrad/" + s.name).c_str(), loss_grad, s, false)->Unit(kMicrosecond);
    if (Net(s).loss.path() == TwoLayerLoss::Path::lanes)
      benchmark::RegisterBenchmark(("LossGradGemm/" + s.name).c_str(), loss_grad, s, true)->Unit(kMicrosecond);
    benchmark::RegisterBenchmark(("LossGradFused/" + s.name).c_str(), loss_grad_fused, s)->Unit(kMicrosecond);
    benchmark::RegisterBenchmark(("Loss/" + s.name).c_str(), loss_only, s)->Unit(kMicrosecond);
    benchmark::RegisterBenchmark(("GradNormOrdered/" + s.name).c_str(), grad_norm, s, true)->Unit(kMicrosecond);
    benchmark::RegisterBenchmark(("GradNormEigen/" + s.name).c_str(), grad_norm, s, false)->Unit(kMicrosecond);
    benchmark::RegisterBenchmark(("GdUpdate/" + s.name).c_str(), gd_update, s)->Unit(kMicrosecond);
    benchmark::RegisterBenchmark(("DeepLossGrad/" + s.name + "_L2").c_str(), deep_loss_grad, s, 2)
        ->Unit(kMicrosecond);
    benchmark::RegisterBenchmark(("LbfgsIteration/" + s.name).c_str(), lbfgs_iteration, s,
                                 smoke ? 2 : (s.P() >= 1024 ? 3 : 10))
        ->Unit(kMillisecond);
    benchmark::RegisterBenchmark(("EnergyGrad/" + s.name).c_str(), energy_grad, s)->Unit(kMicrosecond);
    benchmark::RegisterBenchmark(("SingleNeuronEnergyGrad/" + s.name).c_str(), single_neuron, s)->Unit(kMicrosecond);
    benchmark::RegisterBenchmark(("KktRatioGrad/" + s.name).c_str(), kkt_ratio_grad, s)->Unit(kMicrosecond);
    benchmark::RegisterBenchmark(("PS/" + s.name).c_str(), parallelism, s)->Unit(kMicrosecond);
  }
  benchmark::RegisterBenchmark("KktExact/small", kkt_exact, bench::kSmall)->Unit(kMillisecond);
  benchmark::RegisterBenchmark("MeanfieldStep/small_alpha1", meanfield_solve, 1.0, 1)->Unit(kMillisecond);
  benchmark::RegisterBenchmark("MeanfieldSolve/small_alpha1", meanfield_solve, 1.0, 100)->Unit(kMillisecond);
  if (!smoke) {
    benchmark::RegisterBenchmark("MeanfieldStep/small_alpha0.25", meanfield_solve, 0.25, 1)->Unit(kMillisecond);
    benchmark::RegisterBenchmark("MeanfieldSolve/small_alpha0.25", meanfield_solve, 0.25, 100)->Unit(kMillisecond);
    benchmark::RegisterBenchmark("Unit/meanfield_small", unit_meanfield)->Unit(kMillisecond);
    benchmark::RegisterBenchmark("Unit/train_small_N64", unit_train)->Unit(kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool smoke = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--absrep-smoke") == 0)
      smoke = true;
    else
      args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
#ifdef ABSREP_HAVE_OPENBLAS
  openblas_set_num_threads(1);
  benchmark::AddCustomContext("openblas", std::string(openblas_get_corename()) + " / " + openblas_get_config());
#endif
#ifdef EIGEN_USE_BLAS
  benchmark::AddCustomContext("eigen_products", "OpenBLAS (EIGEN_USE_BLAS)");
#else
  benchmark::AddCustomContext("eigen_products", "Eigen's own GEMM");
#endif
  benchmark::AddCustomContext("eigen_version", std::to_string(EIGEN_WORLD_VERSION) + "." +
                                                   std::to_string(EIGEN_MAJOR_VERSION) + "." +
                                                   std::to_string(EIGEN_MINOR_VERSION));
  register_all(smoke);
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
