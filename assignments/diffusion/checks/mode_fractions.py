"""Public checks of mode_fractions (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "mode_fractions"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def points_on_the_modes(mode_fractions, D, torch):
    """Three points at the first mode, one at the second, none at the third: fractions (3/4, 1/4, 0)."""
    f64 = torch.float64
    mix = D.GaussianMixture(torch.tensor([0.4, 0.4, 0.2], dtype=f64),
                            torch.tensor([[-3.0, 0.0], [3.0, 0.0], [0.0, 10.0]], dtype=f64),
                            torch.ones(3, dtype=f64))
    x = torch.tensor([[-3.0, 0.0], [-3.0, 0.5], [-2.5, 0.0], [3.0, 0.0]], dtype=f64)
    got = mode_fractions(x, mix)
    assert tuple(got.shape) == (3,), f"one fraction per component, shape (3,), even for empty ones; got {tuple(got.shape)}"
    assert torch.allclose(got.to(f64), torch.tensor([0.75, 0.25, 0.0], dtype=f64)), f"expected (0.75, 0.25, 0), got {got.tolist()}"
