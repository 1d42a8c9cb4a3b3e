// Full-batch training of deep networks (model/deep_network.hpp): L-BFGS with a strong-Wolfe line
// search, then the approximate-Wolfe finisher for the last digits (core/finish_lbfgs.hpp).
// There is no active-set polish for L > 1 (the pieces of a deep ReLU net are not boxes in any
// one set of variables), so ReLU nets stop where L-BFGS stalls on the kinks: the status says
// max_iter unless the gradient norm (φ′(0) = 0 convention) reached grad_tol.
#pragma once
#include "model/deep_network.hpp"
#include "train/trainer.hpp"

namespace absrep {

TrainResult train_deep(const DeepLoss& loss, const TrainOptions& options);

}  // namespace absrep
