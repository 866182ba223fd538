"""Public checks of ess_table (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "ess_table"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def one_row_per_step_size(ess_table, np):
    """Keys are the step sizes; the acceptance rate is passed through; ESS per 1000 = 1000 ESS / (chains x kept draws)."""
    rng = np.random.default_rng(0)
    runs = {0.5: (rng.normal(size=(600, 4, 2)), 0.25), 2.0: (rng.normal(size=(600, 4, 2)), 0.75)}
    table = ess_table(runs, burn_in=100)
    assert sorted(table) == [0.5, 2.0], f"expected the step sizes as keys, got {sorted(table)}"
    for sigma, (acc, ess, per_k, rhat) in table.items():
        assert acc == runs[sigma][1], "the first entry is the run's acceptance rate"
        assert abs(per_k - 1000 * ess / (4 * 500)) < 1e-9, "ESS per 1000 iterations: 4 chains x 500 kept draws"
        assert 0.9 < rhat < 1.1, f"independent normal draws should have R-hat close to 1, got {rhat}"
