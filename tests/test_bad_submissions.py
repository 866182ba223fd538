"""Submissions that are broken rather than hostile, on the toy: each gets a clear message naming
the problem (a note on the grade, every affected test's message, or, when nothing at all can
be read, a SubmissionError that `adl grade` prints and writes into results.json), the rest is
graded where possible, and nothing is written outside the grading folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from autograder import grading
from conftest import TOY

ADD_ONLY = "def add(a, b):\n    return a + b\n\n\ndef fact(n):\n    raise NotImplementedError\n"
FACT = ("test_fact*",)
ALL = ("*",)


def folder(files: dict[str, str | bytes]) -> Callable[[Path], Path]:
    def build(where: Path) -> Path:
        sub = where / "sub"
        for name, content in files.items():
            path = sub / os.fsdecode(name) if isinstance(name, bytes) else sub / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        sub.mkdir(exist_ok=True)
        return sub
    return build


def zipped(members: list[tuple], name: str = "submission.zip") -> Callable[[Path], Path]:
    """members: (name, text) files, or (name, target, "link") symbolic links."""
    def build(where: Path) -> Path:
        archive = where / name
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for member in members:
                target = member[1].replace("__OUTSIDE__", str(where / "outside"))
                info = zipfile.ZipInfo(member[0].replace("__OUTSIDE__", str(where / "outside")))
                if len(member) == 3:
                    info.external_attr = (0o120777 << 16)
                zf.writestr(info, target)
        return archive
    return build


def zip_bomb(where: Path) -> Path:
    """toy.py next to 200 MB of zeros that compress a thousandfold."""
    archive = where / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("toy.py", ADD_ONLY)
        with zf.open("padding.bin", "w") as f:
            block = bytes(2**20)
            for _ in range(200):
                f.write(block)
    assert archive.stat().st_size < 2 * 2**20
    return archive


def huge_module(where: Path) -> Path:
    archive = where / "huge.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("toy.py", ADD_ONLY + "#" * (11 * 2**20))
    return archive


def empty_zip(where: Path) -> Path:
    archive = where / "empty.zip"
    zipfile.ZipFile(archive, "w").close()
    return archive


def utf8_flagged_zip(where: Path) -> Path:
    """A zip whose entries claim UTF-8 names (flag bit 11) that are not UTF-8."""
    archive = where / "names.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("toy.py", ADD_ONLY)
        zf.writestr("caf\u00e9.txt", "notes")  # non-ASCII: written with the UTF-8 flag
    raw = archive.read_bytes()
    assert raw.count("\u00e9".encode()) == 2  # the local header and the central directory
    archive.write_bytes(raw.replace("\u00e9".encode(), b"\xff\xfe"))
    return archive


def cp437_zip(where: Path) -> Path:
    """Legacy names (no UTF-8 flag) with bytes above 127: read as cp437, never an error."""
    archive = where / "legacy.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("toy.py", ADD_ONLY)
        zf.writestr("notes.txt", "x")
    raw = archive.read_bytes()
    archive.write_bytes(raw.replace(b"notes.txt", b"n\x82t\xe9s.txt"))
    return archive


def corrupt_zip(where: Path) -> Path:
    archive = where / "corrupt.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("toy.py", ADD_ONLY)
    raw = archive.read_bytes()
    archive.write_bytes(raw.replace(b"return a + b", b"return a - b"))  # the CRC no longer matches
    return archive


def not_a_zip(where: Path) -> Path:
    path = where / "submission.zip"
    path.write_text("this is not a zip\n")
    return path


def notebook_file(where: Path) -> Path:
    path = where / "toy.ipynb"
    path.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


@dataclass(frozen=True)
class Bad:
    name: str
    build: Callable[[Path], Path]
    says: str  # in a note (or the SubmissionError)
    fails: tuple[str, ...] = ALL  # the tests that fail; all others pass
    refused: bool = False  # nothing can be read: SubmissionError
    test_says: str = ""  # in every failing test's message


CASES = [
    Bad("syntax_error", folder({"toy.py": "def add(a, b):\n    return a +\n"}),
        says="toy.py does not compile (line 2: invalid syntax)", test_says="SyntaxError: invalid syntax (toy.py, line 2)"),
    Bad("not_utf8_source", folder({"toy.py": b"def add(a, b):\n    return a + b\n\nname = 'caf\xe9'\n"}),
        says="toy.py does not compile (line 4: (unicode error) 'utf-8' codec can't decode",
        test_says="SyntaxError: (unicode error)"),
    Bad("missing_file", folder({"other.py": ADD_ONLY}), says="no toy.py", test_says="no toy.py"),
    Bad("missing_function", folder({"toy.py": "def add(a, b):\n    return a + b\n"}), fails=FACT,
        says="", test_says="no `fact`"),
    Bad("wrong_signature", folder({"toy.py": "def add(a, b):\n    return a + b\n\ndef fact(n, m):\n    return 1\n"}),
        fails=FACT, says="", test_says="TypeError: fact() missing 1 required positional argument: 'm'"),
    Bad("package_not_installed", folder({"toy.py": "import tensorflow\n" + ADD_ONLY}), says="",
        test_says="ModuleNotFoundError: No module named 'tensorflow'"),
    Bad("notebook_in_folder", folder({"toy.ipynb": "{}"}), says="submit toy.py, not a notebook",
        test_says="no toy.py"),
    Bad("notebook_file", notebook_file, says="submit toy.py, not a notebook", refused=True),
    Bad("zip_dotdot", zipped([("../" * 12 + "__OUTSIDE__/escape.py", "x = 1\n"), ("toy.py", ADD_ONLY)]),
        fails=FACT, says="unsafe path"),
    Bad("zip_absolute", zipped([("__OUTSIDE__/abs.py", "x = 1\n"), ("toy.py", ADD_ONLY)]), fails=FACT,
        says="unsafe path"),
    Bad("zip_symlink", zipped([("toy.py", str(TOY / "toy.py"), "link"), ("work/toy.py", ADD_ONLY),
                               ("secret", "__OUTSIDE__", "link")]), fails=FACT, says="symbolic link"),
    Bad("zip_bomb", zip_bomb, fails=FACT, says="zip bomb"),
    Bad("zip_huge_module", huge_module, says="over the 10 MB"),
    Bad("zip_names_not_utf8", utf8_flagged_zip, says="not valid UTF-8", refused=True),
    Bad("zip_names_cp437", cp437_zip, fails=FACT, says=""),
    Bad("folder_names_not_utf8", folder({b"d\xe9j\xe0/toy.py": ADD_ONLY, b"d\xe9j\xe0/v2/toy.py": "x = 1\n",
                                         b"caf\xe9.py": "x = 1\n"}), fails=FACT, says="graded d\ufffdj\ufffd/toy.py"),
    Bad("empty_zip", empty_zip, says="the zip is empty", refused=True),
    Bad("corrupt_zip", corrupt_zip, says="cannot read toy.py", refused=True),
    Bad("not_a_zip", not_a_zip, says="not a folder, a .zip or toy.py", refused=True),
]


def snapshot(root: Path) -> set[str]:
    return {os.fsdecode(p.relative_to(root)) for p in root.rglob("*")}


def host_tmp() -> set[str]:
    return {p.name for p in Path("/tmp").iterdir()}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_submission(case, tmp_path):
    (tmp_path / "outside").mkdir()
    source = case.build(tmp_path)
    before, tmp_before = snapshot(tmp_path), host_tmp()
    if case.refused:
        with pytest.raises(grading.SubmissionError, match=case.says.replace("(", r"\(").replace(")", r"\)")):
            grading.grade(TOY, source, seed=0)
    else:
        result = grading.grade(TOY, source, seed=0)
        json.dumps(result.to_json(), ensure_ascii=False).encode()  # printable: no lone surrogates
        notes = " | ".join(result.notes)
        assert case.says in notes, notes
        summary = "\n".join(f"{t.name}: {t.status} {t.message[:200]!r}" for t in result.tests) + f"\nnotes: {notes}"
        for t in result.tests:
            failing = any(t.name.startswith(p.rstrip("*")) for p in case.fails)
            assert (t.status != "passed") == failing, summary
            if failing:
                assert case.test_says in t.message, summary
        assert result.max_score == pytest.approx(10)
    assert snapshot(tmp_path) == before  # nothing written next to the submission
    assert not list((tmp_path / "outside").iterdir())
    assert {n for n in host_tmp() - tmp_before if n.startswith(("adl-", "tmp"))} == set()


# ---------------------------------------------------------------------------- adl grade

def adl(*args):
    proc = subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    return proc.returncode, (proc.stdout + proc.stderr).decode()


@pytest.fixture
def course_root(course):
    code, out = adl("--root", str(course), "release")
    assert code == 0, out
    return course


@pytest.mark.parametrize("name, code, says", [
    ("empty_zip", 2, "the zip is empty"),
    ("notebook_file", 2, "submit toy.py, not a notebook"),
    ("syntax_error", 0, "toy.py does not compile (line 2: invalid syntax)"),
    ("folder_names_not_utf8", 0, "graded d\ufffdj\ufffd/toy.py"),
])
def test_adl_grade_says_what_is_wrong_and_still_writes_results(course_root, tmp_path, name, code, says):
    case = next(c for c in CASES if c.name == name)
    source = case.build(tmp_path)
    results = tmp_path / "out" / f"results-{uuid.uuid4().hex[:6]}.json"
    got, out = adl("--root", str(course_root), "grade", "toy", os.fsdecode(source), "--results", str(results))
    assert got == code, out
    assert says in " ".join(out.split()), out  # rich may wrap long lines
    data = json.loads(results.read_text())
    assert data["score"] == 0 or not case.refused
    assert isinstance(data["tests"], list) and isinstance(data["output"], str)
    if case.refused:
        assert says in data["output"]
    else:
        assert says in data["output"] and len(data["tests"]) == 7
