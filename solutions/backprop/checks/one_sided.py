"""Public checks of one_sided (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "one_sided"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def exact_on_a_line(one_sided_difference):
    """On f(x) = 2x + 1 every difference quotient is exactly the slope 2."""
    got = one_sided_difference(lambda v: 2.0 * v + 1.0, 0.3, 0.25)
    assert abs(got - 2.0) < 1e-12, f"f(x) = 2x + 1 has slope 2 everywhere, got {got}"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def forward_difference_of_a_square(one_sided_difference):
    """For f(x) = x^2 the forward quotient (f(x + eps) - f(x)) / eps is 2x + eps: 6.5 at x = 3, eps = 0.5."""
    got = one_sided_difference(lambda v: v * v, 3.0, 0.5)
    assert abs(got - 6.5) < 1e-12, f"(3.5^2 - 3^2) / 0.5 = 6.5, got {got}"
