// absrep_peer: the absrep side of the PyTorch comparison (bench/peer/compare.py).
//
//   absrep_peer export    PROBLEM --out DIR        Xa.npy (D×P), Y.npy (m×P), theta0.npy: the problem
//                                                   and initial weights the PyTorch side starts from
//   absrep_peer time      PROBLEM --optimizer gd|adam|lbfgs --lr X --iters K [--repeats R]
//                                                   seconds per optimiser iteration of absrep::train
//   absrep_peer solve     PROBLEM [--repeats R]    time to solution: train() with its defaults
//                                                   (L-BFGS, grad_tol 1e-8, active-set polish)
//   absrep_peer meanfield PROBLEM [--repeats R]    the certified mean-field solve at the point
//
// PROBLEM: --labels m --per-class n --input-dim d (0: P) --width N --activation NAME --lam X
//          --alpha A --beta B --seed S; --clock cpu|wall. Whitened inputs unless --alpha/--beta is given (aligned).
// Output: one JSON object on stdout. Every timed mode runs once untimed first (warm-up); times
// are process CPU time (--clock cpu, the default: one thread, robust to other load) or wall time
// (--clock wall), best of --repeats. Per-iteration time is (t(K) − t(1)) /
// (iterations(K) − iterations(1)), so the fixed cost of a run (initial weights, the final loss,
// the stationarity measure) is not charged to the iterations.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.hpp"
#include "study/point.hpp"

namespace {

using namespace absrep;

struct Args {
  std::string mode;
  bench::Size size{"cli", 3, 1, 0, 64};
  std::string activation = "relu";
  double lam = 0.01;
  double alpha = -1, beta = -1;
  std::uint64_t seed = 1;
  std::string out;
  std::string optimizer = "gd";
  double lr = 0.0;
  int iters = 100;
  int repeats = 3;
  bool cpu_clock = true;  // --clock cpu (process CPU time) | wall (train()'s own steady clock)
};

// Seconds of `f()`: process CPU time (robust to other processes sharing the cores) or wall time.
template <class F>
double timed(bool cpu, F&& f) {
  const clockid_t id = cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
  timespec t0{}, t1{};
  clock_gettime(id, &t0);
  f();
  clock_gettime(id, &t1);
  return double(t1.tv_sec - t0.tv_sec) + 1e-9 * double(t1.tv_nsec - t0.tv_nsec);
}

Args parse(int argc, char** argv) {
  if (argc < 2) throw std::invalid_argument("usage: absrep_peer export|time|solve|meanfield [options]");
  Args a;
  a.mode = argv[1];
  for (int i = 2; i < argc; i += 2) {
    const std::string key = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument("missing value for " + key);
    const std::string v = argv[i + 1];
    if (key == "--labels") a.size.labels = std::stoi(v);
    else if (key == "--per-class") a.size.per_class = std::stoi(v);
    else if (key == "--input-dim") a.size.input_dim = std::stoi(v);
    else if (key == "--width") a.size.width = std::stoi(v);
    else if (key == "--activation") a.activation = v;
    else if (key == "--lam") a.lam = std::stod(v);
    else if (key == "--alpha") a.alpha = std::stod(v);
    else if (key == "--beta") a.beta = std::stod(v);
    else if (key == "--seed") a.seed = std::stoull(v);
    else if (key == "--out") a.out = v;
    else if (key == "--optimizer") a.optimizer = v;
    else if (key == "--lr") a.lr = std::stod(v);
    else if (key == "--iters") a.iters = std::stoi(v);
    else if (key == "--repeats") a.repeats = std::stoi(v);
    else if (key == "--clock") a.cpu_clock = v == "cpu";
    else throw std::invalid_argument("unknown option " + key);
  }
  return a;
}

PointSpec spec_of(const Args& a) {
  PointSpec spec = bench::point_of(a.size, a.activation, a.lam);
  if (a.alpha > 0 || a.beta > 0) {
    spec.geometry.kind = GeometryKind::aligned;
    spec.geometry.alpha = {a.alpha > 0 ? a.alpha : 1.0};
    spec.geometry.beta = a.beta > 0 ? a.beta : 1.0;
  }
  return spec;
}

// A column-major float64 .npy file (numpy reads it with the right shape).
void write_npy(const std::string& path, const double* data, std::vector<long> shape) {
  std::string dims;
  for (long s : shape) dims += std::to_string(s) + ",";
  if (shape.size() > 1) dims.pop_back();
  std::string header = "{'descr': '<f8', 'fortran_order': True, 'shape': (" + dims + "), }";
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot write " + path);
  f.write("\x93NUMPY\x01\x00", 8);
  const unsigned short len = static_cast<unsigned short>(header.size());
  f.put(static_cast<char>(len & 0xff));
  f.put(static_cast<char>(len >> 8));
  f << header;
  long n = 1;
  for (long s : shape) n *= s;
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * sizeof(double)));
}

