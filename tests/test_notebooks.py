"""Every seminar notebook (reference version) runs headless on CPU, with its plots rendered,
and the student version is a valid notebook."""

import json
import shutil
import time

import nbformat
import pytest
from nbclient import NotebookClient

from autograder import manifest as manifest_mod
from conftest import ROOT
from source_utils import markers

NOTEBOOKS = sorted(p.parent.name for p in (ROOT / "solutions").glob("*/seminar.ipynb"))


@pytest.mark.parametrize("slug", NOTEBOOKS)
def test_reference_notebook_executes_with_plots(slug, tmp_path):
    solution = ROOT / "solutions" / slug
    module = manifest_mod.load(solution).module + ".py"
    (tmp_path / module).write_text(markers.remove_solution_markers((solution / module).read_text()))
    if (solution / "checks").is_dir():
        shutil.copytree(solution / "checks", tmp_path / "checks")
    source = json.loads((solution / "seminar.ipynb").read_text())
    for cell in source["cells"]:  # the instructor's version: solution code kept, markers dropped
        text = "".join(cell["source"])
        if markers.BEGIN in text:
            text = markers.strip(text, lambda r: [], keep=lambda r: True)
        cell["source"] = text
    checks = sorted(p.stem for p in (solution / "checks").glob("*.py"))
    # the student's view of each check, as `grader.check(name)` displays it in the released notebook
    source["cells"].append(nbformat.v4.new_code_cell(
        "\n".join(f"print(repr(grader.check({name!r})))" for name in checks)))
    nb = nbformat.from_dict(source)
    started = time.monotonic()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    elapsed = time.monotonic() - started
    images = sum(1 for cell in nb.cells if cell.cell_type == "code"
                 for out in cell.get("outputs", []) if "image/png" in out.get("data", {}))
    assert images >= 3, f"only {images} plots rendered"
    # every exercise has its public otter checks; they pass on the reference and say, honestly,
    # that hidden tests exist and did not run
    exercises = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                 and c.cell_type == "code"]
    assert len(checks) >= len(exercises) >= 1, f"{slug}: {len(exercises)} exercises, {len(checks)} check files"
    shown = "".join(out.get("text", "") for out in nb.cells[-1].outputs)
    for name in checks:
        assert f"{name} results: All test cases passed!" in shown, shown
    assert shown.count("did not run here") >= len(checks), shown
    assert elapsed < 300, f"the notebook took {elapsed:.0f} s"


@pytest.mark.parametrize("slug", NOTEBOOKS)
def test_student_notebook_is_valid(slug):
    nb = nbformat.read(ROOT / "assignments" / slug / "seminar.ipynb", as_version=4)
    nbformat.validate(nb)
    assert any("YOUR CODE HERE" in "".join(c.source) for c in nb.cells if c.cell_type == "code")
    assert any("YOUR ANSWER HERE" in "".join(c.source) for c in nb.cells if c.cell_type == "markdown")
