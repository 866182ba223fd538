"""`adl export-pdf`: a seminar notebook (with a plot, a wide line and math) rendered for real
with nbconvert + WeasyPrint, from a file, a folder, a zip and the gradebook."""

from __future__ import annotations

import re
import shutil
import zipfile
import zlib
from pathlib import Path

import nbformat
import pytest

from autograder.cli import main
from gradebook import collect, db, roster
from gradebook.store import Store
from notebooks import pdf
from tests.conftest import TOY

pytest.importorskip("weasyprint", reason="adl export-pdf renders with WeasyPrint")

WIDE = "w" * 400  # one unbroken output line, far wider than the page
ROSTER = "id,name,email,section\ns01,Ada,ada@uni.edu,A\ns02,Alan,alan@uni.edu,B\ns03,Grace,grace@uni.edu,A\n"


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> Path:
    """A small seminar notebook run by a real kernel: a matplotlib plot, a wide printed line,
    LaTeX math in Markdown."""
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook(cells=[
        new_markdown_cell("# Seminar\n\n**Answer.** The weights are $\\mathrm{softmax}(QK^\\top/\\sqrt{d})$."),
        new_code_cell("%matplotlib inline\nimport matplotlib.pyplot as plt\n"
                      "plt.figure(figsize=(12, 3))\nplt.plot([0, 1, 2], [0, 1, 4])\nplt.show()"),
        new_code_cell(f"print({WIDE!r})"),
    ])
    NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    assert any(o.get("data", {}).get("image/png") for o in nb.cells[1].outputs)  # the plot is there
    path = tmp_path_factory.mktemp("nb") / "seminar.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(autouse=True)
def _defaults(monkeypatch):
    monkeypatch.delenv("ADL_GRADEBOOK", raising=False)
    monkeypatch.delenv("ADL_STORE", raising=False)


def adl(course: Path, *argv: str) -> int:
    return main(["--root", str(course), "export-pdf", "toy", *argv])


def pages(path: Path) -> int:
    """Page objects in a PDF, looking inside its compressed object streams too."""
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    chunks = [data]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(stream))
        except zlib.error:
            pass
    return sum(len(re.findall(rb"/Type\s*/Page\b", c)) for c in chunks)


def test_a_notebook_file_is_laid_out_within_the_page_and_names_the_student(course, executed, tmp_path, capsys):
    out = tmp_path / "ada.pdf"
    assert adl(course, str(executed), "--student", "s01", "--out", str(out)) == 0
    assert "wrote" in capsys.readouterr().out
    assert pages(out) >= 1

    # the same HTML, laid out: the id is on every page (header), nothing runs past the right margin
    source = pdf.from_path(executed, "s01")
    text = pdf.to_html(pdf.read_notebook(source), source, "toy")
    assert "\\mathrm{softmax}" in text  # math stays readable source (MathJax never runs)
    document = pdf.render_document(text)
    for page in document.pages:
        boxes = list(page._page_box.descendants())
        assert any("s01 · toy" in (getattr(b, "text", "") or "") for b in boxes)
        right = page.width - page._page_box.margin_right
        assert max(b.position_x + b.margin_width() for b in boxes
                   if getattr(b, "element_tag", None) not in (None, "html") and b.width is not None
                   and not getattr(b, "is_for_root_element", False)
                   and b.position_y >= page._page_box.margin_top) <= right + 1
    found = [b for page in document.pages for b in page._page_box.descendants() if getattr(b, "element_tag", "") == "img"]
    assert found and all(b.width > 100 for b in found)  # the plot is drawn, scaled to the page
    whole = "".join(getattr(b, "text", "") or "" for page in document.pages for b in page._page_box.descendants())
    assert WIDE in whole.replace("\n", "")  # wrapped, not cut: every character is laid out


