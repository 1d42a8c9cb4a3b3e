#include "model/activation.hpp"

#include <cmath>
#include <numbers>

#include "core/errors.hpp"

namespace absrep {

namespace {
const double kInvSqrt2 = 1.0 / std::numbers::sqrt2;
const double kInvSqrt2Pi = 1.0 / std::sqrt(2.0 * std::numbers::pi);

double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double normal_cdf(double x) { return 0.5 * std::erfc(-x * kInvSqrt2); }
}  // namespace

std::string to_string(ActivationClass c) {
  switch (c) {
    case ActivationClass::threshold: return "threshold";
    case ActivationClass::odd: return "odd";
    case ActivationClass::other: return "other";
  }
  return "?";
}

const std::vector<std::string>& Activation::names() {
  static const std::vector<std::string> n = {"relu", "clipped_relu", "log1p_relu", "linear",
                                             "tanh", "odd_log1p",    "softplus",   "gelu"};
  return n;
}

Activation Activation::from_name(const std::string& name) {
  const auto& n = names();
  for (std::size_t i = 0; i < n.size(); ++i)
    if (n[i] == name) return Activation(static_cast<ActivationKind>(i));
  std::string allowed;
  for (const auto& s : n) allowed += (allowed.empty() ? "" : ", ") + s;
  throw InputError("activation", "unknown activation '" + name + "' (allowed: " + allowed + ")");
}

std::string Activation::name() const { return names()[static_cast<std::size_t>(kind_)]; }

ActivationClass Activation::family() const {
  switch (kind_) {
    case ActivationKind::relu:
    case ActivationKind::clipped_relu:
    case ActivationKind::log1p_relu: return ActivationClass::threshold;
    case ActivationKind::linear:
    case ActivationKind::tanh:
    case ActivationKind::odd_log1p: return ActivationClass::odd;
    default: return ActivationClass::other;
  }
}

double Activation::slope_at_origin() const {
  // Right-hand slope for threshold units; softplus and gelu have φ′(0) = 1/2.
  return (kind_ == ActivationKind::softplus || kind_ == ActivationKind::gelu) ? 0.5 : 1.0;
}

bool Activation::positively_homogeneous() const {
  return kind_ == ActivationKind::relu || kind_ == ActivationKind::linear;
}

double Activation::value(double x) const {
  switch (kind_) {
    case ActivationKind::relu: return x > 0 ? x : 0.0;
    case ActivationKind::clipped_relu: return x <= 0 ? 0.0 : (x >= 1 ? 1.0 : x);
    case ActivationKind::log1p_relu: return x > 0 ? std::log1p(x) : 0.0;
    case ActivationKind::linear: return x;
    case ActivationKind::tanh: return std::tanh(x);
    case ActivationKind::odd_log1p: return std::copysign(std::log1p(std::abs(x)), x);
    case ActivationKind::softplus: return softplus(x);
    case ActivationKind::gelu: return x * normal_cdf(x);
  }
  return 0.0;
}

double Activation::derivative(double x) const {
  switch (kind_) {
    case ActivationKind::relu: return x > 0 ? 1.0 : 0.0;
    case ActivationKind::clipped_relu: return (x > 0 && x <= 1) ? 1.0 : 0.0;
    case ActivationKind::log1p_relu: return x > 0 ? 1.0 / (1.0 + x) : 0.0;
    case ActivationKind::linear: return 1.0;
    case ActivationKind::tanh: {
      const double t = std::tanh(x);
      return 1.0 - t * t;
    }
    case ActivationKind::odd_log1p: return 1.0 / (1.0 + std::abs(x));
    case ActivationKind::softplus: return sigmoid(x);
    case ActivationKind::gelu: return normal_cdf(x) + x * kInvSqrt2Pi * std::exp(-0.5 * x * x);
  }
  return 0.0;
}

void Activation::apply(const Eigen::MatrixXd& Z, Eigen::MatrixXd& A, Eigen::MatrixXd* dA) const {
  const auto z = Z.array();
  switch (kind_) {
    case ActivationKind::relu:
      A = z.max(0.0).matrix();
      if (dA) *dA = (z > 0.0).cast<double>().matrix();
      return;
    case ActivationKind::linear:
      A = Z;
      if (dA) dA->setOnes(Z.rows(), Z.cols());
      return;
    case ActivationKind::tanh:
      A = z.tanh().matrix();
      if (dA) *dA = (1.0 - A.array().square()).matrix();
      return;
    case ActivationKind::clipped_relu:
      A = z.max(0.0).min(1.0).matrix();
      if (dA) *dA = ((z > 0.0) && (z <= 1.0)).cast<double>().matrix();
      return;
    default:  // the rest are not on hot paths of the paper's studies
      A = Z.unaryExpr([this](double x) { return value(x); });
      if (dA) *dA = Z.unaryExpr([this](double x) { return derivative(x); });
  }
}

bool Activation::derivative_from_value() const {
  return kind_ == ActivationKind::relu || kind_ == ActivationKind::linear || kind_ == ActivationKind::tanh;
}

void Activation::backprop(const Eigen::MatrixXd* Z, const Eigen::MatrixXd& A, Eigen::MatrixXd& G) const {
  // The masks as plain loops: the compiler vectorises them, Eigen 3.4's select() it does not
  // (five times slower on the training's hot path).
  double* g = G.data();
  const Eigen::Index n = G.size();
  switch (kind_) {
    case ActivationKind::relu: {  // A > 0 exactly where Z > 0
      const double* a = A.data();
      for (Eigen::Index i = 0; i < n; ++i) g[i] = a[i] > 0.0 ? g[i] : 0.0;
      return;
    }
    case ActivationKind::linear: return;
    case ActivationKind::tanh:
      G.array() *= 1.0 - A.array().square();
      return;
    case ActivationKind::clipped_relu: {  // A = 1 for Z ≥ 1: the left derivative at 1 needs Z
      const double* z = Z->data();
      for (Eigen::Index i = 0; i < n; ++i) g[i] = (z[i] > 0.0 && z[i] <= 1.0) ? g[i] : 0.0;
      return;
    }
    default: G.array() *= Z->unaryExpr([this](double x) { return derivative(x); }).array();
  }
}

const std::vector<double>& Activation::kinks() const {
  static const std::vector<double> none, zero = {0.0}, zero_one = {0.0, 1.0};
  switch (kind_) {
    case ActivationKind::relu:
    case ActivationKind::log1p_relu: return zero;
    case ActivationKind::clipped_relu: return zero_one;
    default: return none;
  }
}

int Activation::region_of(double x) const {
  int r = 0;
  for (double k : kinks()) r += x > k;
  return r;
}

double Activation::branch_value(int region, double x) const {
  switch (kind_) {
    case ActivationKind::relu: return region == 0 ? 0.0 : x;
    case ActivationKind::log1p_relu: return region == 0 ? 0.0 : std::log1p(x);
    case ActivationKind::clipped_relu: return region == 0 ? 0.0 : (region == 1 ? x : 1.0);
    default: return value(x);
  }
}

double Activation::branch_derivative(int region, double x) const {
  switch (kind_) {
    case ActivationKind::relu: return region == 0 ? 0.0 : 1.0;
    case ActivationKind::log1p_relu: return region == 0 ? 0.0 : 1.0 / (1.0 + x);
    case ActivationKind::clipped_relu: return region == 1 ? 1.0 : 0.0;
    default: return derivative(x);
  }
}

}  // namespace absrep
