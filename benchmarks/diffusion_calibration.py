"""Calibration of the diffusion week's statistical hidden tests (prints numbers; not a test).

1. Bias of each sampler driven by exact scores: the KS distance (max over the tests' 3
   projections) between the reference sampler's samples and the exact target CDF, with
   `--big` samples (default 100,000) on `--mixtures` random mixtures drawn as the tests draw
   them. The tests' `BIAS` allowances must be at least twice the largest value printed.
   (At n samples the distance also holds sampling noise of about 0.87/sqrt(n): 0.003 at 1e5.)
2. The tests' own statistic at the tests' size (N_LAW samples) for `--seeds` seeds per sampler:
   how many runs of the reference exceed the threshold (must be 0) and the largest
   distance/threshold ratio.
3. The training tests: the trained/initial error ratio of the reference's losses over `--seeds`
   seeds, and the false-failure estimate from a normal fit to the log-ratios.

    .venv/bin/python benchmarks/diffusion_calibration.py [--big 100000] [--mixtures 4] [--seeds 100]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "diffusion"


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


D = load("diffusion", SOLUTION / "diffusion.py")
H = load("diffusion_hidden", SOLUTION / "tests" / "hidden" / "test_diffusion_hidden.py")
F64 = torch.float64


def sample(kind, mix, n, g):
    """n samples of the reference sampler `kind`, driven by the exact model of `mix`, as in the tests."""
    betas = D.linear_beta_schedule(H.T_LAW, *H.BETAS_LAW)
    alpha_bar = D.alphas_cumprod(betas)
    if kind == "ddpm":
        model = D.MixtureNoisePredictor(mix, alpha_bar)
        return D.ddpm_sample(model, H.randn(g, n, 2, dtype=F64), betas, H.randn(g, H.T_LAW, n, 2, dtype=F64))
    if kind == "ddim":
        model = D.MixtureNoisePredictor(mix, alpha_bar)
        return D.ddim_sample(model, H.randn(g, n, 2, dtype=F64), alpha_bar, D.ddim_timesteps(H.T_LAW, H.DDIM_STEPS_LAW))
    if kind == "probability_flow":
        model = D.MixtureNoisePredictor(mix, alpha_bar)
        return D.probability_flow_sample(model, H.randn(g, n, 2, dtype=F64), betas)
    if kind == "flow_euler":
        return D.flow_euler_sample(D.MixtureVelocity(mix), H.randn(g, n, 2, dtype=F64), H.FLOW_STEPS_LAW)
    if kind == "annealed_langevin":
        sigmas = H.annealed_sigmas()
        x0 = H.randn(g, n, 2, dtype=F64) * float(sigmas[0])
        noises = H.randn(g, len(sigmas), H.ANNEALED_LAW["steps"], n, 2, dtype=F64)
        step = H.ANNEALED_LAW["ratio"] * float(sigmas[-1]) ** 2
        return D.annealed_langevin_sample(D.MixtureScore(mix), x0, sigmas, step, noises)
    raise ValueError(kind)


def bias_table(big, mixtures):
    print(f"1. sampler bias: KS distance to the exact target, {big} samples, {mixtures} random mixtures")
    for kind, allowance in H.BIAS.items():
        started = time.monotonic()
        distances = []
        for m in range(mixtures):
            g = torch.Generator().manual_seed(10_000 + m)
            mix = D.GaussianMixture(*H.random_mixture(g))
            distances.append(H.projected_ks(sample(kind, mix, big, g), mix.projected_cdf))
        worst = max(distances)
        verdict = "ok" if allowance >= 2 * worst else "ALLOWANCE TOO SMALL"
        print(f"   {kind:18s} max {worst:.4f}  mean {statistics.mean(distances):.4f}  allowance {allowance:.3f}  "
              f"({allowance / worst:.1f}x)  {verdict}  [{time.monotonic() - started:.0f} s]")


def seeds_table(seeds):
    print(f"2. the tests' statistic at n = {H.N_LAW}, {seeds} seeds per sampler (reference)")
    for kind, allowance in H.BIAS.items():
        limit = H.law_threshold(H.N_LAW, allowance)
        ratios = []
        for s in range(seeds):
            g = torch.Generator().manual_seed(20_000 + s)
            mix = D.GaussianMixture(*H.random_mixture(g))
            ratios.append(H.projected_ks(sample(kind, mix, H.N_LAW, g), mix.projected_cdf) / limit)
        print(f"   {kind:18s} threshold {limit:.3f}  failures {sum(r > 1 for r in ratios)}/{seeds}  "
              f"largest distance/threshold {max(ratios):.2f}  median {statistics.median(ratios):.2f}")


def training_table(seeds):
    print(f"3. training tests: trained/initial error over {seeds} seeds (reference losses); threshold {H.TRAIN_RATIO}")
    sigmas = [0.1, 0.3, 1.0, 3.0]
    alpha_bar = D.alphas_cumprod(D.linear_beta_schedule(H.T_LAW, *H.BETAS_LAW))
    for loss in ("dsm", "ddpm", "cfm"):
        logs = []
        for seed in range(seeds):
            g = torch.Generator().manual_seed(30_000 + seed)
            mix = D.GaussianMixture(*H.random_mixture(g))
            data = mix.sample(2000, g).float()
            torch.manual_seed(seed)
            if loss == "dsm":
                net, opts = D.ScoreNet(2, 32, 2), {"sigmas": sigmas}
            elif loss == "ddpm":
                net, opts = D.NoiseNet(2, H.T_LAW, 32, 2), {"alpha_bar": alpha_bar}
            else:
                net, opts = D.VelocityNet(2, 32, 2), {}
            init = {k: v.clone() for k, v in net.state_dict().items()}
            D.train(net, loss, data, n_steps=H.TRAIN_STEPS, batch_size=128, lr=3e-3, seed=seed, **opts)
            before = type(net)(*([2, 32, 2] if loss != "ddpm" else [2, H.T_LAW, 32, 2]))
            before.load_state_dict(init)
            errors = [error(loss, m, mix, alpha_bar, sigmas, g) for m in (before, net)]
            logs.append(math.log(errors[1] / errors[0]))
        mu, sd = statistics.mean(logs), statistics.stdev(logs)
        z = (math.log(H.TRAIN_RATIO) - mu) / sd
        tail = 0.5 * math.erfc(z / math.sqrt(2))
        print(f"   {loss:5s} ratio median {math.exp(statistics.median(logs)):.3f}  max {math.exp(max(logs)):.3f}  "
              f"log-ratio mean {mu:.3f} sd {sd:.3f}  threshold at {z:.1f} sd  normal-fit P(fail) {tail:.1e}")


def error(loss, model, mix, alpha_bar, sigmas, g):
    """The training tests' error measure (see the hidden tests)."""
    model = model.double()
    with torch.no_grad():
        if loss == "dsm":
            x = mix.sample(4000, g)
            sigma = torch.tensor(sigmas, dtype=F64)[torch.randint(4, (4000,), generator=g)]
            noisy = x + sigma[:, None] * H.randn(g, 4000, 2, dtype=F64)
            exact = D.MixtureScore(mix)(noisy, sigma)
            return float(((sigma[:, None] * (model(noisy, sigma) - exact)) ** 2).sum(-1).mean())
        if loss == "ddpm":
            x0, t = mix.sample(4000, g), torch.randint(H.T_LAW, (4000,), generator=g)
            ab = alpha_bar[t][:, None]
            x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * H.randn(g, 4000, 2, dtype=F64)
            return float(((model(x_t, t) - D.MixtureNoisePredictor(mix, alpha_bar)(x_t, t)) ** 2).sum(-1).mean())
        x1, x0 = mix.sample(4000, g), H.randn(g, 4000, 2, dtype=F64)
        t = torch.rand(4000, generator=g, dtype=F64) * 0.95
        x_t = (1 - t[:, None]) * x0 + t[:, None] * x1
        return float(((model(x_t, t) - D.MixtureVelocity(mix)(x_t, t)) ** 2).sum(-1).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--mixtures", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--only", choices=["bias", "seeds", "training"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.only in (None, "bias"):
        bias_table(args.big, args.mixtures)
    if args.only in (None, "seeds"):
        seeds_table(args.seeds)
    if args.only in (None, "training"):
        training_table(args.seeds)


if __name__ == "__main__":
    main()
