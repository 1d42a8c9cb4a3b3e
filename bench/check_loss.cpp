// bench_loss_paths (ctest, label bench): TwoLayerLoss's loss and gradient, and the candidate
// rewrite the benchmarks time next to it (fused_loss.hpp), against the same written out with plain
// Eigen expressions, at the sizes the benchmarks time and at widths around the point
// where φ(Z) stops fitting in cache. tests/model checks the gradient against finite differences at
// a small size; this checks that what the benchmarks measure computes the same numbers.
#include <cmath>
#include <cstdio>

#include "common.hpp"
#include "fused_loss.hpp"
#include "model/two_layer.hpp"

namespace {

using namespace absrep;

double reference(const TwoLayerLoss& f, const Eigen::VectorXd& theta, Eigen::VectorXd& grad) {
  const Eigen::MatrixXd W1 = f.W1a(theta), W2 = f.W2(theta);
  const Eigen::MatrixXd Z = W1 * f.Xa();
  const Eigen::MatrixXd A = Z.cwiseMax(0.0), dA = (Z.array() > 0).cast<double>().matrix();
  const Eigen::MatrixXd R = f.Y() - W2 * A;
  const Eigen::MatrixXd gW2 = f.lam2() * W2 - R * A.transpose();
  const Eigen::MatrixXd dZ = -((W2.transpose() * R).array() * dA.array()).matrix();
  const Eigen::MatrixXd gW1 = f.lam1() * W1 + dZ * f.Xa().transpose();
  grad = f.pack(gW1, gW2);
  return 0.5 * R.squaredNorm() + 0.5 * f.lam1() * W1.squaredNorm() + 0.5 * f.lam2() * W2.squaredNorm();
}

}  // namespace

int main() {
  int failures = 0;
  // widths with N·P below and above 2^15 (φ(Z) in or out of L2) at P = 8, 32, 128
  const bench::Size sizes[] = {{"s64", 3, 1, 0, 64},    {"s512", 3, 1, 0, 512},   {"s8192", 3, 1, 0, 8192},
                               {"p32", 3, 4, 0, 512},   {"p32w", 3, 4, 0, 2048},  {"m", 5, 4, 0, 1024},
                               {"m17", 2, 8, 0, 300}};
  for (const bench::Size& s : sizes) {
    const Problem& pb = bench::problem_of(s);
    const TwoLayerLoss f(pb.Xa, pb.task.Y(), Activation(ActivationKind::relu), s.width, 0.01, 0.02);
    const bench::FusedReluLoss fused(f);
    for (std::uint64_t seed : {1, 2}) {
      const Eigen::VectorXd theta = 1.5 * f.initial(seed);
      Eigen::VectorXd g_ref;
      const double v_ref = reference(f, theta, g_ref);
      auto check = [&](const char* which, auto&& loss) {
        Eigen::VectorXd g;
        const double v = loss(theta, &g), v_only = loss(theta, nullptr);
        const double ev = std::abs(v - v_ref) / std::abs(v_ref), eg = (g - g_ref).norm() / g_ref.norm();
        const bool ok = ev <= 1e-13 && eg <= 1e-12 && std::abs(v_only - v) <= 1e-15 * std::abs(v);
        failures += !ok;
        std::printf("%-6s P=%-4d N=%-5d seed %d %-7s: loss rel. err %.1e, gradient rel. err %.1e %s\n", s.name.c_str(),
                    s.P(), s.width, static_cast<int>(seed), which, ev, eg, ok ? "ok" : "FAIL");
      };
      check("library", f);
      check("fused", fused);
    }
  }
  return failures ? 1 : 0;
}
