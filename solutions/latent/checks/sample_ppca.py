"""Public checks of sample_ppca (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "sample_ppca"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def no_loadings_no_noise_gives_the_mean(sample_ppca, np):
    """With W = 0 and sigma2 = 0 every sample is the mean; the result has one row per sample."""
    mean = np.array([1.0, -2.0, 3.0])
    x = sample_ppca(mean, np.zeros((3, 2)), 0.0, 4, np.random.default_rng(0))
    assert np.shape(x) == (4, 3), f"expected shape (n, D) = (4, 3), got {np.shape(x)}"
    assert np.allclose(x, mean), "with W = 0 and no noise every sample should be the mean"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def without_noise_the_samples_lie_on_the_line(sample_ppca, np):
    """With one latent dimension and noise=False, x - mean is a multiple of the single column of W."""
    W = np.array([[1.0], [2.0], [-1.0]])
    x = sample_ppca(np.zeros(3), W, 0.5, 6, np.random.default_rng(1), noise=False)
    residual = x - (x @ W) @ W.T / float((W**2).sum())
    assert np.allclose(residual, 0.0), "noise=False: the samples must be W z + mean exactly"
