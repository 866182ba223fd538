"""The backprop week meets the finished-assignment standard, checked with the real grader:
`adl validate` (reference full marks, stubs zero, every stub and every mutant loses points,
release in sync), and its manifest bans whole autodiff packages from the student's file."""

import pytest

from autograder import forbidden, manifest as manifest_mod
from conftest import ROOT
from source_utils import validate, variants

SOLUTION = ROOT / "solutions" / "backprop"


@pytest.fixture(scope="module")
def checks():
    return validate.validate(ROOT, "backprop", jobs=2)


@pytest.mark.validation
def test_validate_backprop_passes_every_check(checks):
    failed = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    assert not failed, "\n".join(failed)


@pytest.mark.validation
def test_every_function_and_at_least_ten_mutants_are_exercised(checks):
    names = {c.name for c in checks}
    kinds = [v.kind for v in variants.variants(SOLUTION)]
    assert kinds.count("mutant") >= 10
    assert kinds.count("stub") >= 25  # each solution region, stubbed alone
    assert {"reference scores full marks", "stubs score zero", "release in sync"} <= names
    assert len(checks) == len(kinds) + 1


def test_the_reference_uses_no_forbidden_package_and_a_torch_import_would_be_caught(tmp_path):
    man = manifest_mod.load(SOLUTION)
    assert {"torch.*", "autograd.*", "jax.*"} <= set(man.forbidden)
    assert forbidden.scan(SOLUTION / "backprop.py", man.forbidden) == []
    cheat = tmp_path / "backprop.py"
    cheat.write_text((SOLUTION / "backprop.py").read_text().replace(
        "def unbroadcast(grad, shape):", "def unbroadcast(grad, shape):\n    import torch"))
    assert [u.function for u in forbidden.scan(cheat, man.forbidden)] == ["unbroadcast"]
