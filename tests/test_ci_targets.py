"""Grading in CI: the Gradescope bundle (run in an emulated /autograder), the student
repository export, and the GitHub Actions workflows (validated against their schema)."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from conftest import ROOT, TOY
from source_utils import gradescope, markers, release, student_repo

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
# Gradescope's results.json, as its autograder specification describes it.
RESULTS_SCHEMA = {
    "type": "object",
    "anyOf": [{"required": ["score"]}, {"required": ["tests"]}],
    "properties": {
        "score": {"type": "number"}, "execution_time": {"type": "number"}, "output": {"type": "string"},
        "output_format": FORMAT, "test_output_format": FORMAT, "test_name_format": FORMAT,
        "visibility": VISIBILITY, "stdout_visibility": VISIBILITY, "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "score": {"type": "number"}, "max_score": {"type": "number"},
                "status": {"enum": ["passed", "failed"]}, "name": {"type": "string"},
                "name_format": FORMAT, "number": {"type": "string"}, "output": {"type": "string"},
                "output_format": FORMAT, "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": VISIBILITY, "extra_data": {"type": "object"},
            },
            "additionalProperties": False,
        }},
        "leaderboard": {"type": "array"},
    },
    "additionalProperties": False,
}


def emulate(bundle: Path, submission: dict[str, str], tmp: Path) -> dict:
    """Lay out /autograder under `tmp`, run run_autograder (no setup.sh), return results.json."""
    ag = tmp / "autograder"
    if ag.exists():
        shutil.rmtree(ag)
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(ag / "source")
    (ag / "submission").mkdir(parents=True)
    for name, text in submission.items():
        (ag / "submission" / name).write_text(text)
    script = ag / "source" / "run_autograder"
    script.chmod(0o755)
    proc = subprocess.run([str(script)], env={**os.environ, "ADL_AUTOGRADER_ROOT": str(ag), "ADL_PYTHON": sys.executable},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((ag / "results" / "results.json").read_text())
    jsonschema.validate(data, RESULTS_SCHEMA)
    return data


@pytest.fixture(scope="module")
def toy_bundle(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("course")
    for item in ("autograder", "source_utils", "gradebook"):
        shutil.copytree(ROOT / item, course / item, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", course)
    shutil.copytree(TOY, course / "solutions" / "toy")
    manifest = course / "solutions" / "toy" / "assignment.toml"
    manifest.write_text('hidden_visibility = "after_due_date"\n' + manifest.read_text())
    return gradescope.build(course, "toy", course / "toy.zip")


def test_bundle_layout_and_reproducibility(toy_bundle, tmp_path):
    names = zipfile.ZipFile(toy_bundle).namelist()
    assert {"setup.sh", "run_autograder", "course/pyproject.toml", "course/autograder/cli.py",
            "course/solutions/toy/tests/hidden/test_toy_hidden.py"} <= set(names)
    assert not any("mutants" in n or "__pycache__" in n for n in names)
    again = gradescope.build(toy_bundle.parent, "toy", tmp_path / "again.zip")
    assert again.read_bytes() == toy_bundle.read_bytes()
    info = zipfile.ZipFile(toy_bundle).getinfo("run_autograder")
    assert (info.external_attr >> 16) & 0o111


def test_emulated_gradescope_reference_stubs_and_broken(toy_bundle, tmp_path):
    reference = markers.remove_solution_markers((TOY / "toy.py").read_text())
    full = emulate(toy_bundle, {"toy.py": reference}, tmp_path)
    assert full["score"] == pytest.approx(10) and full["execution_time"] > 0
    assert "**Sandbox:**" in full["output"] and full["output_format"] == "md"
    hidden = [t for t in full["tests"] if "hidden" in t["tags"]]
    assert hidden and all(t["visibility"] == "after_due_date" for t in hidden)
    assert all(t["visibility"] == "visible" for t in full["tests"] if "public" in t["tags"])

    stubs = release.release_files(TOY, {"public": 2, "hidden": 5})["toy.py"].decode()
    zero = emulate(toy_bundle, {"toy.py": stubs}, tmp_path)
    assert zero["score"] == 0 and all(t["status"] == "failed" for t in zero["tests"])
    assert "not implemented yet" in zero["tests"][0]["output"]

    broken = emulate(toy_bundle, {"toy.py": "def add(a, b)\n    return a + b\n"}, tmp_path)
    assert broken["score"] == 0 and "SyntaxError" in broken["tests"][0]["output"]

    nothing = emulate(toy_bundle, {"notes.txt": "forgot the file"}, tmp_path)
    assert nothing["score"] == 0 and "no toy.py" in nothing["output"]


def test_run_autograder_writes_results_even_when_the_grader_cannot_start(toy_bundle, tmp_path):
    ag = tmp_path / "autograder"
    with zipfile.ZipFile(toy_bundle) as zf:
        zf.extractall(ag / "source")
    (ag / "submission").mkdir()
    script = ag / "source" / "run_autograder"
    script.chmod(0o755)
    subprocess.run([str(script)], env={**os.environ, "ADL_AUTOGRADER_ROOT": str(ag), "ADL_PYTHON": "/nonexistent/python"},
                   capture_output=True, timeout=60, check=True)
    data = json.loads((ag / "results" / "results.json").read_text())
    jsonschema.validate(data, RESULTS_SCHEMA)
    assert data["score"] == 0 and "autograder failed" in data["output"]


def test_emulated_gradescope_on_the_attention_reference(tmp_path):
    bundle = gradescope.build(ROOT, "attention", tmp_path / "attention.zip")
    source = markers.remove_solution_markers((ROOT / "solutions" / "attention" / "attention.py").read_text())
    data = emulate(bundle, {"attention.py": source}, tmp_path)
    lost = [(t.get("name"), t.get("score"), t.get("max_score"), t.get("output", "")[-600:])
            for t in data["tests"] if t.get("score") != t.get("max_score")]
    assert data["score"] == pytest.approx(100), lost


def test_student_repository_carries_no_answers(tmp_path):
    target = tmp_path / "student"
    written = student_repo.export(ROOT, ["attention"], target)
    assert "assignments/attention/attention.py" in written and ".github/workflows/public-tests.yml" in written
    assert not (target / "solutions").exists()
    reference = (ROOT / "solutions" / "attention" / "attention.py").read_text()
    solution_lines = set()
    for region in markers.find_regions(reference):
        solution_lines |= {line.strip() for line in reference.splitlines()[region.begin + 1:region.end]
                           if len(line.strip()) > 25}
    hidden_names = {p.name for p in (ROOT / "solutions").glob("*/tests/hidden/*")}
    for path in target.rglob("*"):
        if not path.is_file():
            continue
        assert path.name not in hidden_names and "mutants" not in path.name and "hidden" not in path.parts
        text = path.read_text(errors="replace")
        for marker in (markers.BEGIN, markers.END, markers.BEGIN_HIDDEN, markers.END_HIDDEN):
            assert marker not in text, f"{path}: {marker}"
        assert not solution_lines & {line.strip() for line in text.splitlines()}, path
    with pytest.raises(student_repo.ExportError, match="not empty"):
        student_repo.export(ROOT, ["attention"], target)


def test_student_repository_runs_its_public_tests(tmp_path):
    target = tmp_path / "student"
    student_repo.export(ROOT, ["attention"], target)
    summary = tmp_path / "summary.md"
    # as in a student's clone: `autograder` from the clone, and no instructor packages at all
    only_autograder = ("import sys; sys.path.insert(0, sys.argv.pop(1)); sys.modules['gradebook'] = None; "
                       "sys.modules['notebooks'] = None; from autograder.cli import main; sys.exit(main())")
    proc = subprocess.run([sys.executable, "-c", only_autograder, str(target), "--root", str(target), "test",
                           "attention", "--markdown", str(summary)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1  # the stubs fail the public tests
    assert "hidden tests are not run here" in proc.stdout
    assert "### attention: public: 0/" in summary.read_text()


@pytest.mark.parametrize("workflow", [
    ROOT / ".github" / "workflows" / "ci.yml",
    ROOT / "source_utils" / "templates" / "github" / "public-tests.yml",
    ROOT / "source_utils" / "templates" / "github" / "grade-submissions.yml",
])
def test_workflows_are_valid(workflow):
    checker = Path(sys.executable).parent / "check-jsonschema"
    proc = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(workflow)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_project_workflow_runs_the_ci_script():
    text = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert "bash .ci/run" in text
