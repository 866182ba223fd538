"""The `submission` fixture for students at home: calls their module in the test process.

Imported by the `conftest.py` that ships with every assignment. There is nothing to protect
at home, so this is plain, fast pytest; the grader's fixture (`autograder.remote`) has the
same interface but runs the code in a sandboxed worker.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from autograder import memory


def load_module(directory: Path, module: str):
    """Import `<directory>/<module>.py` under the name `module` (fresh each time)."""
    path = Path(directory) / f"{module}.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the assignment's code goes in {module}.py")
    spec = importlib.util.spec_from_file_location(module, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[module] = mod
    sys.path.insert(0, str(Path(directory).resolve()))
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.pop(0)
    return mod


class LocalSubmission:
    """`submission.call("name", ...)` runs `name` from the student's module in this process."""

    mode = "in-process"

    def __init__(self, directory: Path, module: str):
        self.directory = Path(directory)
        self.module_name = module
        self.module = load_module(self.directory, module)

    def _lookup(self, name: str):
        if not hasattr(self.module, name):
            pytest.fail(f"{self.module_name}.py has no `{name}`; keep the names from the stubs")
        return getattr(self.module, name)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._lookup(name)(*args, **kwargs)

    def getattr(self, obj: Any, name: str) -> Any:
        return getattr(obj, name)

    def peak_memory(self, name: str, *args: Any, **kwargs: Any):
        fn = self._lookup(name)
        before = memory.reset_peak()
        result = fn(*args, **kwargs)
        peak = memory.peak_since_reset()
        if before is None or peak is None:
            return result, None
        return result, max(0, peak - before)


def submission_fixture(conftest_file: str):
    """Build the `submission` fixture for the assignment whose folder holds `conftest_file`.

    The module comes from $ADL_SUBMISSION if set (`adl test --path DIR`), else from that folder.
    """
    home = Path(conftest_file).resolve().parent

    @pytest.fixture(scope="session")
    def submission() -> LocalSubmission:
        manifest = tomllib.loads((home / "assignment.toml").read_text())
        directory = Path(os.environ.get("ADL_SUBMISSION", home))
        return LocalSubmission(directory, manifest["module"])

    return submission
