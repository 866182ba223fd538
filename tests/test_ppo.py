"""The PPO week meets the finished-assignment standard, checked with the real grader: `adl
validate ppo` (reference full marks, stubs zero, every stubbed function and every mutant loses
points). The learning part is expensive (training runs), so validation runs it on the reference, the
stubs and only those variants the cheap tests do not already catch."""

import pytest

from conftest import ROOT
from source_utils import validate, variants

SOLUTION = ROOT / "solutions" / "ppo"


@pytest.fixture(scope="module")
def checks():
    return validate.validate(ROOT, "ppo", jobs=2)


@pytest.mark.validation
def test_validate_ppo_passes_every_check(checks):
    failed = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    assert not failed, "\n".join(failed)


@pytest.mark.validation
def test_every_function_and_at_least_ten_mutants_are_exercised(checks):
    kinds = [v.kind for v in variants.variants(SOLUTION)]
    assert kinds.count("mutant") >= 10
    assert kinds.count("stub") >= 10
    names = {c.name for c in checks}
    assert {"reference scores full marks", "stubs score zero", "release in sync"} <= names
    assert len(checks) == len(kinds) + 1
    train = next(c for c in checks if "train_ppo" in c.name)
    assert train.ok
