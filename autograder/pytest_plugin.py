"""pytest plugin of the trusted side: fixtures for hidden tests, and a record of every outcome.

Loaded with `-p autograder.pytest_plugin` by `autograder.grading` (mode `grade`) and by
`adl test` (mode `local`, where the assignment's conftest provides an in-process
`submission`). Configuration comes from the environment:

    ADL_MODE        grade | inprocess | local | collect   (inprocess: the hidden tests with the
                    submission imported into this process; for benchmarks and debugging only)
    ADL_ASSIGNMENT  the assignment folder (solutions/<slug> when grading)
    ADL_SUBMISSION  the staged submission folder (grade mode)
    ADL_RECORD_FD   a socket inherited from the grading process (grade and collect modes): one
                    JSON line per collected and per finished test, so that a run cut short still
                    leaves the results of the tests that finished. A socket, not a file: the
                    worker (which in process mode has the grader's uid) finds no path to append
                    forged lines to, and cannot reopen it through /proc/PID/fd either
    ADL_RECORD      the same, as a JSON-lines file (`adl test`, where nothing is untrusted)
    ADL_SEED        the grading run's seed
    ADL_ONLY_SPEED  set by `adl bench` and benchmarks/: run only the [[speed]] tests (optionally
                    ADL_SPEED_ROUNDS measurements each, ADL_SPEED_REPEATS repeats, and
                    ADL_ALLOW_FORBIDDEN=1 for the bench's torch oracles); never set when grading

This process never imports the submission: in grade mode it is reached only through the
worker (`autograder.remote`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import time
import zlib
from pathlib import Path

import pytest

from autograder import checks, manifest as manifest_mod, remote
from autograder.speed import fixture as speed_fixture

_state: dict = {}


def _mode() -> str:
    return os.environ.get("ADL_MODE", "local")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "time_limit(seconds): this test's limit for its calls into the worker, "
                            "instead of the manifest's test_timeout_s (training a policy, say)")
    if _mode() != "grade":
        return
    man = manifest_mod.load(os.environ["ADL_ASSIGNMENT"])
    forbidden = [] if os.environ.get("ADL_ONLY_SPEED") and os.environ.get("ADL_ALLOW_FORBIDDEN") else list(man.forbidden)
    worker = remote.Worker(Path(os.environ["ADL_SUBMISSION"]), man.module, forbidden, man.limits)
    _state.update(manifest=man, worker=worker)
    signal.signal(signal.SIGTERM, _terminated)
    worker.start()  # the worker imports torch and the module while pytest collects


def _terminated(signum, frame) -> None:
    """The grading process ends a run that is over its time budget with SIGTERM: stop the
    worker (and everything it started) before going, never leave it running."""
    for key in ("worker", "reference_worker"):
        if _state.get(key) is not None:
            _state[key].kill_now()
    os._exit(128 + signum)


def pytest_unconfigure(config: pytest.Config) -> None:
    worker = _state.pop("worker", None)
    if worker is not None:
        _record({"event": "worker", "restarts": worker.restarts, "mode": worker.mode,
                 "stderr_tail": worker.stderr_tail() if worker.proc else ""})
        worker.stop()
    reference_worker = _state.pop("reference_worker", None)
    if reference_worker is not None:
        reference_worker.stop()
        _state.pop("reference_dir").cleanup()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("ADL_ONLY_SPEED"):
        return
    man = manifest_mod.load(os.environ["ADL_ASSIGNMENT"])
    chosen = os.environ["ADL_ONLY_SPEED"].split(",")  # "1": every speed test; else these functions
    keep = [i for i in items if man.speed_rule(getattr(i, "originalname", i.name))
            and (chosen == ["1"] or getattr(i, "originalname", i.name) in chosen)]
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    # grade mode too: the grading process then knows every test that should report, and one
    # that never does (the run was cut off, or killed) fails as "not run" instead of vanishing
    if _mode() in ("collect", "grade"):
        for item in session.items:
            _record({"event": "collected", **_identity(item)})


# ---------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def submission():
    """The student's code, in a sandboxed worker (grade mode)."""
    if _mode() == "inprocess":
        from autograder.local import LocalSubmission

        module = manifest_mod.load(os.environ["ADL_ASSIGNMENT"]).module
        return LocalSubmission(Path(os.environ["ADL_SUBMISSION"]), module)
    if _mode() != "grade":
        pytest.fail("the grader's `submission` fixture is only available when grading")
    return remote.RemoteSubmission(_state["worker"])


