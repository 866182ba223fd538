"""The instructor's self-check of an assignment (`adl validate`).

It grades, with the real grader: the reference (must get full marks), the released stubs
(must get zero), the reference with each solution region put back to its stub (each must lose
points), and every mutant (each must lose points). It also checks that every test belongs to
exactly one part and that the committed release is in sync.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from autograder import grading, manifest as manifest_mod
from source_utils import release, variants as variants_mod


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def grade_source(solution: Path, module: str, source: str, seed: int | None = None,
                 threads: int | None = None, keyword: str | None = None) -> grading.GradeResult:
    with tempfile.TemporaryDirectory(prefix="adl-variant-") as tmp:
        (Path(tmp) / f"{module}.py").write_text(source)
        return grading.grade(solution, Path(tmp), seed=seed, threads=threads, keyword=keyword)


def cheap_selection(solution: Path, man: manifest_mod.Manifest) -> str | None:
    """A pytest -k expression that leaves out the tests of the manifest's expensive parts
    (None when there are none). A variant that loses points on the other tests loses points
    on the whole run too, since points only add up; so validation may skip the expensive tests
    for it, and runs them only for the variants the cheap tests do not catch."""
    expensive = [p for p in man.parts if p.expensive]
    if not expensive:
        return None
    names = sorted({e["function"] for e in grading.collect(solution)
                    if any(p.matches(e["function"]) for p in expensive)})
    return "not (" + " or ".join(names) + ")" if names else None


def _failed_tests(result: grading.GradeResult) -> list[str]:
    return [t.name for t in result.tests if t.status not in ("passed", "skipped")]


def judge(variant: variants_mod.Variant, result: grading.GradeResult) -> Check:
    lost = result.max_score - result.score
    if variant.kind == "reference":
        failed = _failed_tests(result)
        orphan = [t.name for t in result.tests if t.part == "(no part)"]
        ok = not failed and not orphan and lost < 1e-9
        detail = f"{result.score:.2f}/{result.max_score:.2f}"
        if failed:
            detail += "; failing: " + ", ".join(failed[:6])
        if orphan:
            detail += "; tests in no part: " + ", ".join(orphan)
        return Check("reference scores full marks", ok, detail)
    if variant.kind == "stubs":
        return Check("stubs score zero", result.score < 1e-9, f"{result.score:.2f}/{result.max_score:.2f}")
    caught = _failed_tests(result)
    what = "stub of " + variant.name.split(":", 1)[1] if variant.kind == "stub" else variant.name
    detail = f"loses {lost:.2f} points" + (f" ({len(caught)} tests fail, e.g. {caught[0]})" if caught else "")
    if variant.kind == "mutant":
        detail += f" — {variant.why}"
    return Check(f"{what} loses points", lost > 1e-9, detail)


def validate(root: Path, slug: str, jobs: int = 2, seed: int | None = None,
             progress: Callable[[str], None] = lambda name: None) -> list[Check]:
    solution = Path(root) / "solutions" / slug
    man = manifest_mod.load(solution)
    checks: list[Check] = []
    problems = release.differences(solution, Path(root) / "assignments" / slug)
    checks.append(Check("release in sync", not problems, "; ".join(problems[:5]) or "assignments/ matches solutions/"))
    all_variants = variants_mod.variants(solution)
    cheap = cheap_selection(solution, man)

    def run(variant: variants_mod.Variant) -> Check:
        threads = max(1, (os.cpu_count() or 1) // jobs)
        if cheap and variant.kind in ("mutant", "stub"):
            first = grade_source(solution, man.module, variant.source, seed, threads, keyword=cheap)
            if first.max_score - first.score > 1e-9:
                progress(variant.name)
                check = judge(variant, first)
                check.detail += " (caught without the expensive tests)"
                return check
        result = grade_source(solution, man.module, variant.source, seed, threads)
        progress(variant.name)
        return judge(variant, result)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        checks.extend(pool.map(run, all_variants))
    return checks
