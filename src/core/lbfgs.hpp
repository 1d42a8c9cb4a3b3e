// L-BFGS whose every inner product goes through a caller's `dot`, so that a vector may be split
// over ranks (each holds a slice, `dot` sums the slices' dot products: parallel/reducer.hpp) and
// every rank still takes the same steps. LBFGSpp cannot do that: its dot products are its own.
//
// The line search finds a weak-Wolfe step by bracketing with safeguarded cubic interpolation.
// Its sufficient-decrease test allows a slack of the objective's rounding noise (Hager & Zhang's
// approximate Wolfe conditions): near a minimum |∇f|·|step| falls below the rounding of f
// (~1e-13·|f| for our energies), where tests on function values alone stop with gradients ~1e-8
// and the curvature test on directional derivatives has to do the real work. A non-finite trial
// value counts as "too far", so a step into overflow bisects back instead of diverging.
#pragma once
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <string>
#include <vector>

namespace absrep {

struct LbfgsOptions {
  int memory = 10;
  int max_iter = 20000;
  double grad_tol = 1e-8;   // stop when ‖∇f‖ ≤ grad_tol
  int past = 0;             // > 0: also stop when f fell by less than delta·|f| over `past` iterations
  double delta = 0.0;
  int max_linesearch = 60;
  double noise = 1e-12;     // relative rounding noise of f allowed in the decrease test
};

struct LbfgsResult {
  int iterations = 0;
  int evaluations = 0;
  double f = 0.0;           // f at the returned x
  double grad_norm = 0.0;
  std::string stopped;      // empty: converged (‖∇f‖ ≤ grad_tol); else why it stopped
};

// The two-loop recursion: d ← H·d for the L-BFGS inverse Hessian H of the pairs (S, Y), ρ = 1/sᵀy.
template <class Dot>
void two_loop(Eigen::VectorXd& d, const std::deque<Eigen::VectorXd>& S, const std::deque<Eigen::VectorXd>& Y,
              const std::deque<double>& rho, const Dot& dot, std::vector<double>& alpha) {
  alpha.assign(S.size(), 0.0);
  for (int k = static_cast<int>(S.size()) - 1; k >= 0; --k) {
    alpha[k] = rho[k] * dot(S[k], d);
    d -= alpha[k] * Y[k];
  }
  if (!S.empty()) d *= 1.0 / (rho.back() * dot(Y.back(), Y.back()));
  for (std::size_t k = 0; k < S.size(); ++k) d += (alpha[k] - rho[k] * dot(Y[k], d)) * S[k];
}

struct NoObserver {
  void operator()(int, const Eigen::VectorXd&, double) const {}
};

// f(x, g) returns f(x) and writes ∇f(x) into g; dot(a, b) is the (global) inner product.
// x is overwritten with the last point. observe(k, x, f) is called at the start (k = 0) and
// after each iteration k.
template <class F, class Dot, class Observe = NoObserver>
LbfgsResult lbfgs_minimize(F&& f, Eigen::VectorXd& x, const Dot& dot, const LbfgsOptions& opt,
                           Observe&& observe = {}) {
  LbfgsResult out;
  Eigen::VectorXd g(x.size());
  double fx = f(x, g);
  ++out.evaluations;
  out.f = fx;
  // Finiteness is judged on reduced quantities only (a non-finite entry anywhere makes every
  // rank's dot product non-finite), so that all ranks take the same branch.
  double gnorm = std::sqrt(dot(g, g));
  if (!std::isfinite(fx) || !std::isfinite(gnorm)) {
    out.stopped = "non-finite loss at the initial point";
    out.f = std::numeric_limits<double>::quiet_NaN();
    out.grad_norm = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  observe(0, x, fx);
  std::deque<Eigen::VectorXd> S, Y;
  std::deque<double> rho;
  std::deque<double> history{fx};
  Eigen::VectorXd d, xt, gt(x.size());
  std::vector<double> alpha;
  while (true) {
    if (gnorm <= opt.grad_tol) break;
    if (out.iterations >= opt.max_iter) {
      out.stopped = "iteration limit";
      break;
    }
    d = -g;
    two_loop(d, S, Y, rho, dot, alpha);
    double slope0 = dot(g, d);
    if (!(slope0 < 0)) {  // lost positive definiteness through rounding: restart as steepest descent
      S.clear(), Y.clear(), rho.clear();
      d = -g;
      slope0 = -gnorm * gnorm;
    }
    // Line search on φ(t) = f(x + t d).
    double step = S.empty() ? std::min(1.0, 1.0 / std::sqrt(-slope0)) : 1.0;
    double lo = 0.0, f_lo = fx, s_lo = slope0;
    double hi = std::numeric_limits<double>::infinity(), f_hi = 0.0, s_hi = 0.0;
    const double slack = opt.noise * std::abs(fx);
    double ft = fx, st = slope0;
    bool accepted = false;
    for (int ls = 0; ls < opt.max_linesearch; ++ls) {
      xt = x + step * d;
      ft = f(xt, gt);
      ++out.evaluations;
      st = dot(gt, d);
      const bool finite = std::isfinite(ft) && std::isfinite(st);
      if (!finite) st = 0.0;
      if (!finite || ft > fx + 1e-4 * step * slope0 + slack || (ft > f_lo + slack && lo > 0)) {
        hi = step, f_hi = finite ? ft : std::numeric_limits<double>::infinity(), s_hi = st;
      } else if (st < 0.9 * slope0) {
        lo = step, f_lo = ft, s_lo = st;  // still steep: the minimum is further out
      } else {
        accepted = true;
        break;
      }
      if (!std::isfinite(hi)) {
        step *= 4.0;
        continue;
      }
      // Cubic through (lo, f_lo, s_lo) and (hi, f_hi, s_hi), kept in the inner 80% of the bracket.
      const double w = hi - lo;
      double next = 0.5 * (lo + hi);
      if (std::isfinite(f_hi)) {
        const double d1 = s_lo + s_hi - 3.0 * (f_lo - f_hi) / (lo - hi);
        const double disc = d1 * d1 - s_lo * s_hi;
        if (disc >= 0) {
          const double d2 = std::sqrt(disc);
          const double c = hi - w * (s_hi + d2 - d1) / (s_hi - s_lo + 2.0 * d2);
          if (std::isfinite(c)) next = c;
        }
      }
      step = std::clamp(next, lo + 0.1 * w, hi - 0.1 * w);
      if (w <= 1e-16 * std::max(1.0, hi)) break;
    }
    if (!accepted) {
      if (S.empty()) {
        out.stopped = "line search failed along the steepest descent";
        break;
      }
      S.clear(), Y.clear(), rho.clear();  // retry once from the steepest descent
      continue;
    }
    const Eigen::VectorXd s = xt - x;
    Eigen::VectorXd y = gt - g;
    const double sy = dot(s, y);
    x.swap(xt);
    g.swap(gt);
    fx = ft;
    ++out.iterations;
    observe(out.iterations, x, fx);
    gnorm = std::sqrt(dot(g, g));
    if (sy > 0) {
      if (static_cast<int>(S.size()) == opt.memory) S.pop_front(), Y.pop_front(), rho.pop_front();
      S.push_back(s);
      Y.push_back(std::move(y));
      rho.push_back(1.0 / sy);
    }
    if (opt.past > 0) {
      history.push_back(fx);
      if (static_cast<int>(history.size()) > opt.past + 1) history.pop_front();
      if (static_cast<int>(history.size()) == opt.past + 1 && history.front() - fx <= opt.delta * std::abs(fx)) {
        out.stopped = "stalled";
        break;
      }
    }
  }
  out.f = fx;
  out.grad_norm = gnorm;
  return out;
}

// The same on a box lb ≤ x ≤ ub (bounds may be infinite), still with every inner product through
// `dot`. Projected L-BFGS with a working set: a variable on a bound whose gradient pushes outward
// is held; the others take the quasi-Newton step along the projected path clamp(x + t·d), with
// a backtracking search on the projected sufficient decrease (with the same rounding slack).
// Curvature pairs live on the free variables; the memory starts afresh when the working set
// changes. Stops when the projected gradient's norm is at most grad_tol.
// sum(c) is c summed over the ranks sharing x (the identity on one rank).
template <class F, class Dot, class Sum>
LbfgsResult lbfgs_minimize_box(F&& f, Eigen::VectorXd& x, const Eigen::VectorXd& lb, const Eigen::VectorXd& ub,
                               const Dot& dot, const Sum& sum, const LbfgsOptions& opt) {
  LbfgsResult out;
  const Eigen::Index n = x.size();
  x = x.cwiseMax(lb).cwiseMin(ub);
  Eigen::VectorXd g(n), gt(n), xt(n), d(n), pg(n);
  Eigen::Array<bool, Eigen::Dynamic, 1> held(n), held_t(n);
  auto working_set = [&](const Eigen::VectorXd& at, const Eigen::VectorXd& grad, Eigen::Array<bool, Eigen::Dynamic, 1>& h) {
    for (Eigen::Index j = 0; j < n; ++j) h(j) = (at(j) <= lb(j) && grad(j) > 0) || (at(j) >= ub(j) && grad(j) < 0);
  };
  auto projected = [&](const Eigen::VectorXd& grad, const Eigen::Array<bool, Eigen::Dynamic, 1>& h) {
    pg = grad;
    for (Eigen::Index j = 0; j < n; ++j)
      if (h(j)) pg(j) = 0.0;
  };
  double fx = f(x, g);
  ++out.evaluations;
  working_set(x, g, held);
  projected(g, held);
  double gnorm = std::sqrt(dot(pg, pg));
  if (!std::isfinite(fx) || !std::isfinite(gnorm)) {
    out.stopped = "non-finite value at the initial point";
    out.f = fx;
    out.grad_norm = gnorm;
    return out;
  }
  std::deque<Eigen::VectorXd> S, Y;
  std::deque<double> rho;
  std::vector<double> alpha;
  while (gnorm > opt.grad_tol) {
    if (out.iterations >= opt.max_iter) {
      out.stopped = "iteration limit";
      break;
    }
    d = -pg;
    two_loop(d, S, Y, rho, dot, alpha);
    for (Eigen::Index j = 0; j < n; ++j)
      if (held(j)) d(j) = 0.0;
    double slope0 = dot(pg, d);
    if (!(slope0 < 0)) {
      S.clear(), Y.clear(), rho.clear();
      d = -pg;
      slope0 = -gnorm * gnorm;
    }
    double step = S.empty() ? std::min(1.0, 1.0 / gnorm) : 1.0;
    const double slack = opt.noise * std::abs(fx);
    double ft = fx;
    bool accepted = false;
    for (int ls = 0; ls < opt.max_linesearch; ++ls) {
      xt = (x + step * d).cwiseMax(lb).cwiseMin(ub);
      ft = f(xt, gt);
      ++out.evaluations;
      const double along = dot(g, xt - x);  // the projected path's first-order decrease
      if (std::isfinite(ft) && std::isfinite(along) && along < 0 && ft <= fx + 1e-4 * along + slack) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) {
      if (S.empty()) {
        out.stopped = "line search failed along the projected steepest descent";
        break;
      }
      S.clear(), Y.clear(), rho.clear();
      continue;
    }
    working_set(xt, gt, held_t);
    const bool same_set = (held_t == held).all();
    const double changed = sum(same_set ? 0.0 : 1.0);
    Eigen::VectorXd s = xt - x, y = gt - g;
    for (Eigen::Index j = 0; j < n; ++j)
      if (held_t(j)) s(j) = y(j) = 0.0;
    x.swap(xt);
    g.swap(gt);
    fx = ft;
    held.swap(held_t);
    ++out.iterations;
    projected(g, held);
    gnorm = std::sqrt(dot(pg, pg));
    if (changed > 0) {
      S.clear(), Y.clear(), rho.clear();
      continue;
    }
    const double sy = dot(s, y);
    if (sy > 0) {
      if (static_cast<int>(S.size()) == opt.memory) S.pop_front(), Y.pop_front(), rho.pop_front();
      S.push_back(std::move(s));
      Y.push_back(std::move(y));
      rho.push_back(1.0 / sy);
    }
  }
  out.f = fx;
  out.grad_norm = gnorm;
  return out;
}

}  // namespace absrep
