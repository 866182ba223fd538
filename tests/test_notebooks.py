"""Every seminar notebook (reference version) runs headless on CPU, with its plots rendered,
and the student version is a valid notebook. In the same kernel, after the notebook ran, every
exercise's check cell (hidden tests included) is shown to fail on the released stub and on each
plausible mistake of `solutions/<slug>/notebook_mutants.toml`, and to pass on the reference."""

import json
import shutil
import time
import tomllib

import nbformat
import pytest
from nbclient import NotebookClient

from autograder import manifest as manifest_mod
from conftest import ROOT
from source_utils import markers

NOTEBOOKS = sorted(p.parent.name for p in (ROOT / "solutions").glob("*/seminar.ipynb"))

# Runs in the notebook's kernel once the notebook itself has run. For each exercise it redefines
# the exercise cell's functions and classes from each variant (only the `def`s and `class`es:
# the rest of a cell may train networks or draw plots, and a stub may make it raise), runs the
# check cell, and then puts the reference back. It never raises: it prints one report line.
_PROBE = r'''
import ast as _adl_ast, json as _adl_json, time as _adl_time

def _adl_definitions(source, label):
    tree = _adl_ast.parse(source, label)
    tree.body = [node for node in tree.body
                 if isinstance(node, (_adl_ast.FunctionDef, _adl_ast.AsyncFunctionDef, _adl_ast.ClassDef))]
    return compile(tree, label, "exec")

def _adl_probe(plan):
    started, space = _adl_time.monotonic(), globals()
    report = {"escaped": [], "caught": [], "broken": [], "reference_fails": []}
    for exercise in plan:
        reference = _adl_definitions(exercise["reference"], exercise["cell"])
        check = compile(exercise["check"], exercise["check_id"], "exec")
        for label, source in exercise["variants"]:
            what = f"{exercise['cell']} / {label}"
            try:
                exec(_adl_definitions(source, what), space)
            except Exception as error:
                report["broken"].append(f"{what}: {type(error).__name__}: {error}")
                continue
            try:
                exec(check, space)
            except Exception as error:
                report["caught"].append(f"{what}: {type(error).__name__}: {str(error).strip()[:200]}")
            else:
                report["escaped"].append(what)
            finally:
                exec(reference, space)
        try:
            exec(check, space)
        except Exception as error:
            report["reference_fails"].append(f"{exercise['cell']}: {type(error).__name__}: {error}")
    report["seconds"] = _adl_time.monotonic() - started
    print("ADL-PROBE " + _adl_json.dumps(report))
'''


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _gid(cell):
    return _nbgrader(cell).get("grade_id")


def _mutation_plan(slug, source_cells):
    """One entry per exercise cell of the instructor's notebook (cells with their markers): its
    check cell (hidden block kept), the reference, the released stub and the mutants, all as the
    kernel executes them (markers dropped)."""
    instructor = lambda text: markers.strip(text, lambda r: [], keep=lambda r: True)  # noqa: E731
    released = {_gid(c): "".join(c["source"]) for c in
                json.loads((ROOT / "assignments" / slug / "seminar.ipynb").read_text())["cells"]}
    spec = tomllib.loads((ROOT / "solutions" / slug / "notebook_mutants.toml").read_text())
    mutants = spec.get("mutants", [])
    plan, problems = [], []
    for i, cell in enumerate(source_cells):
        if cell["cell_type"] != "code" or not _nbgrader(cell).get("solution"):
            continue
        name, raw = _gid(cell), "".join(cell["source"])
        # its check cell: the next graded code cell, before the next exercise
        check = next((c for c in source_cells[i + 1:] if c["cell_type"] == "code"
                      and (_nbgrader(c).get("grade") or _nbgrader(c).get("solution"))), None)
        if check is None or not _nbgrader(check).get("grade"):
            problems.append(f"{name}: no check cell follows the exercise (before the next one)")
            continue
        check_text = "".join(check["source"])
        if markers.BEGIN_HIDDEN not in check_text or not _nbgrader(check).get("locked"):
            problems.append(f"{name}: its check cell {_gid(check)} is not locked or has no hidden tests")
        stub = released.get(name)
        if stub is None or "raise NotImplementedError()" not in stub or markers.BEGIN in stub:
            problems.append(f"{name}: no released stub in assignments/{slug}/seminar.ipynb (run `adl release {slug}`)")
            continue
        reference = instructor(raw)
        solution_code = "\n".join("\n".join(raw.splitlines()[r.begin + 1:r.end]) for r in markers.find_regions(raw))
        variants = [("stub", stub)]
        for mutant in (m for m in mutants if m.get("cell") == name):
            old, new = mutant["replace"], mutant["with"]
            if reference.count(old) != 1 or solution_code.count(old) != 1:
                problems.append(f"{name} / {mutant['name']}: `replace` occurs {reference.count(old)} times in "
                                f"the cell and {solution_code.count(old)} times in its solution code, not exactly once")
                continue
            variants.append((mutant["name"], reference.replace(old, new)))
        if len(variants) < 2:
            problems.append(f"{name}: no (applicable) mutant in notebook_mutants.toml")
        plan.append({"cell": name, "check_id": _gid(check), "check": instructor(check_text),
                     "reference": reference, "variants": variants})
    known = {entry["cell"] for entry in plan}
    problems += [f"mutant {m.get('name')}: `cell = {m.get('cell')!r}` is not an exercise cell"
                 for m in mutants if m.get("cell") not in known]
    names = [m.get("name") for m in mutants]
    problems += [f"mutant name {n!r} is used twice" for n in sorted({n for n in names if names.count(n) > 1})]
    return plan, problems


