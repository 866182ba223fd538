"""Grading one submission end to end, on the toy assignment (fast: no torch in the worker)."""

import json
import shutil
import zipfile

import pytest

from autograder import grading
from autograder.reporters import gradescope
from conftest import TOY, scores
from source_utils import markers

REFERENCE = markers.remove_solution_markers((TOY / "toy.py").read_text())
ADD_ONLY = "def add(a, b):\n    return a + b\n\ndef fact(n):\n    raise NotImplementedError\n"


def test_reference_gets_full_marks_and_points_follow_the_manifest(grade_toy):
    result = grade_toy(REFERENCE)
    assert result.score == pytest.approx(10) and result.max_score == pytest.approx(10)
    per_test = {t.name: t.max_score for t in result.tests}
    # part "add" (4 points): two functions, 2 points each; the parametrized one splits 2 over 3 cases
    assert per_test["test_add_small"] == pytest.approx(2)
    assert per_test["test_add_random[0]"] == pytest.approx(2 / 3)
    # part "fact" (6 points): three functions, 2 points each
    assert per_test["test_fact_secret_value"] == pytest.approx(2)
    assert {t.kind for t in result.tests} == {"public", "hidden"}
    assert result.seed == 1


def test_partial_submission_gets_partial_marks(grade_toy):
    result = grade_toy(ADD_ONLY)
    assert result.score == pytest.approx(4)
    fact = [t for t in result.tests if t.name.startswith("test_fact")]
    assert fact and all(t.status == "failed" and "NotImplementedError" in t.message for t in fact)


def test_hidden_failures_never_show_expected_values(grade_toy):
    result = grade_toy(REFERENCE.replace("out *= i", "out *= i + 1"))
    secret = [t for t in result.tests if t.name == "test_fact_secret_value"][0]
    assert secret.status == "failed"
    assert secret.message == "failed: fact(12) is right (AssertionError while checking your result)"
    assert "479001600" not in json.dumps(result.to_json())
    public = [t for t in result.tests if t.name == "test_fact_small"][0]
    assert "assert" in public.message  # public tests may say everything


def test_a_hung_function_fails_its_tests_only(grade_toy):
    result = grade_toy(REFERENCE.replace("out = 1", "while True:\n        pass"))
    assert scores(result)["test_add_small"] > 0 and result.score == pytest.approx(4)
    hung = [t for t in result.tests if t.name.startswith("test_fact")]
    assert all("did not finish in time" in t.message for t in hung)
    assert any("restarted" in note for note in result.notes)


def test_import_crash_fails_every_test_with_the_reason(grade_toy):
    result = grade_toy("import os\nos._exit(3)\n")
    assert result.score == 0
    assert all("exit code 3" in t.message for t in result.tests)


def test_submitted_conftest_and_sitecustomize_are_never_loaded(grade_toy, tmp_path):
    marker = tmp_path / "loaded"
    evil = (f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')\n"
            "def pytest_runtest_makereport(item, call):\n    call.excinfo = None\n")
    result = grade_toy(ADD_ONLY, conftest__py=evil, sitecustomize__py=evil, pytest__ini="[pytest]\naddopts = -p no:x\n")
    assert result.score == pytest.approx(4)
    assert not marker.exists()


def test_patching_the_checks_in_the_worker_changes_nothing(grade_toy):
    cheat = ("import builtins, operator\n"
             "class Yes:\n    def __eq__(self, other): return True\n"
             "operator.eq = lambda a, b: True\n"
             "def add(a, b): return Yes()\n"
             "def fact(n): return Yes()\n")
    assert grade_toy(cheat).score == 0


def test_forbidden_call_is_noted_statically_and_fails_at_run_time(grade_toy):
    result = grade_toy("import math\ndef add(a, b): return a + b\ndef fact(n): return math.factorial(n)\n")
    assert any("math.factorial" in note for note in result.notes)
    assert result.score == pytest.approx(4)
    assert all("forbidden" in t.message for t in result.tests if t.name.startswith("test_fact"))


def test_missing_module_fails_every_test_and_says_so(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "other.py").write_text("")
    result = grading.grade(TOY, tmp_path / "sub", seed=0)
    assert result.score == 0 and any("no toy.py" in n for n in result.notes)
    assert all("no toy.py" in t.message for t in result.tests)


def test_zip_submissions_are_unpacked_safely(tmp_path):
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("my-work/toy.py", REFERENCE)
        zf.writestr("__MACOSX/my-work/._toy.py", "junk")
    assert grading.grade(TOY, good, seed=0).score == pytest.approx(10)
    for name in ("../escape.py", "/abs/toy.py", "a/../../toy.py"):
        bad = tmp_path / "bad.zip"
        with zipfile.ZipFile(bad, "w") as zf:
            zf.writestr(name, "x = 1\n")
        # the unsafe entry is skipped, named in a note; the rest (here: nothing) is graded
        result = grading.grade(TOY, bad, seed=0)
        assert result.score == 0 and any("unsafe path" in n and name in n for n in result.notes)
    assert not (tmp_path / "escape.py").exists()


def test_a_run_cut_short_reports_unfinished_tests_as_not_run(tmp_path):
    assignment = tmp_path / "toy"
    shutil.copytree(TOY, assignment)
    manifest = assignment / "assignment.toml"
    manifest.write_text(manifest.read_text().replace("submission_timeout_s = 60", "submission_timeout_s = 9"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "toy.py").write_text("import time\ndef add(a, b):\n    time.sleep(4)\n    return a + b\n"
                                             "def fact(n):\n    time.sleep(4)\n")
    result = grading.grade(assignment, tmp_path / "sub", seed=0)
    assert any("budget" in n for n in result.notes)
    statuses = {t.status for t in result.tests}
    assert "not run" in statuses and len(result.tests) == 7


def test_gradescope_results_follow_the_schema(grade_toy, tmp_path):
    result = grade_toy(ADD_ONLY)
    path = tmp_path / "results" / "results.json"
    gradescope.write(result, path, hidden_visibility="after_due_date")
    data = json.loads(path.read_text())
    assert data["score"] == pytest.approx(4) and data["execution_time"] > 0
    assert "**Seed:** 1" in data["output"] and "**Sandbox:**" in data["output"]
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] == ("after_due_date" if "hidden" in test["tags"] else "visible")
    assert sum(t["score"] for t in data["tests"]) == pytest.approx(data["score"], abs=1e-4)


def test_a_forbidden_call_the_tests_never_reach_still_zeroes_its_part(grade_toy):
    sneaky = ("import math as m\n"
              "def add(a, b):\n    return a + b\n"
              "def fact(n):\n    if n > 10**6:\n        return m.factorial(n)\n"
              "    out = 1\n    for i in range(2, n + 1):\n        out *= i\n    return out\n")
    result = grade_toy(sneaky)
    assert result.score == pytest.approx(4)
    assert any("line 6 (in fact): math.factorial" in note and "'Factorial' scores zero" in note for note in result.notes)
    fact = [t for t in result.tests if t.name.startswith("test_fact")]
    assert all(t.score == 0 and "forbids" in t.message for t in fact)
