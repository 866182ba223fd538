"""The optimisation week meets the finished-assignment standard, checked with the real grader:
`adl validate` (reference full marks, stubs zero, every stub and every mutant loses points)."""

import pytest

from conftest import ROOT
from source_utils import validate, variants

SOLUTION = ROOT / "solutions" / "optimization"


@pytest.fixture(scope="module")
def checks():
    return validate.validate(ROOT, "optimization", jobs=2)


@pytest.mark.validation
def test_validate_optimization_passes_every_check(checks):
    failed = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    assert not failed, "\n".join(failed)


@pytest.mark.validation
def test_every_function_and_at_least_ten_mutants_are_exercised(checks):
    names = {c.name for c in checks}
    kinds = [v.kind for v in variants.variants(SOLUTION)]
    assert kinds.count("mutant") >= 10
    assert kinds.count("stub") == 12  # each solution region, stubbed alone
    assert {"reference scores full marks", "stubs score zero", "release in sync"} <= names
    assert len(checks) == len(kinds) + 1
