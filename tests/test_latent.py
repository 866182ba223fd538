"""The latent-variable week (PCA, PPCA, PPCA by EM) meets the finished-assignment standard,
checked with the real grader: `adl validate` (reference full marks, stubs zero, every stub and
every mutant loses points)."""

import pytest

from conftest import ROOT
from source_utils import validate, variants

SOLUTION = ROOT / "solutions" / "latent"


@pytest.fixture(scope="module")
def results():
    return validate.validate(ROOT, "latent", jobs=2)


@pytest.mark.validation
def test_validate_latent_passes_every_check(results):
    failed = [f"{c.name}: {c.detail}" for c in results if not c.ok]
    assert not failed, "\n".join(failed)


@pytest.mark.validation
def test_every_function_and_at_least_ten_mutants_are_exercised(results):
    names = {c.name for c in results}
    kinds = [v.kind for v in variants.variants(SOLUTION)]
    assert kinds.count("mutant") >= 10
    assert kinds.count("stub") >= 8  # each solution region, stubbed alone
    assert {"reference scores full marks", "stubs score zero", "release in sync"} <= names
    assert len(results) == len(kinds) + 1
