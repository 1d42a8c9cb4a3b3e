#include "meanfield/energy.hpp"

#include "core/errors.hpp"

namespace absrep {

EffectiveProblem::EffectiveProblem(const Eigen::MatrixXd& Kx, const Eigen::MatrixXd& Ky, Activation act,
                                   double lam1, double lam2)
    : Kx_(Kx), Ky_(Ky), act_(act), lam1_(lam1), lam2_(lam2) {
  require(lam1 > 0, "lam1", "lam1 must be positive");
  require(lam2 > 0, "lam2", "lam2 must be positive");
  const int P = static_cast<int>(Kx.rows());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(Kx);
  const Eigen::VectorXd& lam = eig.eigenvalues();
  const double tol = 1e-12 * P * std::max(1.0, lam.cwiseAbs().maxCoeff());
  Eigen::VectorXd inv = Eigen::VectorXd::Zero(P), keep = Eigen::VectorXd::Zero(P);
  for (int i = 0; i < P; ++i)
    if (lam(i) > tol) {
      inv(i) = 1.0 / lam(i);
      keep(i) = 1.0;
      ++rank_;
    }
  const Eigen::MatrixXd& U = eig.eigenvectors();
  Kx_pinv_ = U * inv.asDiagonal() * U.transpose();
  proj_ = U * keep.asDiagonal() * U.transpose();
}

Eigen::MatrixXd EffectiveProblem::kernel(const Eigen::MatrixXd& H) const {
  Eigen::MatrixXd A;
  act_.apply(H, A);
  Eigen::MatrixXd K = Eigen::MatrixXd::Zero(P(), P());
  K.selfadjointView<Eigen::Lower>().rankUpdate(A);
  return K.selfadjointView<Eigen::Lower>();
}

double EffectiveProblem::readout_energy(const Eigen::MatrixXd& K) const {
  Eigen::MatrixXd Kr = K;
  Kr.diagonal().array() += lam2_;
  Eigen::LLT<Eigen::MatrixXd> llt(Kr);
  return 0.5 * lam2_ * (Ky_.cwiseProduct(llt.solve(Eigen::MatrixXd::Identity(P(), P())))).sum();
}

Eigen::MatrixXd EffectiveProblem::G(const Eigen::MatrixXd& K) const {
  Eigen::MatrixXd Kr = K;
  Kr.diagonal().array() += lam2_;
  Eigen::LLT<Eigen::MatrixXd> llt(Kr);
  const Eigen::MatrixXd MKy = llt.solve(Ky_);
  return llt.solve(MKy.transpose());
}

double EffectiveProblem::energy(const Eigen::MatrixXd& H, Eigen::MatrixXd* grad) const {
  Eigen::MatrixXd A, dA;
  act_.apply(H, A, grad ? &dA : nullptr);
  Eigen::MatrixXd K = Eigen::MatrixXd::Zero(P(), P());
  K.selfadjointView<Eigen::Lower>().rankUpdate(A);
  K = K.selfadjointView<Eigen::Lower>();
  const Eigen::MatrixXd KinvH = Kx_pinv_ * H;
  const double weight = 0.5 * lam1_ * H.cwiseProduct(KinvH).sum();
  if (grad) {
    const Eigen::MatrixXd Gm = G(K);
    *grad = lam1_ * KinvH - lam2_ * dA.cwiseProduct(Gm * A);
  }
  return weight + readout_energy(K);
}

double EffectiveProblem::single_neuron_energy(const Eigen::MatrixXd& Gm, const Eigen::VectorXd& h,
                                              Eigen::VectorXd* grad) const {
  Eigen::VectorXd phi(h.size()), dphi(h.size());
  for (Eigen::Index p = 0; p < h.size(); ++p) {
    phi(p) = act_.value(h(p));
    dphi(p) = act_.derivative(h(p));
  }
  const Eigen::VectorXd Kh = Kx_pinv_ * h, Gphi = Gm * phi;
  if (grad) *grad = lam1_ * Kh - lam2_ * dphi.cwiseProduct(Gphi);
  return 0.5 * lam1_ * h.dot(Kh) - 0.5 * lam2_ * phi.dot(Gphi);
}

}  // namespace absrep
