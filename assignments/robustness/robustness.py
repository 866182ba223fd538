"""Adversarial examples and certified robustness by randomized smoothing.

Part A attacks a classifier: FGSM, PGD under the L-infinity and L2 norms, and the robust
accuracy curve. Part B makes a classifier *provably* robust in L2 with randomized smoothing
(Cohen, Rosenfeld and Kolter, 2019): Monte Carlo class counts under Gaussian noise, PREDICT
with a binomial test, CERTIFY with a Clopper-Pearson bound, training with Gaussian noise and
the certified accuracy curve.

Read README.md first: it gives the maths, the conventions and the points for each part.

Rules
-----
* Use `math`, `numpy`, `torch` and `scipy.stats` (imported below). Write the Clopper-Pearson
  bound yourself from `scipy.stats.beta`; `proportion_confint` (statsmodels),
  `BinomTestResult.proportion_ci` (scipy) and ready-made attack or certification libraries
  are forbidden.
* Keep every name and signature in this file: the tests call them by name.
* "generator" arguments accept ``None`` (torch's global random state), an ``int`` seed or a
  ``torch.Generator``; turn them into a generator with the given helper ``as_generator`` and
  draw every random number from it, so that runs are reproducible.
* The code outside the ``YOUR CODE HERE`` regions (the network, the data helper, ...) is given;
  do not change it.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import stats

ABSTAIN = -1  # the class smoothing returns when it declines to answer

# ---------------------------------------------------------------------------------------------
# Given: the base classifier, the data and small helpers
# ---------------------------------------------------------------------------------------------


class DigitsMLP(nn.Module):
    """The base classifier of this assignment: an MLP on 8x8 digit images.

    ``forward`` maps ``(B, 64)`` (or ``(B, 8, 8)``) float pixels in ``[0, 1]`` to ``(B, 10)``
    logits. Layout: ``fc1 = Linear(64, hidden)``, ReLU, ``fc2 = Linear(hidden, hidden)``, ReLU,
    ``fc3 = Linear(hidden, 10)``.
    """

    def __init__(self, hidden=128, num_classes=10):
        super().__init__()
        self.fc1 = nn.Linear(64, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, num_classes)

    def forward(self, x):
        h = torch.relu(self.fc1(x.flatten(1)))
        h = torch.relu(self.fc2(h))
        return self.fc3(h)


def linear_classifier(weight, bias):
    """An ``nn.Linear`` with the given ``weight`` ``(K, D)`` and ``bias`` ``(K,)``: logits ``x W^T + b``.

    Linear base classifiers are where attacks and smoothing have closed forms; the tests and
    the seminar use them.
    """
    weight = torch.as_tensor(weight)
    model = nn.Linear(weight.shape[1], weight.shape[0], dtype=weight.dtype)
    with torch.no_grad():
        model.weight.copy_(weight)
        model.bias.copy_(torch.as_tensor(bias, dtype=weight.dtype))
    return model.eval()


def load_digits_split(test_fraction=0.25, seed=0):
    """scikit-learn's 1797 digits as ``(x_train, y_train, x_test, y_test)``.

    ``x`` are float32 ``(N, 64)`` with pixels scaled from 0..16 to ``[0, 1]``; ``y`` are int64
    ``(N,)``. The split is a fixed permutation drawn from ``seed``.
    """
    from sklearn.datasets import load_digits  # here: only the notebook and the scripts need it

    data = load_digits()
    x = torch.tensor(data.data / 16.0, dtype=torch.float32)
    y = torch.tensor(data.target, dtype=torch.int64)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def as_generator(generator):
    """``None`` -> ``None`` (torch's global random state); ``int`` -> a new seeded
    ``torch.Generator``; a ``torch.Generator`` is returned as it is."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return torch.Generator().manual_seed(int(generator))
    raise TypeError(f"generator must be None, an int seed or a torch.Generator, not {type(generator).__name__}")


@torch.no_grad()
def accuracy(model, x, y):
    """Fraction of ``x`` ``(B, ...)`` that ``model`` classifies as ``y`` ``(B,)``, a Python float."""
    return float((model(x).argmax(dim=1) == y).double().mean())


def _batch_norms(t):
    """L2 norm of each example of ``t`` ``(B, ...)``, shaped ``(B, 1, ..., 1)`` to broadcast."""
    return t.flatten(1).norm(dim=1).view(-1, *([1] * (t.dim() - 1)))


# ---------------------------------------------------------------------------------------------
# Part 1: FGSM
# ---------------------------------------------------------------------------------------------


def fgsm(model, x, y, eps, clip=(0.0, 1.0)):
    """Fast gradient sign method (Goodfellow et al., 2015), an L-infinity attack.

    * ``model``: maps ``(B, ...)`` to logits ``(B, K)``; ``x``: ``(B, ...)`` float inputs;
      ``y``: ``(B,)`` int64 true labels; ``eps``: float >= 0.
    * ``clip``: ``(low, high)``, the valid input range, or ``None`` for no clipping.

    Formula::

        g     = d/dx  cross_entropy(model(x), y)          # gradient w.r.t. the input
        x_adv = clamp(x + eps * sign(g), low, high)

    Returns ``x_adv``, same shape and dtype as ``x``, detached (no autograd history). Do not
    leave gradients in the model's parameters (use ``torch.autograd.grad``).
    """
    # YOUR CODE HERE
    raise NotImplementedError('robustness.py: fgsm is not implemented yet (README.md, part 1: FGSM)')


# ---------------------------------------------------------------------------------------------
# Part 2: projection and PGD
# ---------------------------------------------------------------------------------------------


def project(delta, eps, norm):
    """Euclidean projection of each perturbation in ``delta`` ``(B, ...)`` onto its eps-ball.

    * ``norm="linf"``: ``{d : max_i |d_i| <= eps}``; the projection clamps every entry to
      ``[-eps, eps]``.
    * ``norm="l2"``: ``{d : ||d||_2 <= eps}`` with the norm taken over all of an example's
      entries; the projection is ``d * min(1, eps / ||d||_2)`` (a zero ``d`` stays zero).

    Returns a tensor of the shape and dtype of ``delta``. Any other ``norm`` raises
    ``ValueError``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('robustness.py: project is not implemented yet (README.md, part 2: Projection and PGD (L-infinity and L2))')


def pgd(model, x, y, eps, *, norm="linf", steps=10, step_size=None, random_start=True,
        clip=(0.0, 1.0), generator=None):
    """Projected gradient descent (Madry et al., 2018): maximise the loss within an eps-ball.

    Arguments as in ``fgsm``; ``norm`` is ``"linf"`` or ``"l2"``; ``step_size`` defaults to
    ``2.5 * eps / steps`` (so the iterates can cross the ball from side to side); ``generator``
    (None, int or torch.Generator) drives the random start.

    Algorithm (``delta`` has the shape of ``x``; norms are per example)::

        delta = random start if random_start else 0
            # linf: every entry uniform on [-eps, eps]    (torch.rand(..., generator) * 2 - 1) * eps
            # l2:   uniform in the ball: u = randn(shape of x) / ||randn||  (per example),
            #       delta = eps * U^(1/D) * u with U ~ Uniform(0, 1) per example, D = entries per example
        delta = clamp(x + delta, low, high) - x               # only if clip is not None
        repeat steps times:
            g = d/d(delta) cross_entropy(model(x + delta), y)
            linf: delta = delta + step_size * sign(g)
            l2:   delta = delta + step_size * g / ||g||_2     (per example; leave a zero g alone)
            delta = project(delta, eps, norm)                   # your part-2 projection
            delta = clamp(x + delta, low, high) - x             # only if clip is not None

    Returns ``x + delta``, detached, same shape and dtype as ``x``. It is always within ``eps``
    of ``x`` in the chosen norm and inside ``clip``. Any other ``norm`` raises ``ValueError``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('robustness.py: pgd is not implemented yet (README.md, part 2: Projection and PGD (L-infinity and L2))')


# ---------------------------------------------------------------------------------------------
# Part 3: robust accuracy against epsilon
# ---------------------------------------------------------------------------------------------


def robust_accuracy_curve(model, x, y, epsilons, *, norm="linf", steps=10, clip=(0.0, 1.0), generator=None):
    """Accuracy of ``model`` on ``x`` ``(B, ...)``, ``y`` ``(B,)`` under your PGD, for each epsilon.

    For each ``eps`` in ``epsilons`` (a list of floats >= 0): attack with
    ``pgd(model, x, y, eps, norm=norm, steps=steps, clip=clip, generator=...)`` (default step
    size, random start, the same generator object throughout) and count the examples still
    classified as ``y``. For ``eps == 0`` use the clean inputs (no attack).

    Returns a float64 tensor ``(len(epsilons),)`` of fractions in ``[0, 1]``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('robustness.py: robust_accuracy_curve is not implemented yet (README.md, part 3: Robust accuracy against epsilon)')


# ---------------------------------------------------------------------------------------------
# Part 5: Monte Carlo class counts under Gaussian noise
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def sample_counts(model, x, sigma, num_samples, *, num_classes=10, batch_size=10_000, generator=None):
    """How often the base classifier picks each class under Gaussian noise.

    * ``x``: ``(B, ...)`` inputs; for each ``x[b]`` draw ``num_samples`` noisy copies
      ``x[b] + sigma * eps`` with ``eps ~ N(0, I)`` (independent for every copy and entry, from
      ``generator``), classify each copy by ``model(...).argmax(dim=1)`` and count the classes.
    * Evaluate at most ``batch_size`` noisy copies per forward pass (over all of ``x``
      together, at least one per input): the memory must not grow with ``num_samples``.

    Returns ``counts``: int64 ``(B, num_classes)``, every row summing to ``num_samples``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('robustness.py: sample_counts is not implemented yet (README.md, part 5: Monte Carlo class counts under Gaussian noise)')


class NoiseCounter:
    """Given: your ``sample_counts`` with the base classifier and the noise level bound.

    ``NoiseCounter(model, sigma, num_classes)(x, num_samples, batch_size=..., generator=...)``
    returns ``sample_counts(model, x, sigma, num_samples, num_classes=num_classes, ...)``. The
    grader's speed test times your ``sample_counts`` through it.
    """

    def __init__(self, model, sigma, num_classes=10):
        self.model, self.sigma, self.num_classes = model, sigma, num_classes

    def __call__(self, x, num_samples, batch_size=10_000, generator=None):
        return sample_counts(self.model, x, self.sigma, num_samples, num_classes=self.num_classes,
                             batch_size=batch_size, generator=generator)


# ---------------------------------------------------------------------------------------------
# Part 6: PREDICT (and part 9: the pipeline function predict)
# ---------------------------------------------------------------------------------------------


def predict_from_counts(counts, alpha):
    """The smoothed classifier's prediction with abstention (Cohen et al., PREDICT).

    ``counts``: int64 ``(B, K)`` class counts (K >= 2). For each row let ``cA`` be the class with
    the largest count ``nA`` and ``nB`` the second-largest count (ties: the smaller class index
    is "first"). Return ``cA`` if the two-sided binomial test of ``nA`` successes in ``nA + nB``
    trials with p = 1/2 has p-value ``<= alpha``, computed with
    ``scipy.stats.binomtest(nA, nA + nB, 0.5).pvalue``; otherwise ``ABSTAIN`` (-1).

    Returns int64 ``(B,)``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('robustness.py: predict_from_counts is not implemented yet (README.md, part 6: PREDICT: the smoothed prediction with abstention)')


def predict(model, x, sigma, num_samples, alpha, *, num_classes=10, batch_size=10_000, generator=None):
    """PREDICT for each input in ``x`` ``(B, ...)``: ``sample_counts`` with ``num_samples``
    noisy copies, then ``predict_from_counts``. Returns int64 ``(B,)`` (``ABSTAIN`` = -1)."""
    # YOUR CODE HERE
    raise NotImplementedError('robustness.py: predict is not implemented yet (README.md, part 9: predict and certify end to end)')


# ---------------------------------------------------------------------------------------------
# Part 7: the Clopper-Pearson lower confidence bound
# ---------------------------------------------------------------------------------------------


def clopper_pearson_lower(k, n, alpha):
    """One-sided (1 - alpha) lower confidence bound on a binomial probability p from k of n.

    ``k``, ``n``: ints or integer tensors of broadcastable shapes, ``0 <= k <= n``, ``n >= 1``.
    The exact (Clopper-Pearson) bound is the alpha-quantile of a Beta distribution::

        p_lower = Beta(k, n - k + 1).ppf(alpha)   (scipy.stats.beta.ppf),  and 0 when k = 0

    so that P(p_lower <= p) >= 1 - alpha for every p. (A two-sided 1 - alpha interval would use
    alpha / 2; here only the lower side is needed.)

    Returns a float64 tensor of the broadcast shape (a 0-d tensor for int arguments). Raises
    ``ValueError`` unless ``0 <= k <= n`` and ``0 < alpha < 1``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('robustness.py: clopper_pearson_lower is not implemented yet (README.md, part 7: The Clopper-Pearson lower confidence bound)')


# ---------------------------------------------------------------------------------------------
# Part 8: CERTIFY (and part 9: the pipeline function certify)
# ---------------------------------------------------------------------------------------------


def certify_from_counts(counts_selection, counts_estimation, sigma, alpha):
    """Certified prediction and L2 radius from two independent sets of counts (Cohen et al., CERTIFY).

    * ``counts_selection``: int64 ``(B, K)``, counts from ``n0`` noisy samples, used **only** to
      choose the candidate class ``cA`` (the argmax; ties go to the smaller index);
    * ``counts_estimation``: int64 ``(B, K)``, counts from ``n`` **fresh** samples, used to bound
      ``pA``: ``pA_lower = clopper_pearson_lower(counts_estimation[cA], n, alpha)`` where ``n``
      is the row's total.
    * If ``pA_lower < 1/2``: abstain, prediction ``ABSTAIN`` (-1) and radius 0.0. Otherwise the
      prediction is ``cA`` and the radius is ``sigma * Phi^-1(pA_lower)`` (``scipy.stats.norm.ppf``;
      exactly 1/2 certifies radius 0).

    Returns ``(predictions, radii)``: int64 ``(B,)`` and float64 ``(B,)``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('robustness.py: certify_from_counts is not implemented yet (README.md, part 8: CERTIFY: certified class and L2 radius)')


def certify(model, x, sigma, n0, num_samples, alpha, *, num_classes=10, batch_size=10_000, generator=None):
    """CERTIFY for each input in ``x`` ``(B, ...)``: ``n0`` noisy samples to select the class,
    then ``num_samples`` fresh ones to bound its probability (two calls of ``sample_counts``
    with the same generator object, in that order), then ``certify_from_counts``.

    Returns ``(predictions, radii)``: int64 ``(B,)`` and float64 ``(B,)``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('robustness.py: certify is not implemented yet (README.md, part 9: predict and certify end to end)')


# ---------------------------------------------------------------------------------------------
# Part 10: training with Gaussian noise augmentation
# ---------------------------------------------------------------------------------------------


def train_noise_augmented(model, x, y, sigma, *, epochs=30, batch_size=64, lr=1e-3, generator=None):
    """Train ``model`` in place on ``(x, y)`` with Gaussian noise augmentation (Cohen et al., sec. 3).

    * ``x``: ``(N, ...)`` float inputs, ``y``: ``(N,)`` int64 labels, ``sigma``: float >= 0.
    * Optimiser ``torch.optim.Adam(model.parameters(), lr=lr)``. Each epoch visits the examples in
      the order ``torch.randperm(N, generator=...)`` in minibatches of ``batch_size`` (the last
      may be smaller); each minibatch gets **fresh** noise,
      ``loss = cross_entropy(model(xb + sigma * randn_like(xb)), yb)``, and one optimiser step.
    * With ``sigma = 0`` this is ordinary training.

    Returns a list of ``epochs`` floats: the mean minibatch loss of each epoch.
    """
    # YOUR CODE HERE
    raise NotImplementedError('robustness.py: train_noise_augmented is not implemented yet (README.md, part 10: Training with Gaussian noise augmentation)')


# ---------------------------------------------------------------------------------------------
# Part 11: certified accuracy against radius
# ---------------------------------------------------------------------------------------------


def certified_accuracy_curve(predictions, radii, labels, thresholds):
    """Certified accuracy at each radius threshold.

    ``predictions`` int64 ``(B,)`` (``ABSTAIN`` = -1 allowed), ``radii`` float ``(B,)``,
    ``labels`` int64 ``(B,)``, ``thresholds``: a list or 1-d tensor of R radii ``r >= 0``. The
    certified accuracy at ``r`` is the fraction of the B examples with
    ``predictions == labels`` **and** ``radii >= r``.

    Returns a float64 tensor ``(R,)``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('robustness.py: certified_accuracy_curve is not implemented yet (README.md, part 11: Certified accuracy against radius)')
