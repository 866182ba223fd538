"""Public tests for the robustness assignment: small cases you can check by hand.

Run them with `adl test robustness` or `pytest` in the assignment folder. Passing them is a
good sign but not a guarantee: the hidden tests use fresh random inputs, a trained network,
closed-form worst cases and exact statistics from scipy.
"""

import math

import pytest
import torch
from scipy import stats

ABSTAIN = -1


def close(actual, expected, **kw):
    torch.testing.assert_close(torch.as_tensor(actual).detach(), torch.as_tensor(expected).detach(), **kw)


def two_class_model(submission):
    """logits = (0, x_0 - x_1): class 1 iff x_0 > x_1."""
    return submission.call("linear_classifier", torch.tensor([[0.0, 0.0], [1.0, -1.0]]), torch.zeros(2))


# ----------------------------------------------------------------------------- part 1: FGSM


def test_fgsm_moves_against_the_true_class(submission):
    """For class 1 the loss falls as x_0 - x_1 grows, so FGSM lowers x_0 and raises x_1 by eps."""
    model = two_class_model(submission)
    x = torch.tensor([[0.5, 0.5], [0.2, 0.9]])
    y = torch.tensor([1, 0])
    x_adv = submission.call("fgsm", model, x, y, 0.1, clip=None)
    close(x_adv, torch.tensor([[0.4, 0.6], [0.3, 0.8]]))


def test_fgsm_clips_to_the_valid_range(submission):
    model = two_class_model(submission)
    x_adv = submission.call("fgsm", model, torch.tensor([[0.05, 0.97]]), torch.tensor([1]), 0.1)
    close(x_adv, torch.tensor([[0.0, 1.0]]))


# ----------------------------------------------------------------------------- part 2: projection and PGD


def test_project_by_hand(submission):
    delta = torch.tensor([[3.0, 4.0], [0.3, -0.4], [0.0, 0.0]])
    close(submission.call("project", delta, 1.0, "l2"), torch.tensor([[0.6, 0.8], [0.3, -0.4], [0.0, 0.0]]))
    close(submission.call("project", delta, 0.35, "linf"), torch.tensor([[0.35, 0.35], [0.3, -0.35], [0.0, 0.0]]))


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_stays_in_the_ball_and_beats_the_clean_input(submission, norm):
    torch.manual_seed(0)
    model = submission.call("DigitsMLP")
    x = torch.rand(32, 64)
    y = torch.randint(10, (32,))
    eps = 0.05 if norm == "linf" else 0.5
    x_adv = submission.call("pgd", model, x, y, eps, norm=norm, steps=10, generator=0)
    delta = x_adv - x
    size = delta.abs().amax(dim=1) if norm == "linf" else delta.norm(dim=1)
    assert bool((size <= eps * (1 + 1e-5)).all())
    assert bool(((x_adv >= -1e-6) & (x_adv <= 1 + 1e-6)).all())  # x + (clipped - x) may round by an ulp
    with torch.no_grad():
        clean = torch.nn.functional.cross_entropy(model(x), y)
        attacked = torch.nn.functional.cross_entropy(model(x_adv), y)
    assert attacked > clean


def test_pgd_linf_on_a_linear_model_reaches_the_corner(submission):
    model = two_class_model(submission)
    x_adv = submission.call("pgd", model, torch.tensor([[0.5, 0.5]]), torch.tensor([1]), 0.1, norm="linf",
                            steps=10, clip=None, generator=0)
    close(x_adv, torch.tensor([[0.4, 0.6]]))


# ----------------------------------------------------------------------------- part 3: robust accuracy curve


def test_robust_curve_of_a_linear_model(submission):
    """Distances to the boundary x_0 = x_1 in the L-infinity sense are |x_0 - x_1| / 2: 0.1 and 0.3 here."""
    model = two_class_model(submission)
    x = torch.tensor([[0.6, 0.4], [0.2, 0.8]])
    y = torch.tensor([1, 0])
    got = submission.call("robust_accuracy_curve", model, x, y, [0.0, 0.05, 0.2, 0.4], norm="linf", clip=None,
                          generator=0)
    close(got, torch.tensor([1.0, 1.0, 0.5, 0.0], dtype=torch.float64))


# ----------------------------------------------------------------------------- part 4: sampling


def test_sample_counts_of_a_confident_classifier(submission):
    """A bias of 1000 for class 2 wins under any reasonable noise: every sample lands in class 2."""
    model = submission.call("linear_classifier", torch.zeros(3, 4), torch.tensor([0.0, 0.0, 1000.0]))
    counts = submission.call("sample_counts", model, torch.zeros(2, 4), 0.5, 250, num_classes=3, batch_size=64,
                             generator=0)
    assert counts.dtype == torch.int64
    close(counts, torch.tensor([[0, 0, 250], [0, 0, 250]]))