std::string num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  std::string s = buf;
  return (s == "nan" || s == "-nan" || s == "inf" || s == "-inf") ? "null" : s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int run(const Args& a) {
  const PointSpec spec = spec_of(a);
  const Problem pb = build_problem(spec);
  const TwoLayerLoss loss(pb.Xa, pb.task.Y(), spec.model.activation, spec.model.width, spec.model.lam1,
                          spec.model.lam2);
  const std::string shape = "\"P\": " + std::to_string(pb.P()) + ", \"D\": " + std::to_string(pb.Xa.rows()) +
                            ", \"m\": " + std::to_string(pb.task.labels()) + ", \"N\": " +
                            std::to_string(spec.model.width);
  if (a.mode == "export") {
    const Eigen::VectorXd theta0 = loss.initial(a.seed);
    write_npy(a.out + "/Xa.npy", pb.Xa.data(), {static_cast<long>(pb.Xa.rows()), static_cast<long>(pb.Xa.cols())});
    const Eigen::MatrixXd& Y = pb.task.Y();
    write_npy(a.out + "/Y.npy", Y.data(), {static_cast<long>(Y.rows()), static_cast<long>(Y.cols())});
    write_npy(a.out + "/theta0.npy", theta0.data(), {static_cast<long>(theta0.size())});
    std::printf("{%s, \"loss0\": %s}\n", shape.c_str(), num(loss(theta0, nullptr)).c_str());
    return 0;
  }
  if (a.mode == "time") {
    TrainOptions opt;
    opt.optimizer = optimizer_from_string(a.optimizer);
    opt.lr = a.lr;
    opt.grad_tol = 0.0;
    opt.polish = false;
    opt.seed = a.seed;
    std::vector<double> per_iter;
    TrainResult full;
    int base_iterations = 0;
    opt.max_iter = a.iters;
    train(loss, opt);  // warm-up, not timed
    for (int r = 0; r < a.repeats; ++r) {
      opt.max_iter = 1;
      TrainResult one;
      const double t1 = timed(a.cpu_clock, [&] { one = train(loss, opt); });
      opt.max_iter = a.iters;
      const double tk = timed(a.cpu_clock, [&] { full = train(loss, opt); });
      base_iterations = one.iterations;
      const int extra = full.iterations - one.iterations;
      if (extra > 0) per_iter.push_back((tk - t1) / extra);
    }
    const double best = per_iter.empty() ? 0.0 : *std::min_element(per_iter.begin(), per_iter.end());
    const double med = per_iter.empty() ? 0.0 : median(per_iter);
    std::printf(
        "{%s, \"optimizer\": \"%s\", \"iterations\": %d, \"base_iterations\": %d, \"seconds_run\": %s, "
        "\"seconds_per_iter\": %s, \"seconds_per_iter_median\": %s, \"loss\": %s, \"status\": \"%s\"}\n",
        shape.c_str(), a.optimizer.c_str(), full.iterations, base_iterations, num(full.seconds).c_str(),
        num(best).c_str(), num(med).c_str(), num(full.loss).c_str(), to_string(full.status).c_str());
    return 0;
  }
  if (a.mode == "solve") {
    TrainOptions opt;
    opt.seed = a.seed;
    std::vector<double> secs;
    TrainResult r = train(loss, opt);  // warm-up, not timed
    for (int k = 0; k < a.repeats; ++k) secs.push_back(timed(a.cpu_clock, [&] { r = train(loss, opt); }));
    std::printf(
        "{%s, \"seconds\": %s, \"seconds_median\": %s, \"loss\": %s, \"stationarity\": %s, \"iterations\": %d, "
        "\"polish_rounds\": %d, \"status\": \"%s\"}\n",
        shape.c_str(), num(*std::min_element(secs.begin(), secs.end())).c_str(), num(median(secs)).c_str(),
        num(r.loss).c_str(), num(r.stationarity).c_str(), r.iterations, r.polish_rounds, to_string(r.status).c_str());
    return 0;
  }
  if (a.mode == "meanfield") {
    std::vector<double> secs;
    Report r = solve_meanfield(spec, MeanfieldOptions{});  // warm-up, not timed
    for (int k = 0; k < a.repeats; ++k)
      secs.push_back(timed(a.cpu_clock, [&] { r = solve_meanfield(spec, MeanfieldOptions{}); }));
    std::printf(
        "{%s, \"seconds\": %s, \"seconds_median\": %s, \"energy\": %s, \"gap_bound\": %s, \"kkt_min\": %s, "
        "\"kkt_method\": \"%s\", \"atoms\": %d, \"ps\": %s, \"status\": \"%s\"}\n",
        shape.c_str(), num(*std::min_element(secs.begin(), secs.end())).c_str(), num(median(secs)).c_str(),
        num(r.energy).c_str(), num(r.gap_bound.value_or(NAN)).c_str(), num(r.kkt_min).c_str(), r.kkt_method.c_str(),
        r.atoms.value_or(0), num(r.ps).c_str(), to_string(r.status).c_str());
    return 0;
  }
  throw std::invalid_argument("unknown mode " + a.mode);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "absrep_peer: %s\n", e.what());
    return 2;
  }
}
