"""Deleted, duplicated and edited cells: a notebook that was mangled still grades.

`RestoreCells` is an nbgrader sanitizing preprocessor that runs during `nbgrader autograde`
before nbgrader's own `OverwriteCells`. It compares the submitted notebook with the released
one (`<course>/release/<assignment>/<notebook>.ipynb`), cell by cell through nbgrader's
`grade_id`s, and

- duplicated cell (two cells with one grade_id): the first copy keeps the id and is graded; the
  others lose their nbgrader metadata and run as ordinary cells;
- retyped cell (the original deleted, its content typed into a new cell): an untagged code cell
  that defines the exercise's functions, or the markdown cell right after a question, takes
  the missing cell's place and is graded;
- deleted cell: the released cell is put back after the nearest earlier cell that is still
  there (a check cell runs again, an answer cell comes back empty and earns nothing);
- edited read-only or check cell: noted here; `OverwriteCells` then replaces the source by the
  original, with the hidden tests that the release left out;
- changed cell type (a code cell turned into markdown): noted; `OverwriteCells` turns it back.

The student is told: every change is listed in a markdown cell put at the top of the graded
notebook (what a TA sees in formgrader and what nbgrader's feedback shows), and the same
notes, keyed by cell, in an HTML comment of that cell that `adl notebook import` reads into
the gradebook. Nothing the student wrote is thrown away: a duplicate stays in the notebook and
the submitted file itself is never touched (nbgrader grades a copy).
"""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

from nbformat import NotebookNode, read as read_notebook
from traitlets import Unicode

try:  # nbgrader's base class, so the preprocessor plugs into `Autograde.sanitize_preprocessors`
    from nbgrader.preprocessors import NbGraderPreprocessor as _Base
except ImportError:  # pragma: no cover - nbgrader is a dependency of the course package
    from nbconvert.preprocessors import Preprocessor as _Base

HEADING = "### Notes from the grader about this notebook's cells"
_MARK = re.compile(r"<!-- adl-notices (\{.*?\}) -->", re.S)


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _kind(cell) -> str:
    meta = cell["metadata"].get("nbgrader", {})
    if meta.get("grade") and not meta.get("solution"):
        return "check"
    if meta.get("solution"):
        return "answer" if cell["cell_type"] == "markdown" else "code"
    return "read-only"


def _defined_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def _retyped(nb, original, kind: str) -> int | None:
    """Index of an untagged cell of the student that stands in for the missing `original`: for an
    exercise, a code cell defining the same functions or classes; for a written answer, the
    markdown cell right after the answer's question prompt. None if there is none."""
    if kind == "code":
        names = _defined_names(original["source"])
        for i, cell in enumerate(nb.cells):
            if (cell["cell_type"] == "code" and grade_id(cell) is None and names
                    and names <= _defined_names(cell["source"])):
                return i
    elif kind == "answer":
        prompt = f"prompt_{grade_id(original)}"
        for i, cell in enumerate(nb.cells[:-1]):
            follower = nb.cells[i + 1]
            if grade_id(cell) == prompt and follower["cell_type"] == "markdown" and grade_id(follower) is None:
                return i + 1
    return None


def _place(nb, release_cells, index: int) -> int:
    """Where the released cell `index` goes back: after the nearest earlier released cell that
    is in the notebook, else before the nearest later one, else at the end."""
    where = {grade_id(c): i for i, c in reversed(list(enumerate(nb.cells))) if grade_id(c)}
    for earlier in reversed(release_cells[:index]):
        if grade_id(earlier) in where:
            return where[grade_id(earlier)] + 1
    for later in release_cells[index + 1:]:
        if grade_id(later) in where:
            return where[grade_id(later)]
    return len(nb.cells)


