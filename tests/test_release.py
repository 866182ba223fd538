"""The student release: generated from solutions/, reproducible, in sync, and free of answers."""

import ast
import json
from pathlib import Path

import pytest

from autograder import manifest as manifest_mod
from conftest import ROOT
from source_utils import markers, release

SLUGS = sorted(p.parent.name for p in (ROOT / "solutions").glob("*/assignment.toml"))


def test_there_is_at_least_one_assignment():
    assert "attention" in SLUGS


@pytest.fixture(scope="module", params=SLUGS)
def released(request) -> tuple[str, dict[str, bytes]]:
    return request.param, release.release_files(ROOT / "solutions" / request.param)


def test_committed_release_is_in_sync(released):
    slug, _ = released
    assert release.differences(ROOT / "solutions" / slug, ROOT / "assignments" / slug) == []


def test_release_is_byte_for_byte_reproducible(released):
    slug, files = released
    counts = manifest_mod.load(ROOT / "assignments" / slug).release
    again = release.release_files(ROOT / "solutions" / slug, {"public": counts["public_tests"],
                                                              "hidden": counts["hidden_tests"]})
    assert again == files


def test_release_carries_no_answers(released):
    slug, files = released
    solution = ROOT / "solutions" / slug
    for rel, content in files.items():
        text = content.decode()
        for marker in (markers.BEGIN, markers.END, markers.BEGIN_HIDDEN, markers.END_HIDDEN):
            assert marker not in text, f"{rel} contains {marker}"
        assert "hidden" not in Path(rel).parts
    for hidden in (solution / "tests" / "hidden").glob("*.py"):
        assert f"tests/{hidden.name}" not in files
    assert "mutants.toml" not in files
    # no line of solution code survives in the stubbed module
    module = manifest_mod.load(solution).module + ".py"
    source = (solution / module).read_text()
    solution_lines = set()
    for region in markers.find_regions(source):
        solution_lines |= {line.strip() for line in source.splitlines()[region.begin + 1:region.end]
                           if len(line.strip()) > 25}
    stub_lines = {line.strip() for line in files[module].decode().splitlines()}
    assert not solution_lines & stub_lines


def test_stubs_import_and_fail_loudly_naming_the_part(released):
    slug, files = released
    man = manifest_mod.load(ROOT / "solutions" / slug)
    stub = files[f"{man.module}.py"].decode()
    tree = ast.parse(stub)
    raises = [n for n in ast.walk(tree) if isinstance(n, ast.Raise) and "NotImplementedError" in ast.unparse(n)]
    assert raises
    for node in raises:
        message = ast.unparse(node)
        assert "is not implemented yet" in message and "README.md, part" in message, message
    every = {r.qualname for r in markers.find_regions((ROOT / "solutions" / slug / f"{man.module}.py").read_text())}
    listed = {f for part in man.parts for f in part.functions}
    assert every <= listed, f"regions not listed under any part: {every - listed}"


def test_student_notebook_has_no_outputs(released):
    slug, files = released
    if release.NOTEBOOK not in files:
        pytest.skip("no notebook")
    nb = json.loads(files[release.NOTEBOOK])
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def test_check_names_stale_and_stray_files(tmp_path):
    from conftest import TOY

    target = tmp_path / "toy"
    release.write(TOY, target)
    assert release.differences(TOY, target) == []
    (target / "toy.py").write_text("changed")
    (target / "stray.txt").write_text("x")
    problems = release.differences(TOY, target)
    assert any("toy.py: out of date" in p for p in problems)
    assert any("stray.txt: not part of the release" in p for p in problems)
    counts = manifest_mod.load(target).release
    assert counts == {"public_tests": 2, "hidden_tests": 5}
