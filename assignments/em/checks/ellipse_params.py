"""Public checks of ellipse_params (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "ellipse_params"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def axis_aligned_ellipse(ellipse_params, np):
    """diag(1, 4) at 2 standard deviations: full axes 2*2*1 = 4 and 2*2*2 = 8, the first along x."""
    w, h, a = ellipse_params(np.diag([1.0, 4.0]), n_std=2.0)
    assert np.isclose(w, 4.0) and np.isclose(h, 8.0), f"expected width 4 and height 8 (full lengths), got {w}, {h}"
    assert np.isclose(np.sin(np.radians(a)), 0.0, atol=1e-9), f"the first axis of diag(1, 4) is the x axis, got angle {a}"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def tilted_ellipse(ellipse_params, np):
    """[[2, 1], [1, 2]] at 1 standard deviation: eigenvalues 1 and 3 along the diagonals, so axes 2 and 2 sqrt(3) at +-45 degrees."""
    w, h, a = ellipse_params(np.array([[2.0, 1.0], [1.0, 2.0]]), n_std=1.0)
    assert np.isclose(w, 2.0) and np.isclose(h, 2 * np.sqrt(3.0)), f"expected width 2, height 2 sqrt(3), got {w}, {h}"
    assert np.isclose(abs(np.cos(np.radians(a))), np.sqrt(0.5)), f"the axes point along the diagonals, got angle {a}"
