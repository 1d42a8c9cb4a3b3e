#include "train/deep_trainer.hpp"

#include <LBFGS.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "core/finish_lbfgs.hpp"

namespace absrep {

namespace {

// Keeps the best finite point; a non-finite trial reads as a wall so line searches bisect back.
struct BestPoint {
  const DeepLoss& loss;
  Eigen::VectorXd best;
  double best_f = std::numeric_limits<double>::infinity();
  double operator()(const Eigen::VectorXd& x, Eigen::VectorXd& grad) {
    const double f = loss(x, &grad);
    if (!std::isfinite(f) || !grad.allFinite()) {
      grad.setZero(x.size());
      return 1e300;
    }
    if (f < best_f) best_f = f, best = x;
    return f;
  }
};

}  // namespace

TrainResult train_deep(const DeepLoss& loss, const TrainOptions& opt) {
  const auto start = std::chrono::steady_clock::now();
  TrainResult r;
  r.theta = loss.initial(opt.seed);
  BestPoint f{loss, {}};
  Eigen::VectorXd g;
  if (!std::isfinite(loss(r.theta, &g))) {
    r.status = Status::diverged;
    r.loss = r.stationarity = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  LBFGSpp::LBFGSParam<double> param;
  param.m = opt.lbfgs_memory;
  param.epsilon = opt.grad_tol;
  param.epsilon_rel = 0.0;
  param.max_iterations = opt.max_iter;
  param.linesearch = LBFGSpp::LBFGS_LINESEARCH_BACKTRACKING_STRONG_WOLFE;
  param.max_linesearch = 60;
  LBFGSpp::LBFGSSolver<double, LBFGSpp::LineSearchNocedalWright> solver(param);
  Eigen::VectorXd x = r.theta;
  double fx = 0.0;
  try {
    r.iterations = solver.minimize(f, x, fx);
  } catch (const std::exception& e) {
    r.note = std::string("L-BFGS stopped: ") + e.what();
  }
  r.theta = f.best;
  if (r.iterations < opt.max_iter) {
    const double inf = std::numeric_limits<double>::infinity();
    const Eigen::VectorXd lb = Eigen::VectorXd::Constant(r.theta.size(), -inf), ub = -lb;
    r.iterations += finish_lbfgs(f, r.theta, lb, ub, opt.grad_tol, opt.max_iter - r.iterations);
  }
  r.loss = loss(r.theta, &g);
  r.stationarity = g.norm();
  r.status = !std::isfinite(r.loss) ? Status::diverged
             : r.stationarity <= opt.grad_tol ? Status::converged
                                              : Status::max_iter;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace absrep
