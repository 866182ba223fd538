"""Gradescope's results.json (see their autograder specification).

Hidden tests' messages are already free of expected values (the plugin makes sure); the
manifest may still ask Gradescope to show hidden tests only after the due date.
"""

from __future__ import annotations

import json
from pathlib import Path

from autograder.grading import GradeResult


def results_json(result: GradeResult, hidden_visibility: str = "visible") -> dict:
    tests = []
    for number, t in enumerate(result.tests, start=1):
        tests.append({
            "name": f"{t.part} · {t.name}",
            "number": str(number),
            "score": round(t.score, 6),
            "max_score": round(t.max_score, 6),
            "status": "passed" if t.status == "passed" else "failed",
            "output": t.message if t.status != "passed" else "",
            "output_format": "text",
            "tags": [t.kind, t.part],
            "visibility": hidden_visibility if t.kind == "hidden" else "visible",
            "extra_data": {"kind": t.kind, "status": t.status, "duration_s": t.duration},
        })
    lines = [f"Graded with seed {result.seed}.", f"Sandbox: {result.sandbox}."]
    lines += result.notes
    return {
        "score": round(result.score, 6),
        "execution_time": result.execution_time,
        "output": "\n".join(lines),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"slug": result.slug, "seed": result.seed, "sandbox": result.sandbox,
                       "max_score": result.max_score},
    }


def write(result: GradeResult, path: Path, hidden_visibility: str = "visible") -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(results_json(result, hidden_visibility), indent=2) + "\n")
    tmp.replace(path)  # a reader never sees half a file


def write_failure(path: Path, why: str) -> None:
    """A valid results.json for a submission that could not be graded at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"score": 0, "output": f"Your submission could not be graded: {why}",
                                "output_format": "text", "tests": []}, indent=2) + "\n")
