"""The attention week's seminar notebook from release to gradebook, with nbgrader's own commands.

One run does what a term does: `adl notebook setup` writes the nbgrader course folder;
`nbgrader release_assignment` puts the notebook in the exchange; two students fetch it, one
fills it in (and mangles it: deletes a check cell, duplicates a cell, edits a read-only one),
one hands in the untouched stubs, both `nbgrader submit`; `nbgrader collect` and `nbgrader
autograde` grade the notebooks in the sandboxed kernel; a TA enters manual scores (with
`adl notebook grade`, and in formgrader through its REST API on a real Jupyter server);
nbgrader's feedback shows no hidden test; `adl collect`
takes the same submissions from the exchange and `adl grade --all` grades the module; `adl
notebook import` brings the notebook scores in, and the gradebook shows both parts; `adl
export-pdf` writes the PDF for Gradescope.

Expected numbers come from the notebook's metadata (points per cell) and the manifest, never
from the code under test.
"""

from __future__ import annotations

import contextlib
import copy
import html
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder import manifest as manifest_mod
from autograder.cli import main
from conftest import ROOT
from notebooks import restore
from source_utils import markers

SLUG = "attention"
VENV_BIN = Path(sys.executable).parent
ROSTER = "id,name,email,section\ns001,Ada Lovelace,ada@uni.edu,A\ns002,Alan Turing,alan@uni.edu,B\n"

pytestmark = pytest.mark.skipif(shutil.which("nbgrader", path=str(VENV_BIN)) is None, reason="nbgrader not installed")