def test_a_folder_and_a_zip_are_read_where_they_are(course, executed, tmp_path):
    folder = tmp_path / "alan"
    folder.mkdir()
    shutil.copy(executed, folder / "seminar.ipynb")
    assert adl(course, str(folder)) == 0
    assert pages(course / "build" / "pdf" / "toy" / "alan.pdf") >= 1

    archive = tmp_path / "grace_seminar.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(executed, "grace/seminar.ipynb")  # inside one top-level folder
        zf.writestr("__MACOSX/grace/._seminar.ipynb", b"junk")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert adl(course, str(archive), "--out", str(tmp_path / "out.pdf")) == 0
    assert pages(tmp_path / "out.pdf") >= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before + ["out.pdf"])  # nothing unpacked


def test_a_zip_with_a_parent_entry_is_refused(course, executed, tmp_path, capsys):
    archive = tmp_path / "sub" / "evil.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(executed, "seminar.ipynb")
        zf.writestr("../escaped.ipynb", b"{}")
    assert adl(course, str(archive)) == 2
    out = capsys.readouterr().out
    assert "unsafe entries" in out and "../escaped.ipynb" in out and "Traceback" not in out
    assert not (tmp_path / "escaped.ipynb").exists() and not list(tmp_path.rglob("escaped*"))
    assert not (course / "build").exists()


@pytest.mark.parametrize("content, why", [(b'{"cells": [', "invalid JSON"), (b'{"name": "not a notebook"}', "not a Jupyter notebook"),
                                          (b"\xff\xfe\x00binary", "not UTF-8")])
def test_what_is_not_a_notebook_gets_one_line_and_exit_2(course, tmp_path, capsys, content, why):
    path = tmp_path / "seminar.ipynb"
    path.write_bytes(content)
    assert adl(course, str(path)) == 2
    out = capsys.readouterr().out
    assert why in out and "Traceback" not in out
    assert not (course / "build").exists()
    assert adl(course, str(tmp_path / "missing.ipynb")) == 2
    assert "no such file" in capsys.readouterr().out


def test_student_ids_and_all_use_the_latest_collected_submissions(course, executed, tmp_path, capsys):
    book = db.open_gradebook(course)
    (tmp_path / "roster.csv").write_text(ROSTER)
    with book.session() as s:
        roster.import_roster(s, tmp_path / "roster.csv")
    source = tmp_path / "downloads"
    for student, notebook in [("s01", executed.read_bytes()), ("s02", b"{ this is not json")]:
        (source / student).mkdir(parents=True)
        (source / student / "toy.py").write_text((TOY / "toy.py").read_text())
        (source / student / "seminar.ipynb").write_bytes(notebook)
    report = collect.collect(book, Store(course / "submission-store"), course / "solutions" / "toy", source)
    book.close()
    assert sorted(s for s, _ in report.received) == ["s01", "s02"]

    assert adl(course, "s01") == 0  # a student id: the gradebook's latest submission of toy
    assert pages(course / "build" / "pdf" / "toy" / "s01.pdf") >= 1
    capsys.readouterr()
    assert adl(course, "s03") == 2 and "no collected submission" in capsys.readouterr().out
    assert adl(course, "nobody") == 2 and "nor a student on the roster" in capsys.readouterr().out

    (course / "build" / "pdf" / "toy" / "s01.pdf").unlink()
    assert adl(course, "--all", "--out", str(tmp_path / "all")) == 1  # one broken notebook among them
    out = capsys.readouterr().out
    assert pages(tmp_path / "all" / "s01.pdf") >= 1
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["s01.pdf"]  # no half-written PDF
    assert "1 PDF(s) written" in out and "1 failed" in out and "s02" in out and "not a notebook" in out
    assert "Traceback" not in out


def test_without_weasyprint_or_xelatex_the_error_says_what_to_install(course, executed, monkeypatch, capsys):
    monkeypatch.setattr(pdf, "weasyprint_module", lambda: None)
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    assert adl(course, str(executed)) == 2
    out = capsys.readouterr().out
    assert "pip install weasyprint" in out and "libpangoft2-1.0-0" in out and "xelatex" in out