@pytest.fixture(scope="session")
def reference():
    """The reference solution, imported here on the trusted side."""
    folder = Path(os.environ["ADL_ASSIGNMENT"])
    module = manifest_mod.load(folder).module
    spec = importlib.util.spec_from_file_location(f"{module}_reference", folder / f"{module}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _reference_side() -> remote.RemoteSubmission:
    """The reference module in a second worker, started like the student's (speed tests only)."""
    if "reference_worker" not in _state:
        import shutil
        import tempfile

        man = _state["manifest"]
        staged = tempfile.TemporaryDirectory(prefix="adl-reference-")
        shutil.copy(Path(os.environ["ADL_ASSIGNMENT"]) / f"{man.module}.py", Path(staged.name) / f"{man.module}.py")
        # not started here: its first call starts it, so a submission that fails at once (a stub)
        # never pays for a second torch import
        worker = remote.Worker(Path(staged.name), man.module, list(man.forbidden), man.limits)
        _state.update(reference_worker=worker, reference_dir=staged)
    worker = _state["reference_worker"]
    worker.deadline = _state["worker"].deadline
    return remote.RemoteSubmission(worker)


@pytest.fixture
def speed(request, submission):
    """Speed and memory tests: `speed.compare(...)` measures the student's call against the
    reference's, both in sandboxed workers (autograder/speed/fixture.py)."""
    if _mode() != "grade":
        pytest.skip("speed and memory tests run only when grading")
    function = getattr(request.node, "originalname", request.node.name)
    return speed_fixture.Speed(function, _state["manifest"].speed_rule(function), submission, _reference_side,
                               request.node)


@pytest.fixture
def seed(request) -> int:
    """A per-test seed derived from the grading run's seed and the test's id."""
    base = int(os.environ.get("ADL_SEED", "0"))
    return (base * 1_000_003 + zlib.crc32(request.node.nodeid.encode())) % 2**31


@pytest.fixture(autouse=True)
def _deadline(request):
    """Every test gets the manifest's time limit for its calls into the worker, or the one its
    `@pytest.mark.time_limit(seconds)` marker sets."""
    worker = _state.get("worker")
    if worker is None:
        yield
        return
    marker = request.node.get_closest_marker("time_limit")
    limit = float(marker.args[0]) if marker else _state["manifest"].test_timeout_s
    worker.deadline = time.monotonic() + limit
    yield
    worker.deadline = None


# ---------------------------------------------------------------------------- recording

def _identity(item: pytest.Item) -> dict:
    path = Path(str(item.path))
    callspec = getattr(item, "callspec", None)
    return {
        "nodeid": item.nodeid,
        "function": getattr(item, "originalname", item.name),
        "params": callspec.id if callspec else "",
        "kind": "hidden" if "hidden" in path.parent.name else "public",
        "doc": _first_line(getattr(item, "obj", None)),
    }


def _first_line(obj) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    results = item.stash.setdefault(_RESULT, {"duration": 0.0})
    results["duration"] += report.duration
    if report.failed and "outcome" not in results:
        results.update(outcome="failed", phase=report.when, message=_message(item, call))
    elif report.skipped and "outcome" not in results:
        results.update(outcome="skipped", message=_skip_reason(report))
    if report.when == "teardown":
        results.setdefault("outcome", "passed")
        results.setdefault("message", item.stash.get(speed_fixture.MESSAGE, ""))
        if results["outcome"] == "passed" and speed_fixture.CREDIT in item.stash:
            results["credit"] = item.stash[speed_fixture.CREDIT]
        if speed_fixture.REPORT in item.stash:
            results["speed"] = item.stash[speed_fixture.REPORT]
        _record({"event": "test", **_identity(item), **results})


_RESULT = pytest.StashKey[dict]()


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return "skipped"


def _message(item: pytest.Item, call: pytest.CallInfo) -> str:
    """What the student sees about a failure. Hidden tests never show expected values."""
    exc = call.excinfo.value if call.excinfo else None
    if isinstance(exc, (remote.WorkerError, checks.PropertyFailure)):
        return str(exc)
    if _identity(item)["kind"] == "public":
        return call.excinfo.exconly()[:3000] if call.excinfo else "failed"
    doc = _first_line(getattr(item, "obj", None)) or "a hidden property"
    return f"failed: {doc} ({type(exc).__name__} while checking your result)"


def _record(entry: dict) -> None:
    line = (json.dumps(entry) + "\n").encode()
    fd = os.environ.get("ADL_RECORD_FD")
    if fd:
        view = memoryview(line)
        while view:
            view = view[os.write(int(fd), view):]
        return
    path = os.environ.get("ADL_RECORD")
    if not path:
        return
    with open(path, "ab") as f:
        f.write(line)
