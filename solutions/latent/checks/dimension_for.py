"""Public checks of dimension_for (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "dimension_for"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def small_spectra_by_hand(dimension_for, np):
    """Ratios (0.5, 0.3, 0.2): 1 direction reaches 0.5, 2 reach 0.75, all 3 are needed for 0.99."""
    ratio = np.array([0.5, 0.3, 0.2])
    for fraction, q in ((0.5, 1), (0.75, 2), (0.99, 3), (0.1, 1)):
        got = dimension_for(ratio, fraction)
        assert got == q, f"fraction {fraction}: expected q = {q}, got {got}"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def reaching_the_fraction_exactly_is_enough(dimension_for, np):
    """'At least': ratios (0.5, 0.25, 0.25) reach exactly 0.75 with 2 directions."""
    got = dimension_for(np.array([0.5, 0.25, 0.25]), 0.75)
    assert got == 2, f"0.5 + 0.25 = 0.75 is at least 0.75, so q = 2; got {got}"