def compare(submitted: NotebookNode, released: NotebookNode) -> tuple[NotebookNode, dict[str, str]]:
    """(repaired copy of `submitted`, {grade_id: what happened to that cell})."""
    nb = copy.deepcopy(submitted)
    notices: dict[str, str] = {}
    release_cells = [c for c in released.cells if grade_id(c)]
    known = {grade_id(c): c for c in release_cells}

    seen: set[str] = set()
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid is None or gid not in known:
            continue
        if gid in seen:  # a later copy: it still runs, but is not graded
            cell["metadata"].pop("nbgrader", None)
            cell["metadata"].pop("editable", None)
            cell["metadata"].pop("deletable", None)
            notices[gid] = (f"cell '{gid}' appeared more than once; the first copy was graded and the "
                            "others ran as ordinary cells")
            continue
        seen.add(gid)
        original = known[gid]
        if cell["cell_type"] != original["cell_type"]:
            notices[gid] = (f"cell '{gid}' was changed from {original['cell_type']} to {cell['cell_type']}; "
                            "it was turned back")
        elif _kind(original) in ("check", "read-only") and cell["source"] != original["source"]:
            notices[gid] = f"read-only cell '{gid}' was edited; the original was put back before grading"

    present = {grade_id(c) for c in nb.cells if grade_id(c)}
    for index, original in enumerate(release_cells):
        gid = grade_id(original)
        if gid in present:
            continue
        kind = _kind(original)
        adopted = _retyped(nb, original, kind)
        if adopted is not None:  # the student's own cell in its place: it is graded
            cell = nb.cells[adopted]
            cell["metadata"]["nbgrader"] = copy.deepcopy(original["metadata"]["nbgrader"])
            present.add(gid)
            notices[gid] = (f"cell '{gid}' was missing, and your cell "
                            + ("that defines the same names" if kind == "code" else "right after its question")
                            + " was graded in its place")
            continue
        at = _place(nb, release_cells, index)
        restored = copy.deepcopy(original)
        if restored["cell_type"] == "code":
            restored["outputs"], restored["execution_count"] = [], None
        nb.cells.insert(at, restored)
        present.add(gid)
        notices[gid] = {
            "check": f"check cell '{gid}' was missing; it was put back and ran against your code",
            "answer": f"answer cell '{gid}' was missing; an empty one was put back (it earns nothing)",
            "code": f"code cell '{gid}' was missing; the unfilled one was put back (it earns nothing)",
            "read-only": f"read-only cell '{gid}' was missing; it was put back",
        }[kind]

    if notices:
        lines = [HEADING, "",
                 "Your notebook did not have the released structure, so it was repaired before grading:", ""]
        lines += [f"- {text}" for text in notices.values()]
        # "<" and ">" escaped so no text can close the HTML comment early
        encoded = json.dumps(notices, sort_keys=True).replace("<", "\\u003c").replace(">", "\\u003e")
        lines += ["", f"<!-- adl-notices {encoded} -->"]
        nb.cells.insert(0, NotebookNode({"cell_type": "markdown", "metadata": {}, "source": "\n".join(lines)}))
    return nb, notices


def read_notices(nb) -> dict[str, str]:
    """The notes `compare` left in a graded notebook ({} if it needed no repair)."""
    for cell in nb.cells[:3]:
        if cell["cell_type"] == "markdown" and HEADING in cell["source"]:
            match = _MARK.search(cell["source"])
            if match:
                return json.loads(match.group(1))
    return {}


class RestoreCells(_Base):
    """nbgrader preprocessor; configure `RestoreCells.release_root` (the course's `release/`)."""

    release_root = Unicode("", help="nbgrader's release folder: <course>/release").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        path = Path(self.release_root) / info.get("assignment", "") / f"{info.get('notebook', '')}.ipynb"
        if not self.release_root or not path.exists():
            self.log.warning("RestoreCells: no released notebook at %s; cells are not checked", path)
            return nb, resources
        repaired, notices = compare(nb, read_notebook(path, as_version=4))
        for text in notices.values():
            self.log.warning("RestoreCells: %s", text)
        return repaired, resources
