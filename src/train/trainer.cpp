#include "train/trainer.hpp"

#include <LBFGS.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/box_qp.hpp"
#include "core/finish_lbfgs.hpp"
#include "core/errors.hpp"
#include "meanfield/energy.hpp"
#include "train/polish.hpp"

namespace absrep {

std::string to_string(Optimizer o) {
  switch (o) {
    case Optimizer::lbfgs: return "lbfgs";
    case Optimizer::adam: return "adam";
    case Optimizer::gd: return "gd";
  }
  return "?";
}

Optimizer optimizer_from_string(const std::string& name) {
  if (name == "lbfgs") return Optimizer::lbfgs;
  if (name == "adam") return Optimizer::adam;
  if (name == "gd") return Optimizer::gd;
  throw InputError("optimizer", "unknown optimizer '" + name + "' (allowed: lbfgs, adam, gd)");
}

namespace {

struct Diverged : std::runtime_error {
  Diverged() : std::runtime_error("non-finite loss") {}
};

// L-BFGS sees the loss through this adaptor. It counts evaluations and remembers the best
// point in case the line search gives up. A non-finite loss at a trial step is reported as a
// huge finite value with zero slope, so the line search bisects back instead of computing
// NaN steps (LBFGSpp interpolates on function values); non-finite at the start is divergence.
struct LossAdaptor {
  const TwoLayerLoss& loss;
  Eigen::VectorXd best;
  double best_f = std::numeric_limits<double>::infinity();
  int evaluations = 0;
  double operator()(const Eigen::VectorXd& x, Eigen::VectorXd& grad) {
    ++evaluations;
    const double f = loss(x, &grad);
    if (!std::isfinite(f) || !grad.allFinite()) {
      if (best.size() == 0) throw Diverged();
      grad.setZero(x.size());
      return 1e300;
    }
    if (f < best_f) {
      best_f = f;
      best = x;
    }
    return f;
  }
};

void run_lbfgs(const TwoLayerLoss& loss, const TrainOptions& opt, bool kinked, TrainResult& r) {
  LBFGSpp::LBFGSParam<double> param;
  param.m = opt.lbfgs_memory;
  param.epsilon = opt.grad_tol;
  param.epsilon_rel = 0.0;
  param.max_iterations = opt.max_iter;
  param.linesearch = LBFGSpp::LBFGS_LINESEARCH_BACKTRACKING_STRONG_WOLFE;
  param.max_linesearch = 60;
  if (kinked) {
    // On a kink L-BFGS stalls long before the gradient is small; stop on a stall and let the
    // active-set polish finish the job.
    param.past = 20;
    param.delta = 1e-6;
  }
  LBFGSpp::LBFGSSolver<double, LBFGSpp::LineSearchNocedalWright> solver(param);
  LossAdaptor f{loss, {}};
  // A run can end early and wrongly: a line search that gives up, or one that stops on a
  // rejected (non-finite) trial. Restart from the best point while that still helps.
  for (int restart = 0; restart < 5 && r.iterations < opt.max_iter; ++restart) {
    const double before = f.best_f;
    const int evaluations = f.evaluations;
    double fx = 0.0;
    Eigen::VectorXd x = f.best.size() ? f.best : r.theta;
    try {
      r.iterations += solver.minimize(f, x, fx);
    } catch (const Diverged&) {
      r.status = Status::diverged;
      r.note = "non-finite loss at the initial weights";
      return;
    } catch (const std::exception& e) {
      r.iterations += f.evaluations - evaluations;  // the iteration count is lost: count evaluations
      r.note = std::string("L-BFGS stopped: ") + e.what();
    }
    Eigen::VectorXd g;
    loss(f.best, &g);
    if (kinked || g.norm() <= opt.grad_tol || !(f.best_f < before)) break;
  }
  r.theta = f.best;
  if (!kinked && r.iterations < opt.max_iter) {
    const double inf = std::numeric_limits<double>::infinity();
    const Eigen::VectorXd lb = Eigen::VectorXd::Constant(r.theta.size(), -inf), ub = -lb;
    r.iterations += finish_lbfgs(f, r.theta, lb, ub, opt.grad_tol, opt.max_iter - r.iterations);
  }
}

void run_first_order(const TwoLayerLoss& loss, const TrainOptions& opt, TrainResult& r) {
  const bool adam = opt.optimizer == Optimizer::adam;
  const double lr = opt.lr > 0 ? opt.lr : 1e-2;
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  Eigen::VectorXd g(r.theta.size()), m1, m2;
  if (adam) {
    m1.setZero(r.theta.size());
    m2.setZero(r.theta.size());
  }
  for (int it = 1; it <= opt.max_iter; ++it) {
    const double f = loss(r.theta, &g);
    if (!std::isfinite(f) || !g.allFinite()) {
      r.status = Status::diverged;
      r.note = "non-finite loss at iteration " + std::to_string(it);
      r.iterations = it;
      return;
    }
    if (g.norm() <= opt.grad_tol) {
      r.iterations = it - 1;
      return;
    }
    if (adam) {
      m1 = b1 * m1 + (1 - b1) * g;
      m2 = b2 * m2 + (1 - b2) * g.cwiseAbs2();
      const double c1 = 1 - std::pow(b1, it), c2 = 1 - std::pow(b2, it);
      r.theta.array() -= lr * (m1.array() / c1) / ((m2.array() / c2).sqrt() + eps);
    } else {
      r.theta -= lr * g;
    }
    r.iterations = it;
  }
}

// Replace the weights by the exact optimum of the reduced problem around them.
void polish(const TwoLayerLoss& loss, const TrainOptions& opt, TrainResult& r) {
  const Eigen::MatrixXd& Xa = loss.Xa();
  const Eigen::MatrixXd Kx = Xa.transpose() * Xa;
  const EffectiveProblem problem(Kx, loss.Y().transpose() * loss.Y(), loss.activation(), loss.lam1(),
                                 loss.lam2());
  if (!problem.full_rank()) {
    r.note = "active-set polish skipped: Kx is singular";
    return;
  }
  const Eigen::MatrixXd H0 = (loss.W1a(r.theta) * Xa).transpose();
  // The weight gradient is Xa·(∂E/∂H) in 2-norm over all neurons, L-BFGS-B bounds the projected
  // gradient's largest entry: ask for enough in H that the weights meet grad_tol.
  const double scale = std::sqrt(Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(Kx, Eigen::EigenvaluesOnly)
                                     .eigenvalues()
                                     .maxCoeff());
  const double tol = 0.1 * opt.grad_tol / (scale * std::sqrt(static_cast<double>(H0.size())));
  const PolishResult p = polish_on_pieces(problem, H0, tol);
  r.polish_rounds = p.rounds;
  Eigen::MatrixXd A;
  loss.activation().apply(p.H, A);  // P×N
  Eigen::MatrixXd Kr = A * A.transpose();
  Kr.diagonal().array() += loss.lam2();
  const Eigen::MatrixXd W1a = p.H.transpose() * problem.Kx_pinv() * Xa.transpose();
  const Eigen::MatrixXd W2 = (Kr.llt().solve(loss.Y().transpose())).transpose() * A;
  const Eigen::VectorXd theta = loss.pack(W1a, W2);
  if (loss(theta, nullptr) <= loss(r.theta, nullptr)) r.theta = theta;
  if (!p.settled) r.note = "active-set polish did not settle in " + std::to_string(p.rounds) + " rounds";
}

}  // namespace

TrainResult train(const TwoLayerLoss& loss, const TrainOptions& opt) {
  require(opt.max_iter >= 0, "max-iter", "max-iter must be >= 0");
  require(opt.grad_tol >= 0, "grad-tol", "grad-tol must be >= 0");
  require(opt.lr >= 0 && std::isfinite(opt.lr), "lr", "lr must be positive");
  const auto start = std::chrono::steady_clock::now();
  TrainResult r;
  r.theta = loss.initial(opt.seed);
  const bool kinked = !loss.activation().kinks().empty();
  if (opt.optimizer == Optimizer::lbfgs)
    run_lbfgs(loss, opt, kinked, r);
  else
    run_first_order(loss, opt, r);
  if (r.status != Status::diverged) {
    if (kinked && opt.polish) polish(loss, opt, r);
    r.loss = loss(r.theta, nullptr);
    r.stationarity = clarke_stationarity(loss, r.theta);
    if (!std::isfinite(r.loss)) {
      r.status = Status::diverged;
    } else {
      r.status = r.stationarity <= opt.grad_tol ? Status::converged : Status::max_iter;
    }
  } else {
    r.loss = std::numeric_limits<double>::quiet_NaN();
    r.stationarity = std::numeric_limits<double>::quiet_NaN();
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

double clarke_stationarity(const TwoLayerLoss& loss, const Eigen::VectorXd& theta, double kink_tol) {
  const Activation& act = loss.activation();
  const Eigen::MatrixXd& Xa = loss.Xa();
  const auto W1 = loss.W1a(theta);
  const auto W2 = loss.W2(theta);
  const Eigen::MatrixXd Z = W1 * Xa;
  Eigen::MatrixXd A, dA;
  act.apply(Z, A, &dA);
  const Eigen::MatrixXd R = loss.Y() - W2 * A;
  const double gW2 = (loss.lam2() * W2 - R * A.transpose()).squaredNorm();
  const Eigen::MatrixXd U = -(W2.transpose() * R);  // ∂L/∂φ(Z), N×P
  const auto& kinks = act.kinks();
  if (kink_tol < 0) kink_tol = 1e-10 * (1.0 + Z.cwiseAbs().maxCoeff());
  double total = gW2;
  for (Eigen::Index i = 0; i < Z.rows(); ++i) {
    std::vector<Eigen::Index> J;
    std::vector<double> lo, hi;
    Eigen::RowVectorXd dz = U.row(i).cwiseProduct(dA.row(i));
    for (Eigen::Index p = 0; p < Z.cols(); ++p)
      for (std::size_t k = 0; k < kinks.size(); ++k)
        if (std::abs(Z(i, p) - kinks[k]) <= kink_tol) {
          const double left = act.branch_derivative(static_cast<int>(k), kinks[k]);
          const double right = act.branch_derivative(static_cast<int>(k) + 1, kinks[k]);
          J.push_back(p);
          lo.push_back(std::min(left, right));
          hi.push_back(std::max(left, right));
          dz(p) = 0.0;
        }
    Eigen::VectorXd b = Xa * dz.transpose() + loss.lam1() * W1.row(i).transpose();
    if (!J.empty()) {
      const auto n = static_cast<Eigen::Index>(J.size());
      Eigen::MatrixXd B(Xa.rows(), n);
      for (Eigen::Index a = 0; a < n; ++a) B.col(a) = U(i, J[a]) * Xa.col(J[a]);
      const Eigen::VectorXd s = solve_box_qp(B.transpose() * B, B.transpose() * b,
                                             Eigen::Map<Eigen::VectorXd>(lo.data(), n),
                                             Eigen::Map<Eigen::VectorXd>(hi.data(), n));
      b += B * s;
    }
    total += b.squaredNorm();
  }
  return std::sqrt(total);
}

}  // namespace absrep
