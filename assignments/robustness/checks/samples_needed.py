"""Public checks of samples_needed (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "samples_needed"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def radius_zero_by_hand(samples_needed):
    """At r = 0 the condition is alpha^(1/n) >= 1/2, i.e. n >= log(alpha) / log(1/2): 1 for alpha = 1/2, 2 for 1/4, 10 for 0.001."""
    for alpha, n in ((0.5, 1), (0.25, 2), (0.001, 10)):
        got = samples_needed(0.0, alpha)
        assert got == n, f"radius 0, alpha {alpha}: expected n = {n}, got {got}"
        assert isinstance(got, int), f"return an int, got {type(got).__name__}"
