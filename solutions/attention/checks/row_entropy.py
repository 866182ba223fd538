"""Public checks of row_entropy (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "row_entropy"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def uniform_rows_have_entropy_log_n(row_entropy, torch):
    """A uniform row over n keys has entropy log(n) nats."""
    for n in (2, 5, 16):
        got = row_entropy(torch.full((3, n), 1.0 / n, dtype=torch.float64))
        assert got.shape == (3,), f"expected one entropy per row, shape (3,), got {tuple(got.shape)}"
        assert torch.allclose(got, torch.full((3,), float(torch.log(torch.tensor(float(n)))), dtype=torch.float64)), \
            f"a uniform row over {n} keys should have entropy log({n}) nats"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def exact_zeros_count_as_zero(row_entropy, torch):
    """Weights that are exactly 0 (masked keys) contribute 0, not NaN: 0 * log 0 = 0."""
    weights = torch.tensor([[0.5, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    got = row_entropy(weights)
    assert not torch.isnan(got).any(), "a weight of exactly 0 gave NaN; use 0 * log 0 = 0 (torch.special.xlogy)"
    assert torch.allclose(got, torch.tensor([0.6931471805599453, 0.0], dtype=torch.float64))
