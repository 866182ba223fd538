"""Mangled notebooks still grade: restore.compare against the released notebook, cell by cell,
and nbgrader's feedback without hidden tests (notebooks/feedback.py)."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from notebooks import feedback, restore


def meta(gid, **flags):
    base = {"grade": False, "solution": False, "locked": False, "task": False, "schema_version": 3, "grade_id": gid}
    return {"nbgrader": {**base, **flags}}


def released():
    return new_notebook(cells=[
        new_markdown_cell("# Title"),
        new_code_cell("import torch", metadata=meta("setup", locked=True)),
        new_code_cell("def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()", metadata=meta("f", solution=True)),
        new_code_cell('grader.check("f")', metadata=meta("check_f", grade=True, locked=True, points=1)),
        new_markdown_cell("**Question 1.** Why?", metadata=meta("prompt_q1", locked=True)),
        new_markdown_cell("YOUR ANSWER HERE", metadata=meta("q1", grade=True, solution=True, points=2)),
    ])


def ids(nb):
    return [restore.grade_id(c) for c in nb.cells]


def test_an_untouched_notebook_is_left_as_it_is():
    nb = released()
    nb.cells[2].source = "def f(x):\n    return 2 * x"  # the student's work is not a change to report
    nb.cells[5].source = "Because."
    repaired, notices = restore.compare(nb, released())
    assert notices == {} and repaired == nb and restore.read_notices(repaired) == {}


def test_deleted_cells_come_back_in_place_and_the_student_is_told():
    nb = released()
    del nb.cells[3]  # the check cell
    del nb.cells[1]  # the read-only setup cell, the first graded-id cell
    repaired, notices = restore.compare(nb, released())
    assert set(notices) == {"check_f", "setup"}
    assert "put back and ran against your code" in notices["check_f"]
    assert ids(repaired) == [None, None, "setup", "f", "check_f", "prompt_q1", "q1"]  # notes, title, ...
    assert repaired.cells[1].source == "# Title"
    assert restore.read_notices(repaired) == notices
    assert "### Notes from the grader" in repaired.cells[0].source


def test_a_deleted_answer_comes_back_empty():
    nb = released()
    del nb.cells[5]
    repaired, notices = restore.compare(nb, released())
    assert "earns nothing" in notices["q1"]
    assert repaired.cells[-1].source == "YOUR ANSWER HERE"


def test_everything_deleted_is_rebuilt_in_the_released_order():
    nb = new_notebook(cells=[new_markdown_cell("I deleted it all")])
    repaired, notices = restore.compare(nb, released())
    assert [g for g in ids(repaired) if g] == ["setup", "f", "check_f", "prompt_q1", "q1"]
    assert len(notices) == 5


def test_a_duplicate_runs_but_only_the_first_copy_is_graded():
    nb = released()
    copy = nbformat.from_dict(nb.cells[5])
    nb.cells[5].source = "first answer"
    copy.source = "second answer"
    nb.cells.append(copy)
    repaired, notices = restore.compare(nb, released())
    assert "more than once" in notices["q1"]
    assert ids(repaired).count("q1") == 1
    assert repaired.cells[ids(repaired).index("q1")].source == "first answer"
    assert any(c.source == "second answer" and "nbgrader" not in c.metadata for c in repaired.cells)


def test_edited_read_only_cells_and_changed_types_are_reported():
    nb = released()
    nb.cells[1].source += "\nimport os"
    nb.cells[3].source = "pass  # no checks for me"
    nb.cells[2] = new_markdown_cell(nb.cells[2].source, metadata=nb.cells[2].metadata)
    repaired, notices = restore.compare(nb, released())
    assert "edited" in notices["setup"] and "edited" in notices["check_f"]
    assert "from code to markdown" in notices["f"]


def test_unknown_ids_and_hostile_text_do_not_break_the_notes():
    nb = released()
    nb.cells.append(new_code_cell("x = 1", metadata=meta("my_own_id")))
    del nb.cells[3]
    rel = released()
    rel.cells[3].metadata["nbgrader"]["grade_id"] = "check_f --> <script>"
    repaired, notices = restore.compare(nb, rel)
    assert set(notices) == {"check_f --> <script>"}
    assert restore.read_notices(repaired) == notices
    assert "my_own_id" in ids(repaired)


def test_feedback_hides_hidden_tests_and_their_tracebacks():
    cell = new_code_cell('grader.check("f")\n### BEGIN HIDDEN TESTS\nassert f(3) == 6, "f doubles"\n'
                         "### END HIDDEN TESTS\nprint('after')")
    cell.outputs = [new_output("error", ename="AssertionError", evalue="f doubles",
                               traceback=["----", "assert f(3) == 6, \"f doubles\"", "AssertionError: f doubles"])]
    nb = new_notebook(cells=[cell, new_code_cell("y = 1")])
    out, _ = feedback.HideHiddenTests().preprocess(nb, {})
    shown = out.cells[0]
    assert "f(3) == 6" not in shown.source and "hidden tests ran here" in shown.source
    assert shown.source.endswith("print('after')")
    assert shown.outputs[0].traceback == ["AssertionError: f doubles"]
    assert out.cells[1].source == "y = 1"


def test_a_retyped_exercise_or_answer_is_graded_in_place_of_the_deleted_cell():
    nb = released()
    nb.cells[2] = new_code_cell("import math\n\ndef f(x):\n    return 2 * x")  # typed anew, no metadata
    nb.cells[5] = new_markdown_cell("Because it scales.")  # likewise, right after its prompt
    repaired, notices = restore.compare(nb, released())
    assert "graded in its place" in notices["f"] and "graded in its place" in notices["q1"]
    assert repaired.cells[ids(repaired).index("f")].source.endswith("return 2 * x")
    assert repaired.cells[ids(repaired).index("q1")].source == "Because it scales."
    assert ids(repaired).count("f") == 1 and ids(repaired).count("q1") == 1


def test_a_cell_defining_other_names_is_not_taken_for_the_exercise():
    nb = released()
    nb.cells[2] = new_code_cell("def g(x):\n    return x")
    repaired, notices = restore.compare(nb, released())
    assert "unfilled one was put back" in notices["f"]
    assert "raise NotImplementedError()" in repaired.cells[ids(repaired).index("f")].source
