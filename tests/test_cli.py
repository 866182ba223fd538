"""The `adl` command line, on a throwaway course holding the toy assignment."""

import json
import shutil
import subprocess
import sys

import pytest


def adl(*args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True,
                          cwd=cwd, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def released(course):
    code, out = adl("--root", str(course), "release")
    assert code == 0, out
    return course


def test_release_then_check_then_list(released):
    code, out = adl("--root", str(released), "release", "--check")
    assert code == 0 and "in sync" in out
    code, out = adl("--root", str(released), "list")
    assert code == 0 and "toy" in out and "in sync" in out and "10" in out
    (released / "solutions" / "toy" / "README.md").write_text("# Toy, changed\n")
    code, out = adl("--root", str(released), "release", "--check")
    assert code == 1 and "README.md: out of date" in out


def test_student_test_command_is_honest_about_hidden_tests(released):
    folder = released / "assignments" / "toy"
    code, out = adl("test", "toy", cwd=folder)  # the root is found from the current folder
    assert code == 1 and "public: 0/2 passed; 5 hidden tests are not run here" in out
    work = released / "mywork"
    work.mkdir()
    (work / "toy.py").write_text("def add(a, b):\n    return a + b\ndef fact(n):\n    return 6\n")
    code, out = adl("--root", str(released), "test", "toy", "--path", str(work))
    assert code == 0 and "public: 2/2 passed; 5 hidden tests are not run here" in out


def test_grade_prints_a_table_and_writes_results(released, tmp_path):
    work = tmp_path / "sub"
    work.mkdir()
    (work / "toy.py").write_text("def add(a, b):\n    return a + b\n")
    results = tmp_path / "out" / "results.json"
    code, out = adl("--root", str(released), "grade", "toy", str(work), "--results", str(results), "--seed", "5")
    assert code == 0, out
    assert "total" in out and "4.00/10.00" in out and "seed 5" in out
    data = json.loads(results.read_text())
    assert data["score"] == pytest.approx(4)


def test_validate_passes_on_the_toy(released):
    code, out = adl("--root", str(released), "validate", "toy")
    assert code == 0, out
    assert "reference scores full marks" in out and "mutant:add_minus loses points" in out
    assert "stub of fact loses points" in out


def test_validate_fails_when_a_mutant_survives(released):
    mutants = released / "solutions" / "toy" / "mutants.toml"
    mutants.write_text(mutants.read_text() + '\n[[mutants]]\nname = "harmless"\nwhy = "same code"\n'
                       'replace = "out = 1"\nwith = "out = 1  # same"\n')
    code, out = adl("--root", str(released), "validate", "toy")
    assert code == 1 and "FAIL" in out and "harmless" in out


def test_clear_errors_for_bad_input(released, tmp_path):
    code, out = adl("--root", str(released), "grade", "nope", str(tmp_path))
    assert code == 2 and "no assignment 'nope'" in out
    code, out = adl("--root", str(released), "grade", "toy", str(tmp_path / "missing"))
    assert code == 2 and "no such file" in out
    shutil.rmtree(released / "solutions")
    code, out = adl("--root", str(released), "grade", "toy", str(tmp_path))
    assert code == 2 and "solutions/ are not in this repository" in out
