"""Public checks of run_ising (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "run_ising"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def a_strong_field_sets_every_spin(run_ising, np):
    """With no coupling and a field of -20 every spin is -1 after the first sweep: magnetisation -1 from sweep 1 on."""
    spins, mags = run_ising(0.0, 3, size=6, field=-20.0)
    assert np.shape(spins) == (6, 6), f"return the final spins as a (size, size) array, got shape {np.shape(spins)}"
    assert np.shape(mags) == (3,), f"one magnetisation per sweep, shape (3,), got {np.shape(mags)}"
    assert np.allclose(mags, -1.0), f"expected magnetisations (-1, -1, -1), recorded after each sweep; got {mags}"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def same_seed_same_run(run_ising, np):
    """The seed fixes the uniforms: two runs with the same seed agree exactly."""
    a, ma = run_ising(0.3, 4, size=8, seed=5)
    b, mb = run_ising(0.3, 4, size=8, seed=5)
    assert np.array_equal(a, b) and np.array_equal(ma, mb), "two runs with seed 5 differ"
