"""The reference EM's speed against scikit-learn's GaussianMixture.

100,000 points, 10 dimensions, 8 full-covariance components (goal: the reference's time per
EM iteration at most 1.0x scikit-learn's). One EM iteration is an E-step and an M-step:

* reference: `em.e_step` then `em.m_step` from solutions/em;
* scikit-learn: `GaussianMixture._e_step` then `._m_step`, the body of its own fitting loop
  (private methods, called on a model started from the same parameters).

Both are timed interleaved, after warm-up, and the medians are compared. Then both run 30
iterations from the same start (tol=0) and the final log-likelihoods are printed side by side.

    .venv/bin/python benchmarks/em_vs_sklearn.py [--repeats 9] [--n 100000]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.mixture import GaussianMixture

from autograder.local import load_module

ROOT = Path(__file__).resolve().parent.parent


def median_times(fns: dict, repeats: int) -> dict[str, list[float]]:
    for fn in fns.values():  # warm-up
        fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():  # interleaved, so drift in machine load hits both alike
            started = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - started)
    return samples


def sklearn_from(start, n_iter: int) -> GaussianMixture:
    weights, means, covs = start
    return GaussianMixture(len(weights), covariance_type="full", weights_init=weights, means_init=means,
                           precisions_init=np.linalg.inv(covs), init_params="random_from_data",
                           max_iter=n_iter, tol=0.0, reg_covar=1e-6, random_state=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=10)
    parser.add_argument("--k", type=int, default=8)
    args = parser.parse_args()
    ref = load_module(ROOT / "solutions" / "em", "em")
    rng = np.random.default_rng(0)
    n, d, k = args.n, args.d, args.k

    # Data from a random 8-component mixture; EM starts from a different random mixture.
    def random_mixture():
        a = rng.normal(size=(k, d, d)) / np.sqrt(d)
        return rng.dirichlet(np.full(k, 3.0)), rng.normal(size=(k, d)) * 3, a @ a.transpose(0, 2, 1) + 0.3 * np.eye(d)

    truth = random_mixture()
    z = rng.choice(k, size=n, p=truth[0])
    X = truth[1][z] + np.einsum("nij,nj->ni", np.linalg.cholesky(truth[2])[z], rng.normal(size=(n, d)))
    start = random_mixture()

    gm = sklearn_from(start, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(X)  # sets up the model; its parameters are then reset to the start before each step

    def sklearn_step():
        gm.weights_, gm.means_ = start[0], start[1]
        gm.precisions_cholesky_ = np.linalg.cholesky(np.linalg.inv(start[2]))
        _, log_resp = gm._e_step(X)
        gm._m_step(X, log_resp)

    def reference_step():
        resp, _ = ref.e_step(X, *start, "full")
        ref.m_step(X, resp, "full", 1e-6)

    samples = median_times({"sklearn": sklearn_step, "reference": reference_step}, args.repeats)
    t_sk, t_ref = statistics.median(samples["sklearn"]), statistics.median(samples["reference"])
    ratios = [r / s for r, s in zip(samples["reference"], samples["sklearn"])]
    print(f"EM on N={n}, D={d}, K={k} full covariances; median of {args.repeats} interleaved repeats")
    print(f"  scikit-learn {t_sk * 1e3:8.1f} ms per iteration")
    print(f"  reference    {t_ref * 1e3:8.1f} ms per iteration")
    print(f"  ratio of medians {t_ref / t_sk:.2f}x (median of per-repeat ratios {statistics.median(ratios):.2f}x; "
          f"goal: at most 1.0x)")

    iters = 30
    out = ref.fit_gmm(X, k, "full", max_iter=iters, tol=0.0, reg_covar=1e-6,
                      init={"weights": start[0], "means": start[1], "covariances": start[2]})
    gm_full = sklearn_from(start, iters)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm_full.fit(X)
    _, ll_ref = ref.e_step(X, out["weights"], out["means"], out["covariances"], "full")
    ll_sk = gm_full.score(X) * n
    print(f"after {iters} iterations from the same start: log-likelihood reference {ll_ref:.6f}, "
          f"scikit-learn {ll_sk:.6f} (relative difference {abs(ll_ref - ll_sk) / abs(ll_sk):.1e})")


if __name__ == "__main__":
    main()
