#include "theory/closed_form.hpp"

#include <cmath>
#include <limits>

#include "metrics/metrics.hpp"

namespace absrep {

namespace {

// Quadratic forms of the ray-neuron family under Kx⁺ for the aligned kernel:
// 1ᵀKx⁺1 = w/γ and y_kᵀKx⁺y_k = w·C/α_k, w = n/λmax(Σ) (Kronecker structure), 1ᵀKx⁺y_k = 0.
struct RayForms {
  double ones;
  std::vector<double> label;
};

RayForms ray_forms(const Task& task, const GeometrySpec& g) {
  const double w = task.per_class() / (1.0 + (task.per_class() - 1) * g.within_corr);
  RayForms f{w / *g.gamma, {}};
  for (int k = 0; k < task.labels(); ++k) f.label.push_back(w * task.classes() / alpha_of(g, k));
  return f;
}

double golden_min(const auto& f, double lo, double hi) {
  const double r = (std::sqrt(5.0) - 1) / 2;
  double a = lo, b = hi, x1 = b - r * (b - a), x2 = a + r * (b - a), f1 = f(x1), f2 = f(x2);
  for (int it = 0; it < 200 && b - a > 1e-15 * (1 + std::abs(b)); ++it) {
    if (f1 < f2) {
      b = x2, x2 = x1, f2 = f1, x1 = b - r * (b - a), f1 = f(x1);
    } else {
      a = x1, x1 = x2, f1 = f2, x2 = a + r * (b - a), f2 = f(x2);
    }
  }
  return 0.5 * (a + b);
}

}  // namespace

// q(t) = ((1−t)²·1ᵀKx⁺1 + (1+t)²·yᵀKx⁺y)/4 is minimised at t* = (a − b)/(a + b) ∨ 0.
double relu_ray_depth(const Task& task, const GeometrySpec& g, int k) {
  const RayForms forms = ray_forms(task, g);
  const double a = forms.ones, b = forms.label[k];
  return std::max(0.0, (a - b) / (a + b));
}

double relu_ray_weight(const Task& task, const GeometrySpec& g, int k) {
  const RayForms forms = ray_forms(task, g);
  const double a = forms.ones, b = forms.label[k], t = relu_ray_depth(task, g, k);
  return ((1 - t) * (1 - t) * a + (1 + t) * (1 + t) * b) / 4;
}

ClosedForm closed_form(const Task& task, const GeometrySpec& g, const Activation& act, double lam1, double lam2) {
  ClosedForm out;
  const int m = task.labels(), P = task.samples();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (g.kind == GeometryKind::gaussian) {
    out.reason = "no closed form for gaussian inputs";
    return out;
  }
  const ActivationClass family = act.family();
  if (family == ActivationClass::other) {
    out.reason = "no closed form for " + act.name() + " (neither threshold nor odd)";
    return out;
  }
  const double slope = act.slope_at_origin();
  const double l1 = lam1 / (slope * slope);  // slope rescaling
  const RayForms forms = ray_forms(task, g);
  const Eigen::MatrixXd ones = Eigen::MatrixXd::Ones(P, P);
  out.K = Eigen::MatrixXd::Zero(P, P);
  out.energy = 0.0;

  if (family == ActivationClass::threshold) {
    for (int k = 0; k < m; ++k)
      if (alpha_of(g, k) < g.beta) {
        out.reason = "threshold activations need target-aligned inputs (alpha >= beta)";
        return out;
      }
    out.case_name = act.kind() == ActivationKind::relu ? "relu-aligned" : "threshold-small-lambda";
    out.exact = act.kind() == ActivationKind::relu;
    for (int k = 0; k < m; ++k) {
      const double t = relu_ray_depth(task, g, k), q = relu_ray_weight(task, g, k);
      const double s2 = task.label_scale(k) * task.label_scale(k);
      const double ck = (std::sqrt(lam2 * s2 * P * double(P) / (4 * l1 * q)) - lam2) / P;
      if (!(ck > 0)) {
        out.reason = "the regularisation is too strong: c <= 0 (the trivial solution wins)";
        return out;
      }
      out.t_star = t;
      out.c_per_label.push_back(ck);
      const Eigen::VectorXd y = task.label_vector(k);
      out.K += ck * (y * y.transpose() + ones);
      out.energy += 2 * l1 * ck * q + lam2 * s2 * P / (2 * (ck * P + lam2));
    }
  } else {
    // A nonlinear odd unit can also use the output-orthogonal input (saturating neurons), and
    // for β ≫ α the mean-field solver finds energies below the linear infimum (tanh at β = 64α:
    // 0.0555 vs 0.0847). The linear form is only claimed where the paper claims it: α ≥ β.
    if (act.kind() != ActivationKind::linear)
      for (int k = 0; k < m; ++k)
        if (alpha_of(g, k) < g.beta) {
          out.reason = "nonlinear odd activations: the linear infimum is only the optimum for alpha >= beta";
          return out;
        }
    out.case_name = act.kind() == ActivationKind::linear ? "linear" : "odd-infimum";
    out.exact = act.kind() == ActivationKind::linear;
    for (int k = 0; k < m; ++k) {
      // Neurons h = a·y_k ⊗ 1_n: weight a²·yᵀKx⁺y, kernel a² y yᵀ; (c′P + λ2)² = λ2 s² P² / (λ1 yᵀKx⁺y).
      const double q = forms.label[k];
      const double s2 = task.label_scale(k) * task.label_scale(k);
      const double ck = (std::sqrt(lam2 * s2 * P * double(P) / (l1 * q)) - lam2) / P;
      if (!(ck > 0)) {
        out.reason = "the regularisation is too strong: c' <= 0 (the trivial solution wins)";
        return out;
      }
      out.c_per_label.push_back(ck);
      const Eigen::VectorXd y = task.label_vector(k);
      out.K += ck * y * y.transpose();
      out.energy += 0.5 * l1 * ck * q + 0.5 * lam2 * s2 * P / (ck * P + lam2);
    }
  }
  out.applicable = true;
  out.c = task.isotropic() && g.alpha.size() == 1 ? out.c_per_label[0] : nan;
  return out;
}

double odd_finite_width_energy(const Task& task, const GeometrySpec& g, const Activation& act, double lam1,
                               double lam2, int width) {
  if (act.family() != ActivationClass::odd || g.kind == GeometryKind::gaussian || width < task.labels())
    return std::numeric_limits<double>::infinity();
  const int m = task.labels(), P = task.samples();
  const RayForms forms = ray_forms(task, g);
  double total = 0.0;
  for (int k = 0; k < m; ++k) {
    const int nk = width / m + (k < width % m ? 1 : 0);
    const double q = forms.label[k], s2 = task.label_scale(k) * task.label_scale(k);
    auto f = [&](double a) {
      const double phi = act.value(a);
      return 0.5 * (lam1 * nk * a * a * q + lam2 * s2 * P / (nk * phi * phi * P + lam2));
    };
    // Scan a log grid up to where the weight cost alone exceeds f(0), then refine.
    const double amax = std::sqrt(s2 * P / (lam1 * nk * q));
    const int grid = 400;
    double best_a = amax, best_f = f(amax);
    for (int i = 0; i < grid; ++i) {
      const double a = amax * std::pow(10.0, -6.0 * (1.0 - double(i) / (grid - 1)));
      if (f(a) < best_f) best_f = f(a), best_a = a;
    }
    const double step = std::pow(10.0, 6.0 / (grid - 1));
    total += f(golden_min(f, best_a / step, std::min(amax, best_a * step)));
  }
  return total;
}

}  // namespace absrep