@pytest.mark.parametrize("slug", NOTEBOOKS)
def test_reference_notebook_executes_with_plots(slug, tmp_path):
    solution = ROOT / "solutions" / slug
    module = manifest_mod.load(solution).module + ".py"
    (tmp_path / module).write_text(markers.remove_solution_markers((solution / module).read_text()))
    if (solution / "checks").is_dir():
        shutil.copytree(solution / "checks", tmp_path / "checks")
    source = json.loads((solution / "seminar.ipynb").read_text())
    plan, problems = _mutation_plan(slug, source["cells"])
    assert not problems, f"{slug}: notebook exercises, check cells or notebook_mutants.toml:\n" + "\n".join(problems)
    for cell in source["cells"]:  # the instructor's version: solution code kept, markers dropped
        text = "".join(cell["source"])
        if markers.BEGIN in text:
            text = markers.strip(text, lambda r: [], keep=lambda r: True)
        cell["source"] = text
    checks = sorted(p.stem for p in (solution / "checks").glob("*.py"))
    # the student's view of each check, as `grader.check(name)` displays it in the released notebook
    shown_cell = nbformat.v4.new_code_cell(
        "\n".join(f"print(repr(grader.check({name!r})))" for name in checks))
    # then the stubs and mutants against the check cells, in the same kernel
    probe_cell = nbformat.v4.new_code_cell(_PROBE + f"\n_adl_probe(_adl_json.loads({json.dumps(plan)!r}))\n")
    source["cells"] += [shown_cell, probe_cell]
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
    shown = "".join(out.get("text", "") for out in nb.cells[-2].outputs)
    for name in checks:
        assert f"{name} results: All test cases passed!" in shown, shown
    assert shown.count("did not run here") >= len(checks), shown
    # the check cells fail on every stub and mutant, and pass again on the reference
    lines = [line for out in nb.cells[-1].outputs for line in out.get("text", "").splitlines()
             if line.startswith("ADL-PROBE ")]
    assert len(lines) == 1, f"{slug}: the probe cell printed no report: {nb.cells[-1].outputs}"
    report = json.loads(lines[0].removeprefix("ADL-PROBE "))
    print(f"{slug}: notebook {elapsed - report['seconds']:.1f} s, {sum(len(e['variants']) for e in plan)} "
          f"stubs and mutants checked in {report['seconds']:.1f} s")
    print("\n".join(f"  caught {line}" for line in report["caught"]))
    assert not report["broken"], f"{slug}: variants that do not even define the exercise:\n" + "\n".join(report["broken"])
    assert not report["escaped"], (f"{slug}: the check cell passes on these (exercise / stub or mutant); "
                                   "its hidden tests must catch them:\n" + "\n".join(report["escaped"]))
    assert not report["reference_fails"], (f"{slug}: the check cell fails on the reference restored after the "
                                           "mutants:\n" + "\n".join(report["reference_fails"]))
    assert elapsed - report["seconds"] < 300, f"the notebook took {elapsed - report['seconds']:.0f} s"
    assert report["seconds"] < 60, f"checking the stubs and mutants took {report['seconds']:.0f} s"


@pytest.mark.parametrize("slug", NOTEBOOKS)
def test_student_notebook_is_valid(slug):
    nb = nbformat.read(ROOT / "assignments" / slug / "seminar.ipynb", as_version=4)
    nbformat.validate(nb)
    assert any("YOUR CODE HERE" in "".join(c.source) for c in nb.cells if c.cell_type == "code")
    assert any("YOUR ANSWER HERE" in "".join(c.source) for c in nb.cells if c.cell_type == "markdown")