def nbgrader(cwd: Path, *argv: str) -> str:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([str(VENV_BIN / "nbgrader"), *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, f"nbgrader {' '.join(argv)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return done.stdout + done.stderr


@contextlib.contextmanager
def formgrader(course: Path):
    """A Jupyter server with nbgrader's formgrader in `course`; yields put(path, json) -> json."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    server = subprocess.Popen([str(VENV_BIN / "jupyter"), "server", "--no-browser", f"--port={port}",
                               f"--ServerApp.token={token}", "--allow-root", f"--ServerApp.root_dir={course}"],
                              cwd=course, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base, headers = f"http://127.0.0.1:{port}/formgrader/api", {"Authorization": f"token {token}"}

    def call(path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{base}/{path}", data=data, headers=headers, method="PUT" if data else "GET")
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                assert call("status")["status"]
                break
            except (OSError, urllib.error.URLError):
                assert time.monotonic() < deadline and server.poll() is None, "formgrader did not start"
                time.sleep(0.5)
        yield call
    finally:
        server.terminate()
        server.wait(timeout=30)


def source_cells() -> dict[str, dict]:
    nb = json.loads((ROOT / "solutions" / SLUG / "seminar.ipynb").read_text())
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"] if c["metadata"].get("nbgrader")}


def fill_in(folder: Path) -> None:
    """A diligent but careless student: the reference code and answers, and three accidents."""
    solution = ROOT / "solutions" / SLUG
    (folder / "attention.py").write_text(markers.remove_solution_markers((solution / "attention.py").read_text()))
    answers = {gid: markers.strip("".join(c["source"]), lambda r: [], keep=lambda r: True)
               for gid, c in source_cells().items() if c["metadata"]["nbgrader"].get("solution")}
    nb = json.loads((folder / "seminar.ipynb").read_text())
    for cell in nb["cells"]:
        gid = restore.grade_id(cell)
        if gid in answers:
            cell["source"] = answers[gid]
    ids = [restore.grade_id(c) for c in nb["cells"]]
    nb["cells"].pop(ids.index("check_tiny_lm"))  # deleted a check cell
    ids = [restore.grade_id(c) for c in nb["cells"]]
    at = ids.index("row_entropy")
    nb["cells"].insert(at + 1, copy.deepcopy(nb["cells"][at]))  # duplicated an exercise cell
    setup = nb["cells"][ids.index("setup")]
    setup["source"] = "".join(setup["source"]) + "\ngrader = None  # edited a read-only cell"
    (folder / "seminar.ipynb").write_text(json.dumps(nb, indent=1))


def test_attention_notebook_from_release_to_gradebook(tmp_path: Path, capsys):
    root = tmp_path / "course-repo"
    for part in ("solutions", "assignments"):
        shutil.copytree(ROOT / part / SLUG, root / part / SLUG)
    (root / "roster.csv").write_text(ROSTER)
    course, exchange = tmp_path / "nbgrader-course", tmp_path / "exchange"
    adl = lambda *argv: main(["--root", str(root), *argv])  # noqa: E731
    db = ["--db", str(tmp_path / "gradebook.db"), "--store", str(tmp_path / "store")]

    # instructor: the nbgrader course folder, and the release into the exchange
    assert adl("notebook", "setup", SLUG, "--course-dir", str(course), "--exchange", str(exchange)) == 0
    assert "differs" not in capsys.readouterr().out  # nbgrader's release is the committed one
    config = (course / "nbgrader_config.py").read_text()
    assert "adl-sandbox" in config and 'transport = "ipc"' in config
    nbgrader(course, "release_assignment", SLUG)

    # students: fetch, work, submit
    home = {s: tmp_path / s for s in ("s001", "s002")}
    for student, folder in home.items():
        folder.mkdir()
        nbgrader(folder, "fetch_assignment", SLUG, "--course", "adl", f"--Exchange.root={exchange}")
        released = nbformat.read(folder / SLUG / "seminar.ipynb", as_version=4)
        assert not any(markers.BEGIN_HIDDEN in c.source for c in released.cells), "hidden tests reached a student"
        if student == "s001":
            fill_in(folder / SLUG)
        nbgrader(folder, "submit", SLUG, "--course", "adl", f"--student={student}", f"--Exchange.root={exchange}")

    # instructor: collect and autograde with nbgrader, in the sandboxed kernel
    nbgrader(course, "collect", SLUG)
    log = nbgrader(course, "autograde", SLUG)
    assert "RestoreCells" in log

    from nbgrader.api import Gradebook

    cells = source_cells()
    checks = {gid: c["metadata"]["nbgrader"]["points"] for gid, c in cells.items()
              if c["metadata"]["nbgrader"].get("grade") and not c["metadata"]["nbgrader"].get("solution")}
    answers = {gid: c["metadata"]["nbgrader"]["points"] for gid, c in cells.items()
               if c["metadata"]["nbgrader"].get("grade") and c["metadata"]["nbgrader"].get("solution")}
    assert len(checks) >= 2 and len(answers) >= 5
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student, full in (("s001", True), ("s002", False)):
            grades = {g.name: g for nb in gb.find_submission(SLUG, student).notebooks for g in nb.grades}
            for gid, points in checks.items():
                assert grades[gid].auto_score == (points if full else 0), (student, gid, grades[gid].auto_score)
            for gid in answers:  # nbgrader gives an answer left as released 0 points, nobody needs to read it
                assert grades[gid].needs_manual_grade == full, (student, gid)
                assert full or grades[gid].auto_score == 0

    graded = nbformat.read(course / "autograded" / "s001" / SLUG / "seminar.ipynb", as_version=4)
    notices = restore.read_notices(graded)
    assert set(notices) == {"check_tiny_lm", "row_entropy", "setup"}, notices
    assert "missing" in notices["check_tiny_lm"] and "more than once" in notices["row_entropy"]
    assert "edited" in notices["setup"]
    assert sum(1 for c in graded.cells if restore.grade_id(c) == "check_tiny_lm") == 1
    assert not restore.read_notices(nbformat.read(course / "autograded" / "s002" / SLUG / "seminar.ipynb", 4))

    # nbgrader's feedback to the students carries no hidden test
    nbgrader(course, "generate_feedback", SLUG)
    public = (root / "assignments" / SLUG / "seminar.ipynb").read_text()
    hidden = []  # the hidden tests' lines that the student's release does not have anyway
    for cell in cells.values():
        for block in "".join(cell["source"]).split(markers.BEGIN_HIDDEN)[1:]:
            hidden += [ln.strip() for ln in block.split(markers.END_HIDDEN)[0].splitlines()
                       if len(ln.strip()) > 20 and json.dumps(ln.strip())[1:-1] not in public]
    assert len(hidden) >= 10
    for student in home:
        page = (course / "feedback" / student / SLUG / "seminar.html").read_text()
        text = html.unescape(re.sub(r"<[^>]+>", "", page))  # code is highlighted token by token
        assert "hidden tests ran here" in text
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"feedback of {student} shows hidden tests: {leaked[:2]}"

    # a TA grades written answers: with adl, and in nbgrader's formgrader (its REST API, on a real server)
    first, second = list(answers)[:2]
    assert adl("notebook", "grade", SLUG, "s001", first, str(answers[first]), "--comment", "clear and complete",
               "--course-dir", str(course)) == 0
    assert adl("notebook", "grade", SLUG, "s001", second, str(answers[second] + 1), "--course-dir", str(course)) == 2
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade_id = gb.find_grade(second, "seminar", SLUG, "s001").id
    with formgrader(course) as put:
        assert put(f"grade/{grade_id}", {"manual_score": answers[second] / 2, "extra_credit": None})["manual_score"] \
            == answers[second] / 2

    # adl: the same submissions from nbgrader's exchange, the module graded in the sandbox
    assert adl("roster", "import", str(root / "roster.csv"), *db) == 0
    assert adl("collect", SLUG, str(exchange / "adl" / "inbound"), *db) == 0
    assert adl("grade", SLUG, "--all", "--jobs", "2", *db) == 0
    assert adl("notebook", "import", SLUG, "--course-dir", str(course), *db) == 0
    capsys.readouterr()
    assert adl("gradebook", "show", SLUG, *db) == 0
    shown = capsys.readouterr().out
    assert "notebook" in shown and "to grade" in shown

    from gradebook import course as course_mod, db as db_mod, scores

    code_points = manifest_mod.load(root / "solutions" / SLUG).points
    gbk = db_mod.open_gradebook(root, str(tmp_path / "gradebook.db"))
    with gbk.session() as s:
        sheet = scores.compute(s, course_mod.load(root), [SLUG])
        full, stub = sheet.lines[("s001", SLUG)], sheet.lines[("s002", SLUG)]
        notebook_points = sum(checks.values()) + sum(answers.values())
        assert sheet.points(SLUG) == code_points + notebook_points
        assert full.code == pytest.approx(code_points) and stub.code == 0
        assert full.notebook_score == pytest.approx(sum(checks.values()) + answers[first] + answers[second] / 2)
        assert full.notebook_ungraded == len(answers) - 2 and stub.notebook_ungraded == 0
        assert stub.notebook_score == 0
        assert full.final == pytest.approx(code_points + full.notebook_score)
        by_cell = {g.cell: g for g in full.notebook}
        assert by_cell[first].comment == "clear and complete"
        assert "missing" in by_cell["check_tiny_lm"].notice
    gbk.close()

    # adl's feedback: both parts, the TA's comment, the repaired cells, no hidden test
    assert adl("feedback", SLUG, "--out", str(tmp_path / "feedback"), *db) == 0
    report = (tmp_path / "feedback" / "s001.md").read_text()
    assert "## Seminar notebook" in report and "clear and complete" in report and "was missing" in report
    assert not [line for line in hidden if line in report]

    # the PDF a TA uploads to Gradescope: the student's own notebook (Gradescope shows it back to
    # the student, so never the autograded copy, which holds the hidden tests)
    out = tmp_path / "s001.pdf"
    assert adl("export-pdf", SLUG, "s001", "--out", str(out), *db) == 0
    assert out.read_bytes().startswith(b"%PDF")
