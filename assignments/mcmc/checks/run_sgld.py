"""Public checks of run_sgld (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "run_sgld"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def a_zero_step_stays_put(run_sgld, np):
    """With step size 0 neither the gradient nor the noise moves the chain: every sample is w0."""
    w0 = np.array([[0.5, -1.0], [2.0, 0.0], [0.0, 0.0]])
    out = run_sgld(w0, 5, 0.0, 20)
    assert np.shape(out) == (5, 3, 2), f"expected samples of shape (n_steps, n, d) = (5, 3, 2), got {np.shape(out)}"
    assert np.allclose(out, w0[None]), "with step size 0 every sample should equal w0"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def same_seed_same_chain(run_sgld, np):
    """The seed fixes the batches and the noise: two runs with the same seed agree exactly."""
    w0 = np.zeros((2, 2))
    assert np.array_equal(run_sgld(w0, 10, 1e-3, 20, seed=3), run_sgld(w0, 10, 1e-3, 20, seed=3)), "two runs with seed 3 differ"
