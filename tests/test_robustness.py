"""The robustness week meets the finished-assignment standard, checked with the real grader:
`adl validate` (reference full marks, stubs zero, every stub and every mutant loses points),
plus the committed weights and data the hidden tests read."""

import numpy as np
import pytest

from conftest import ROOT
from source_utils import gradescope, validate, variants

SOLUTION = ROOT / "solutions" / "robustness"


@pytest.fixture(scope="module")
def checks():
    return validate.validate(ROOT, "robustness", jobs=2)


@pytest.mark.validation
def test_validate_robustness_passes_every_check(checks):
    failed = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    assert not failed, "\n".join(failed)


@pytest.mark.validation
def test_every_function_and_at_least_ten_mutants_are_exercised(checks):
    names = {c.name for c in checks}
    kinds = [v.kind for v in variants.variants(SOLUTION)]
    assert kinds.count("mutant") >= 10
    assert kinds.count("stub") >= 10  # each solution region, stubbed alone
    assert {"reference scores full marks", "stubs score zero", "release in sync"} <= names
    assert len(checks) == len(kinds) + 1


def test_committed_weights_are_small_and_complete():
    path = SOLUTION / "tests" / "hidden" / "digits_mlp.npz"
    assert path.stat().st_size < 500_000
    with np.load(path) as data:
        keys = set(data.files)
        assert {f"sigma={s}/fc1.weight" for s in (0.0, 0.25, 0.5)} <= keys
        assert data["digits/x_test"].dtype == np.uint8 and int(data["digits/x_test"].max()) <= 16
        assert len(data["digits/y_train"]) + len(data["digits/y_test"]) == 1797


def test_gradescope_bundle_carries_the_weights_but_the_release_does_not():
    bundle = gradescope.bundle_files(ROOT, "robustness")
    assert "course/solutions/robustness/tests/hidden/digits_mlp.npz" in bundle
    assert not list((ROOT / "assignments" / "robustness").rglob("*.npz"))
