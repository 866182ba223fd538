"""Every assignment of the bank, graded quickly with the real grader: the reference earns every
point of its cheap tests, the released stubs earn none, and the release is in sync.

This is `make test`'s part of each week's self-check. The rest (each function put back to its
stub, every mutant, the expensive tests such as PPO's training runs) is in the `validation`-marked
tests of tests/test_<slug>.py, which `make validate` runs (CI runs both).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from autograder import manifest as manifest_mod
from conftest import ROOT
from source_utils import validate, variants

SLUGS = sorted(p.parent.name for p in (ROOT / "solutions").glob("*/assignment.toml"))


@pytest.mark.parametrize("slug", SLUGS)
def test_reference_full_marks_and_stubs_zero(slug):
    solution = ROOT / "solutions" / slug
    man = manifest_mod.load(solution)
    cheap = validate.cheap_selection(solution, man)
    by_kind = {v.kind: v for v in variants.variants(solution) if v.kind in ("reference", "stubs")}
    with ThreadPoolExecutor(max_workers=2) as pool:  # the two gradings side by side, one thread each
        reference, stubs = pool.map(
            lambda kind: validate.grade_source(solution, man.module, by_kind[kind].source, seed=0, threads=1,
                                               keyword=cheap), ("reference", "stubs"))
    ran = [t for t in reference.tests if t.status != "skipped"]
    assert len(ran) >= 10, f"only {len(ran)} tests ran"
    failing = [f"{t.name}: {t.message[:200]}" for t in ran if t.status != "passed" or t.score < t.max_score - 1e-9]
    assert not failing, "\n".join(failing)
    assert stubs.score == 0 and stubs.max_score > 0, [t.name for t in stubs.tests if t.score > 0]


def test_bank_has_its_weeks():
    # the release of each is checked byte for byte in tests/test_release.py
    assert len(SLUGS) >= 9 and all((ROOT / "assignments" / slug).is_dir() for slug in SLUGS)
