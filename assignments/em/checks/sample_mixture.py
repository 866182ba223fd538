"""Public checks of sample_mixture (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "sample_mixture"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def a_one_point_component(sample_mixture, np):
    """All the weight on a component with (almost) zero covariance: every draw is its mean, labelled 1."""
    weights = np.array([0.0, 1.0])
    means = np.array([[0.0, 0.0], [3.0, -1.0]])
    covs = np.stack([np.eye(2), 1e-20 * np.eye(2)])
    x, labels = sample_mixture(weights, means, covs, 5, np.random.default_rng(0))
    assert np.shape(x) == (5, 2) and np.shape(labels) == (5,), f"expected shapes (5, 2) and (5,), got {np.shape(x)}, {np.shape(labels)}"
    assert np.all(labels == 1), f"all labels should be 1, got {labels}"
    assert np.allclose(x, [3.0, -1.0]), "every point should be the mean (3, -1)"
