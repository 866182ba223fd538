"""Gradescope's results.json (see their autograder specification).

Hidden tests' messages are already free of expected values (the plugin makes sure); the
manifest's `hidden_visibility` may still ask Gradescope to show hidden tests only after the
due date. Texts are Markdown: failure messages (often a traceback of the student's code)
go in code blocks.
"""

from __future__ import annotations

import json
from pathlib import Path

from autograder.grading import GradeResult


def _code(text: str) -> str:
    fence = "````" if "```" in text else "```"
    return f"{fence}\n{text.rstrip()}\n{fence}"


def results_json(result: GradeResult, hidden_visibility: str = "visible") -> dict:
    tests = []
    for number, t in enumerate(result.tests, start=1):
        tests.append({
            "name": f"{t.part} · {t.name}",
            "number": str(number),
            "score": round(t.score, 6),
            "max_score": round(t.max_score, 6),
            "status": "passed" if t.status == "passed" else "failed",
            # a passed speed test's message is its measured ratio: worth showing
            "output": ("" if not t.message else _code(t.message)) if t.status == "passed" else _code(t.message or t.status),
            "output_format": "md",
            "tags": [t.kind, t.part],
            "visibility": hidden_visibility if t.kind == "hidden" else "visible",
            "extra_data": {"kind": t.kind, "status": t.status, "duration_s": t.duration},
        })
    hidden = [t for t in result.tests if t.kind == "hidden"]
    lines = [
        f"**Score:** {result.score:.2f} / {result.max_score:.2f}",
        f"**Hidden tests:** {sum(t.status == 'passed' for t in hidden)} of {len(hidden)} passed "
        "(a failing hidden test says which property failed, not the expected values).",
        f"**Sandbox:** {result.sandbox}.",
        f"**Seed:** {result.seed} (a regrade with this seed draws the same inputs).",
    ]
    lines += [f"- {note}" for note in result.notes]
    return {
        "score": round(result.score, 6),
        "execution_time": result.execution_time,
        "output": "\n\n".join(lines),
        "output_format": "md",
        "test_output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"slug": result.slug, "seed": result.seed, "sandbox": result.sandbox,
                       "max_score": result.max_score},
    }


def _write_atomically(path: Path, data: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)  # a reader never sees half a file


def write(result: GradeResult, path: Path, hidden_visibility: str = "visible") -> None:
    _write_atomically(path, results_json(result, hidden_visibility))


def write_failure(path: Path, why: str) -> None:
    """A valid results.json for a submission that could not be graded at all."""
    _write_atomically(path, {"score": 0, "output": f"Your submission could not be graded: {why}",
                             "output_format": "text", "tests": []})
