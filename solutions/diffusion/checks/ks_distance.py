"""Public checks of ks_distance (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
import math

from otter.test_files import test_case

OK_FORMAT = False
name = "ks_distance"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


def standard_normal(D, torch):
    return D.GaussianMixture(torch.ones(1, dtype=torch.float64), torch.zeros(1, 2, dtype=torch.float64),
                             torch.ones(1, dtype=torch.float64))


@test_case(points=None, hidden=False, success_message=SUCCESS)
def one_point_at_the_median(ks_distance, D, torch):
    """One sample at the centre of N(0, I): the empirical CDF jumps from 0 to 1 where F = 1/2, so KS = 1/2."""
    got = ks_distance(torch.zeros(1, 2, dtype=torch.float64), standard_normal(D, torch))
    assert abs(float(got) - 0.5) < 1e-9, f"expected 0.5, got {got}"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def two_points_one_direction(ks_distance, D, torch):
    """Samples -1 and +1 on the first axis, one direction: the largest gap is Phi(1) - 1/2 = 0.3413."""
    x = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    got = ks_distance(x, standard_normal(D, torch), n_directions=1)
    want = 0.5 * math.erf(1 / math.sqrt(2))
    assert abs(float(got) - want) < 1e-9, f"expected Phi(1) - 1/2 = {want:.6f}, got {got}"
