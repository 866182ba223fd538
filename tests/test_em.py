"""The EM week meets the finished-assignment standard, checked with the real grader:
`adl validate` (reference full marks, stubs zero, every stub and every mutant loses points)."""

import numpy as np
import pytest

from autograder import checks
from conftest import ROOT
from source_utils import validate, variants

SOLUTION = ROOT / "solutions" / "em"


@pytest.fixture(scope="module")
def results():
    return validate.validate(ROOT, "em", jobs=2)


@pytest.mark.validation
def test_validate_em_passes_every_check(results):
    failed = [f"{c.name}: {c.detail}" for c in results if not c.ok]
    assert not failed, "\n".join(failed)


@pytest.mark.validation
def test_every_function_and_at_least_ten_mutants_are_exercised(results):
    names = {c.name for c in results}
    kinds = [v.kind for v in variants.variants(SOLUTION)]
    assert kinds.count("mutant") >= 10
    assert kinds.count("stub") >= 10  # each solution region, stubbed alone
    assert {"reference scores full marks", "stubs score zero", "release in sync"} <= names
    assert len(results) == len(kinds) + 1


def test_numpy_assert_close_agrees_with_the_torch_path():
    """The NumPy-only comparison (used by the NumPy weeks, so grading never imports torch)
    passes and fails exactly where the tensor comparison does, with the same messages."""
    torch = pytest.importorskip("torch")
    want = np.array([1.0, -2.0, np.inf, 1e-12])
    cases = [want.copy(), want + 1e-8, np.array([1.0, -2.0, np.nan, 0.0]), want[:3], want.astype(np.float32)]
    for got in cases:
        outcomes = []
        for convert in (lambda a: a, torch.from_numpy):
            try:
                checks.assert_close(convert(got), convert(want), what="x")
                outcomes.append("pass")
            except checks.PropertyFailure as exc:
                outcomes.append(str(exc).replace("torch.", ""))
        assert outcomes[0] == outcomes[1]
