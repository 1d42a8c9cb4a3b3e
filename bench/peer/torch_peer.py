"""The PyTorch peer: the same full-batch training written the way a researcher would write it.

Two-layer network f(x) = W2 relu(W1 x + b) as torch.nn modules, float64, the whole data set in one
batch, the loss of THEORY.md (sums, no 1/P):

    L = 1/2 |Y - f(X)|^2 + lam1/2 (|W1|^2 + |b|^2) + lam2/2 |W2|^2

trained with torch.optim.SGD (plain gradient descent), torch.optim.Adam, or torch.optim.LBFGS with
its strong-Wolfe line search. Nothing here is tuned for speed beyond what a researcher would do;
the problem (inputs, targets, initial weights) is read from the .npy files `absrep_peer export`
writes, so both sides solve the same problem from the same start.

Run standalone:  torch_peer.py DIR --optimizer adam --lr 1e-3 --iters 1000
"""
import argparse
import math
import time

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "linear": nn.Identity}

# The clock of every timing here: wall time, or process CPU time (compare.py's default, robust
# to other processes sharing the cores; the same clock as absrep_peer --clock cpu).
CLOCK = time.perf_counter


class TwoLayer(nn.Module):
    def __init__(self, d, width, m, activation="relu"):
        super().__init__()
        self.hidden = nn.Linear(d, width, dtype=torch.float64)
        self.act = ACTIVATIONS[activation]()
        self.readout = nn.Linear(width, m, bias=False, dtype=torch.float64)

    def forward(self, x):
        return self.readout(self.act(self.hidden(x)))


class Problem:
    """X (P x d), Y (P x m) and the initial weights, from absrep_peer's export."""

    def __init__(self, directory, lam1=0.01, lam2=0.01, activation="relu"):
        Xa = np.load(f"{directory}/Xa.npy")  # D x P, last row ones (the bias)
        Y = np.load(f"{directory}/Y.npy")  # m x P
        theta = np.load(f"{directory}/theta0.npy")
        D, _ = Xa.shape
        m = Y.shape[0]
        N = (theta.size) // (D + m)
        self.X = torch.from_numpy(np.ascontiguousarray(Xa[:-1].T))
        self.Y = torch.from_numpy(np.ascontiguousarray(Y.T))
        W1a = theta[: N * D].reshape((N, D), order="F")
        self.W1 = torch.from_numpy(np.ascontiguousarray(W1a[:, :-1]))
        self.b = torch.from_numpy(np.ascontiguousarray(W1a[:, -1]))
        self.W2 = torch.from_numpy(np.ascontiguousarray(theta[N * D:].reshape((m, N), order="F")))
        self.lam1, self.lam2, self.activation = lam1, lam2, activation
        self.N, self.D, self.m, self.P = N, D, m, self.X.shape[0]

    def model(self):
        net = TwoLayer(self.D - 1, self.N, self.m, self.activation)
        with torch.no_grad():
            net.hidden.weight.copy_(self.W1)
            net.hidden.bias.copy_(self.b)
            net.readout.weight.copy_(self.W2)
        return net

    def loss(self, net):
        out = net(self.X)
        data = 0.5 * ((out - self.Y) ** 2).sum()
        reg1 = 0.5 * self.lam1 * (net.hidden.weight.pow(2).sum() + net.hidden.bias.pow(2).sum())
        reg2 = 0.5 * self.lam2 * net.readout.weight.pow(2).sum()
        return data + reg1 + reg2

    def loss_and_grad_norm(self, net):
        net.zero_grad()
        loss = self.loss(net)
        loss.backward()
        g = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in net.parameters()))
        return float(loss), g


def run_first_order(pb, optimizer, lr, iters):
    """`iters` steps of SGD (full batch: gradient descent) or Adam. Returns (seconds, final loss)."""
    net = pb.model()
    if optimizer == "gd":
        opt = torch.optim.SGD(net.parameters(), lr=lr)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    start = CLOCK()
    for _ in range(iters):
        opt.zero_grad()
        loss = pb.loss(net)
        loss.backward()
        opt.step()
    seconds = CLOCK() - start
    with torch.no_grad():
        final = float(pb.loss(net))
    return seconds, final


def make_lbfgs(net, max_iter, tolerance_grad=0.0):
    return torch.optim.LBFGS(net.parameters(), lr=1, max_iter=max_iter, max_eval=25 * max_iter,
                             tolerance_grad=tolerance_grad, tolerance_change=0.0, history_size=10,
                             line_search_fn="strong_wolfe")


def run_lbfgs(pb, iters):
    """One LBFGS.step with up to `iters` iterations. Returns (seconds, loss, iterations, evaluations)."""
    net = pb.model()
    opt = make_lbfgs(net, iters)

    def closure():
        opt.zero_grad()
        loss = pb.loss(net)
        loss.backward()
        return loss

    start = CLOCK()
    opt.step(closure)
    seconds = CLOCK() - start
    state = opt.state[opt._params[0]]
    with torch.no_grad():
        final = float(pb.loss(net))
    return seconds, final, state["n_iter"], state["func_evals"]


def lbfgs_trajectory(pb, budget, target=1e-8, chunk=25, stop=None):
    """L-BFGS (strong Wolfe) until the gradient's 2-norm is <= target or `budget` seconds of
    training have passed. After every `chunk` iterations the loss and gradient norm are measured
    off the clock. `stop(loss, gnorm)` may end the run early. Returns [(seconds, loss, gnorm)]."""
    net = pb.model()
    n = sum(p.numel() for p in net.parameters())
    opt = make_lbfgs(net, chunk, tolerance_grad=target / math.sqrt(n))

    def closure():
        opt.zero_grad()
        loss = pb.loss(net)
        loss.backward()
        return loss

    elapsed = 0.0
    loss, g = pb.loss_and_grad_norm(net)
    traj = [(0.0, loss, g)]
    while elapsed < budget:
        start = CLOCK()
        opt.step(closure)
        elapsed += CLOCK() - start
        loss, g = pb.loss_and_grad_norm(net)
        traj.append((elapsed, loss, g))
        if not math.isfinite(loss) or g <= target or (stop and stop(loss, g)):
            break
    return traj


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--optimizer", choices=["gd", "adam", "lbfgs"], default="adam")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--iters", type=int, default=1000)
    ap.add_argument("--lam", type=float, default=0.01)
    args = ap.parse_args()
    torch.set_num_threads(1)
    pb = Problem(args.dir, args.lam, args.lam)
    if args.optimizer == "lbfgs":
        s, loss, it, ev = run_lbfgs(pb, args.iters)
        print(f"lbfgs: {it} iterations, {ev} evaluations, {s:.4f} s, loss {loss:.17g}")
    else:
        s, loss = run_first_order(pb, args.optimizer, args.lr, args.iters)
        print(f"{args.optimizer}: {args.iters} iterations, {s:.4f} s, loss {loss:.17g}")


if __name__ == "__main__":
    main()