def test_sample_counts_on_the_boundary_split_evenly(submission):
    """x on the boundary of a two-class linear model: each class has probability 1/2."""
    model = two_class_model(submission)
    counts = submission.call("sample_counts", model, torch.tensor([[0.3, 0.3]]), 1.0, 10_000, num_classes=2,
                             generator=0)
    assert int(counts.sum()) == 10_000
    assert abs(int(counts[0, 1]) - 5000) < 300  # 6 standard deviations


# ----------------------------------------------------------------------------- part 5: PREDICT


def test_predict_from_counts_by_hand(submission):
    counts = torch.tensor([[0, 100, 0], [50, 50, 0], [3, 20, 30], [10, 0, 9]])
    got = submission.call("predict_from_counts", counts, 0.001)
    # [3, 20, 30]: 30 vs 20 is not significant; [10, 0, 9]: neither is 10 vs 9
    close(got, torch.tensor([1, ABSTAIN, ABSTAIN, ABSTAIN]))


# ----------------------------------------------------------------------------- part 6: Clopper-Pearson


def test_clopper_pearson_simple_values(submission):
    # k = n: the bound solves p^n = alpha; k = 0: the bound is 0
    close(submission.call("clopper_pearson_lower", 10, 10, 0.001), torch.tensor(0.001 ** 0.1, dtype=torch.float64))
    close(submission.call("clopper_pearson_lower", 0, 10, 0.05), torch.tensor(0.0, dtype=torch.float64))
    got = submission.call("clopper_pearson_lower", torch.tensor([3, 50]), torch.tensor([10, 60]), 0.05)
    close(got, torch.tensor([stats.beta.ppf(0.05, 3, 8), stats.beta.ppf(0.05, 50, 11)], dtype=torch.float64))


# ----------------------------------------------------------------------------- part 7: CERTIFY


def test_certify_from_counts_by_hand(submission):
    sigma, alpha = 0.5, 0.001
    selection = torch.tensor([[0, 100, 0], [40, 60, 0]])
    estimation = torch.tensor([[0, 1000, 0], [520, 480, 0]])  # the second: 480 of 1000 is below 1/2
    pred, radius = submission.call("certify_from_counts", selection, estimation, sigma, alpha)
    close(pred, torch.tensor([1, ABSTAIN]))
    close(radius, torch.tensor([sigma * stats.norm.ppf(alpha ** (1 / 1000)), 0.0], dtype=torch.float64))
    assert 2.45 * sigma < float(radius[0]) < 2.47 * sigma


# ----------------------------------------------------------------------------- part 8: pipeline


def test_pipeline_certify_far_from_the_boundary(submission):
    """x is 2 (in L2) from the boundary x_0 = x_1 of a two-class model: sigma = 0.5 certifies class 1
    with a radius below 2 and, with 1000 samples, near the 2.46 sigma that 1000 unanimous samples allow."""
    model = two_class_model(submission)
    x = torch.tensor([[math.sqrt(2.0), -math.sqrt(2.0)]])
    pred, radius = submission.call("certify", model, x, 0.5, 100, 1000, 0.001, num_classes=2, generator=0)
    assert int(pred[0]) == 1
    assert 0.9 < float(radius[0]) <= 2.0


# ----------------------------------------------------------------------------- part 9: noise training


def test_training_lowers_the_loss(submission):
    torch.manual_seed(0)
    x = torch.rand(200, 64)
    y = (x[:, :32].sum(dim=1) > x[:, 32:].sum(dim=1)).long()
    model = submission.call("DigitsMLP")
    losses = submission.call("train_noise_augmented", model, x, y, 0.1, epochs=5, generator=0)
    assert len(losses) == 5 and losses[-1] < losses[0]


# ----------------------------------------------------------------------------- part 10: certified curve


def test_certified_curve_by_hand(submission):
    pred = torch.tensor([1, 2, ABSTAIN, 0])
    radii = torch.tensor([0.5, 1.0, 0.0, 0.25], dtype=torch.float64)
    labels = torch.tensor([1, 2, 2, 3])
    got = submission.call("certified_accuracy_curve", pred, radii, labels, [0.0, 0.5, 0.75, 1.0, 1.5])
    close(got, torch.tensor([0.5, 0.5, 0.25, 0.25, 0.0], dtype=torch.float64))
