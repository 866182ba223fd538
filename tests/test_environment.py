"""Set-up: environment.yml lists exactly the packages of pyproject.toml; CI calls the README's test command."""

import re
import tomllib

from conftest import ROOT


def _names(requirements):
    return {re.split(r"[=<>!~\[ ]", r.strip(), maxsplit=1)[0].lower(): r.strip() for r in requirements}


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    pip = [line.strip()[2:] for line in lines[start + 1:] if line.strip().startswith("- ")]
    assert _names(pip) == _names(project)  # same names and the same pins (torch==2.13.0)
    assert _names(project)["torch"] == "torch==2.13.0"
    assert any(line.strip() == "- python=3.11" for line in lines)


def test_readme_quick_start_and_ci_use_the_same_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme[readme.index("## Quick start"):]
    block = quick[quick.index("```") + 3:]
    commands = [line.strip() for line in block[block.index("\n") + 1:block.index("```")].splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
