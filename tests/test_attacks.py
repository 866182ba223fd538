"""The attack suite: one hostile toy submission per attack (tests/attacks/<name>.py, whose
docstring says what it tries and what must happen), graded for real, with its expected
outcome in the table below.

Every case checks, beyond its score: the tests the attack targets fail and every other test
passes (the honest parts are still graded), the student sees a message naming what happened,
no process is left behind (no `autograder.worker`, nothing owned by the sandbox's uid, no
cgroup of ours), and the host is unaffected (a sentinel file outside the grading folder is
unchanged, no marker file written, nothing left in the host's /tmp).

The attacks that need the real repository layout (absolute paths, a port to call) get it
written into their text in place of placeholders, and the test checks those paths exist, so
no attack passes vacuously for want of a target. Some attacks are also run in-process (the
way naive graders run student code) to show they do work where there is no isolation, and
the process-mode table says honestly which attacks that weaker mode does not stop.
"""

from __future__ import annotations

import fnmatch
import math
import shutil
import socketserver
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder import grading, manifest as manifest_mod, sandbox
from conftest import TOY

ATTACKS = Path(__file__).resolve().parent / "attacks"
NOBODY = sandbox.NOBODY
needs_bwrap = pytest.mark.skipif(not sandbox._bwrap_works(), reason="bubblewrap is not available here")

FACT = ("test_fact*",)


@dataclass(frozen=True)
class Attack:
    name: str
    fails: tuple[str, ...] = FACT  # the tests that must fail (fnmatch); every other test must pass
    says: tuple[str, ...] = ()  # every failing test's message (or a note) holds one of these
    source: str = ""  # the file in tests/attacks that becomes toy.py (default: <name>.py)
    variant: str = "toy"  # toy | quick (2 s per test, 1 GB of memory) | arrays (adds fact_table)
    files: dict = field(default_factory=dict)  # more files in the submitted folder
    links: dict = field(default_factory=dict)  # symbolic links in the submitted folder
    # process mode: "same" (same outcome), "open: why" (NOT stopped: the attack works there),
    # "skip: why" (not run there), or "other" (the outcome in process_fails/process_says)
    process: str = "skip: the outcome does not depend on the sandbox mode"
    process_fails: tuple[str, ...] = ()
    process_says: tuple[str, ...] = ()
    inprocess: bool = False  # also show that the attack succeeds when run in-process
    cgroup: bool = False  # process mode stops it only where the machine gives us a cgroup

    @property
    def file(self) -> Path:
        return ATTACKS / f"{self.source or self.name}.py"


PASSING_HOOK = ("import pathlib\npathlib.Path('__MARKER__').write_text('loaded')\n"
                "def pytest_runtest_makereport(item, call):\n    call.excinfo = None\n")

TABLE = [
    # exits and kills
    Attack("exit_at_import", fails=("*",), says=("SystemExit",), process="same"),
    Attack("os_exit_at_import", fails=("*",), says=("exit code 0",), process="same"),
    Attack("exit_in_call", says=("SystemExit",), process="same"),
    Attack("os_exit_in_call", says=("exit code 0",), process="same"),
    Attack("self_kill", says=("signal 9",), process="same"),
    Attack("kill_grader", says=("PermissionError",), process="other",
           process_fails=("test_fact*", "test_add_random*"), process_says=("not run",)),
    # results that lie
    Attack("always_true_eq", says=("AssertionError",), process="same"),
    Attack("tensor_subclass", says=("AssertionError",)),
    Attack("nan_result", says=("AssertionError",)),
    Attack("cyclic_result", says=("not plain data",)),
    Attack("pickle_payload", says=("AssertionError",), process="same"),
    Attack("hardcode_public", fails=("test_fact_values", "test_fact_secret_value"), says=("AssertionError",)),
    Attack("wrong_dtype", variant="arrays", fails=("test_fact_table",), says=("dtype torch.float32",)),
    Attack("wrong_shape", variant="arrays", fails=("test_fact_table",), says=("shape (12, 1)",)),
    Attack("nan_array", variant="arrays", fails=("test_fact_table",), says=("NaN",)),
    Attack("gigantic_array", variant="arrays", fails=("test_fact_table",), says=("limit",)),
    Attack("gigantic_view", variant="arrays", fails=("test_fact_table",), says=("limit",)),
    # patching the checks
    Attack("patch_builtins", says=("AssertionError",)),
    Attack("patch_pytest", says=("AssertionError",), process="same", inprocess=True),
    Attack("patch_numpy_torch", variant="arrays", fails=("test_fact_table",), says=("differ from the oracle",),
           inprocess=True),
    Attack("frames_gc", says=("AssertionError",), process="same", inprocess=True),
    # files that must never be loaded
    Attack("submitted_conftest", source="add_only", says=("AssertionError",), process="same",
           files={"conftest.py": PASSING_HOOK}),
    Attack("submitted_pytest_ini", source="add_only", says=("AssertionError",), process="same",
           files={"pytest.ini": "[pytest]\naddopts = -p evil_plugin\npython_functions = nothing\n",
                  "evil_plugin.py": PASSING_HOOK}),
    Attack("submitted_sitecustomize", source="add_only", says=("AssertionError",), process="same",
           files={"sitecustomize.py": PASSING_HOOK, "usercustomize.py": PASSING_HOOK}),
    Attack("submitted_numpy", source="add_only", says=("AssertionError",), process="same",
           files={"numpy.py": PASSING_HOOK + "allclose = lambda *a, **k: True\n", "torch.py": PASSING_HOOK}),
    Attack("plant_modules", says=("AssertionError",), process="same"),
    # reaching for the answers
    Attack("read_hidden_abs", says=("AssertionError",),
           process="open: the worker reads files with the grader's uid"),
    Attack("read_hidden_walk", says=("AssertionError",),
           process="open: the worker walks the grader's whole file system"),
    Attack("read_proc", says=("AssertionError",),
           process="open: the grader's processes are visible in /proc, with their environment and root"),
    Attack("symlink_out", says=("AssertionError",), process="same", inprocess=True,
           links={"hidden.py": "__HIDDEN__", "ref": "__ASSIGNMENT__"}),
    Attack("symlinked_module", fails=("*",), says=("symbolic link",), process="same",
           links={"toy.py": "__REFERENCE__"}),
    Attack("parser_bomb", fails=("*",), says=("cannot be parsed", "RecursionError"), process="same"),
    Attack("network", says=("AssertionError",), process="open: the worker shares the grader's network"),
    Attack("forge_record", says=("AssertionError",), process="same"),
    Attack("steal_record_channel", says=("AssertionError",),
           process="open: the worker may take the grading pytest's descriptors (pidfd_getfd) or ptrace it"),
    # the call protocol
    Attack("protocol_garbage", says=("malformed answer",), process="same"),
    Attack("protocol_huge_header", says=("malformed answer",)),
    Attack("protocol_huge_buffer", says=("malformed answer",)),
    Attack("protocol_json_bombs", says=("malformed answer",)),
    # resources
    Attack("infinite_loop", variant="quick", says=("did not finish in time",), process="same"),
    Attack("fork_bomb", variant="quick", says=("did not finish in time",),
           process="skip: without a cgroup nothing caps the number of processes"),
    # On a loaded machine, zeroing the first gigabyte can outlast the 2 s limit (seen once in
    # CI for each of these two): being stopped by the clock instead of the memory cap is also a
    # correct outcome; the other tests still pass and the attack earns nothing.
    Attack("memory_bomb_one", variant="quick", says=("MemoryError", "memory limit", "did not finish in time")),
    Attack("memory_bomb_many", variant="quick",
           says=("some children were killed", "memory limit", "did not finish in time"),
           process="skip: without a cgroup nothing caps a tree of processes"),
    Attack("stdout_flood", says=("File too large", "signal 25"), process="same"),
    Attack("fill_tmp", says=("AssertionError",),
           process="skip: the host's /tmp is the worker's /tmp there (each file capped, not their number)"),
    Attack("daemon", says=("AssertionError",), process="same", cgroup=True),
]


# ---------------------------------------------------------------------------- assignments

@pytest.fixture(scope="session")
def assignments(tmp_path_factory) -> dict[str, Path]:
    """The toy, and two variants of it: `quick` (2 s per test, 1 GB of memory) for attacks
    that must be stopped by a limit, `arrays` (a hidden fact_table test checked with
    autograder.checks.assert_close) for attacks on tensor results."""
    root = tmp_path_factory.mktemp("assignments")
    quick = root / "quick" / "toy"
    shutil.copytree(TOY, quick)
    manifest = quick / "assignment.toml"
    manifest.write_text(manifest.read_text().replace("test_timeout_s = 5", "test_timeout_s = 2\nmemory_mb = 1024"))
    assert manifest_mod.load(quick).limits.memory_mb == 1024 and manifest_mod.load(quick).test_timeout_s == 2
    arrays = root / "arrays" / "toy"
    shutil.copytree(TOY, arrays)
    with open(arrays / "toy.py", "a") as f:
        f.write('\n\ndef fact_table(n):\n    """float64 tensor of 0!, 1!, ..., (n-1)!"""\n    import torch\n\n'
                '    return torch.tensor([float(fact(i)) for i in range(n)], dtype=torch.float64)\n')
    (arrays / "tests" / "hidden" / "test_toy_table.py").write_text(
        "from autograder.checks import assert_close\n\n\n"
        "def test_fact_table(submission, reference):\n"
        '    """fact_table(12) holds 0!..11! as float64"""\n'
        '    assert_close(submission.call("fact_table", 12), reference.fact_table(12), what="fact_table(12)")\n')
    return {"toy": TOY, "quick": quick, "arrays": arrays}


# ---------------------------------------------------------------------------- helpers

class _Factorials(socketserver.StreamRequestHandler):
    def handle(self):
        n = int(self.rfile.readline())
        self.wfile.write(f"{math.factorial(n)}\n".encode())


@pytest.fixture(scope="session")
def helper_servers():
    """A TCP server on 127.0.0.1 and an abstract Unix socket, both answering n! (for the network attack)."""
    tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Factorials)
    name = f"adl-attack-{uuid.uuid4().hex[:8]}"
    unix = socketserver.ThreadingUnixStreamServer("\0" + name, _Factorials)
    for server in (tcp, unix):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tcp.server_address[1], name
    for server in (tcp, unix):
        server.shutdown()
        server.server_close()


def cgroups_available() -> bool:
    probe = sandbox.Cgroup(sandbox.Limits())
    probe.remove()
    return probe.active


def our_cgroups() -> set[str]:
    return {str(p) for c in ("memory", "pids") for p in Path(f"/sys/fs/cgroup/{c}").glob("adl-*")}


def host_tmp_entries() -> set[str]:
    return {p.name for p in Path("/tmp").iterdir() if p.name.startswith(("adl-", "tmp"))}


def stray_processes() -> list[str]:
    """Processes a grading run may have left: workers, anything owned by the sandbox's uid."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
            status = (proc / "status").read_text()
        except OSError:
            continue
        uid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:")))
        if b"autograder.worker" in cmdline or uid == NOBODY:
            command = cmdline.replace(b"\0", b" ")[:120].decode(errors="replace")
            found.append(f"{proc.name} uid={uid} {command}")
    return found


def wait_until_clean(seconds: float = 3.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while True:
        left = stray_processes()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def placeholders(assignment: Path, outside: Path, helper_servers) -> dict[str, str]:
    """What the attacks are told of the world (an attacker knows the repository's layout)."""
    port, unix = helper_servers
    values = {"__REFERENCE__": str(assignment / "toy.py"),
              "__HIDDEN__": str(assignment / "tests" / "hidden" / "test_toy_hidden.py"),
              "__ASSIGNMENT__": str(assignment), "__MARKER__": str(outside / "marker"),
              "__PORT__": str(port), "__UNIX__": unix, "__DEEP__": "a." * 100000 + "b"}
    for key in ("__REFERENCE__", "__HIDDEN__", "__ASSIGNMENT__"):
        assert Path(values[key]).exists()  # the attack aims at something real
    return values


def build_submission(attack: Attack, folder: Path, values: dict[str, str]) -> None:
    folder.mkdir(parents=True)

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace(key, value)
        return text

    if "toy.py" not in attack.links:
        (folder / "toy.py").write_text(fill(attack.file.read_text()))
    for name, text in attack.files.items():
        (folder / name).write_text(fill(text))
    for name, target in attack.links.items():
        (folder / name).symlink_to(fill(target))


def check_outcome(result: grading.GradeResult, fails: tuple[str, ...], says: tuple[str, ...]) -> None:
    failing = [t for t in result.tests if any(fnmatch.fnmatchcase(t.name, p) for p in fails)]
    passing = [t for t in result.tests if t not in failing]
    assert failing, "the attack targets no test"
    summary = "\n".join(f"{t.name}: {t.status} {t.message[:200]!r}" for t in result.tests) + f"\nnotes: {result.notes}"
    assert all(t.status != "passed" and t.score == 0 for t in failing), summary
    assert all(t.status == "passed" and t.score == t.max_score for t in passing), summary
    notes = " ".join(result.notes)
    for t in failing:
        assert any(s.lower() in (t.message + " " + notes).lower() for s in says), summary
    assert result.max_score == pytest.approx(10)
    assert result.score == pytest.approx(sum(t.max_score for t in passing))


def run_attack(attack: Attack, mode: str, tmp_path: Path, assignments, helper_servers, monkeypatch,
               fails: tuple[str, ...], says: tuple[str, ...]) -> grading.GradeResult:
    monkeypatch.setenv("ADL_SANDBOX", mode)
    assignment = assignments[attack.variant]
    outside = tmp_path / "outside"
    outside.mkdir()
    sentinel = outside / "sentinel.txt"
    sentinel.write_text("host data")
    marker = outside / "marker"
    folder = tmp_path / "submission"
    build_submission(attack, folder, placeholders(assignment, outside, helper_servers))

    cgroups_before, tmp_before = our_cgroups(), host_tmp_entries()
    assert wait_until_clean() == [], "processes were left before this attack ran"
    started = time.monotonic()
    result = grading.grade(assignment, folder, seed=7)
    elapsed = time.monotonic() - started

    assert result.sandbox.startswith(mode)
    check_outcome(result, fails, says)
    assert elapsed < 45, f"grading took {elapsed:.0f} s"
    # nothing left behind, nothing changed on the host
    assert wait_until_clean() == []
    assert our_cgroups() - cgroups_before == set()
    assert host_tmp_entries() - tmp_before == set()
    assert not list(Path("/tmp").glob("adl-attack-*"))
    time.sleep(0.6 if attack.name == "daemon" else 0)  # the daemon writes every 0.5 s if it is alive
    assert sentinel.read_text() == "host data"
    assert not marker.exists(), marker.read_text()
    return result


# ---------------------------------------------------------------------------- tests

def test_the_suite_is_complete():
    names = {a.name for a in TABLE}
    assert len(names) == len(TABLE) >= 25
    files = {p.stem for p in ATTACKS.glob("*.py")}
    assert {a.file.stem for a in TABLE} | {"sleep_at_import"} == files  # no attack file without a case
    for path in ATTACKS.glob("*.py"):
        doc = path.read_text().split('"""')[1]
        assert "Must happen" in doc, path.name


@needs_bwrap
@pytest.mark.parametrize("attack", TABLE, ids=lambda a: a.name)
def test_attack_is_stopped(attack, tmp_path, assignments, helper_servers, monkeypatch):
    run_attack(attack, "bwrap", tmp_path, assignments, helper_servers, monkeypatch, attack.fails, attack.says)


PROCESS = [a for a in TABLE if not a.process.startswith("skip")]


@pytest.mark.parametrize("attack", PROCESS, ids=lambda a: a.name)
def test_attack_in_process_mode(attack, tmp_path, assignments, helper_servers, monkeypatch):
    """The weaker mode: the same outcome, or, marked "open", an attack it does NOT stop."""
    if attack.cgroup and not cgroups_available():
        pytest.skip("NOT stopped in process mode without a cgroup: a daemon that left the worker's session survives")
    if attack.process == "same":
        run_attack(attack, "process", tmp_path, assignments, helper_servers, monkeypatch, attack.fails, attack.says)
    elif attack.process == "other":
        run_attack(attack, "process", tmp_path, assignments, helper_servers, monkeypatch,
                   attack.process_fails, attack.process_says)
    else:
        assert attack.process.startswith("open: ")
        # NOT STOPPED in process mode (the reason is in the table): the attack earns every point.
        monkeypatch.setenv("ADL_SANDBOX", "process")
        assignment = assignments[attack.variant]
        build_submission(attack, tmp_path / "submission", placeholders(assignment, tmp_path, helper_servers))
        result = grading.grade(assignment, tmp_path / "submission", seed=7)
        assert result.sandbox.startswith("process: WEAKER MODE")
        assert result.score == pytest.approx(10), "this attack is stopped in process mode now: update the table"
        assert wait_until_clean() == []


INPROCESS = [a for a in TABLE if a.inprocess]


@pytest.mark.parametrize("attack", INPROCESS, ids=lambda a: a.name)
def test_attack_works_when_run_in_process(attack, tmp_path, assignments, helper_servers):
    """Not vacuous: imported into the process that runs the tests, the attack does win."""
    assignment = assignments[attack.variant]
    folder = tmp_path / "submission"
    build_submission(attack, folder, placeholders(assignment, tmp_path, helper_servers))
    outcome = grading.run_pytest(assignment, folder, tmp_path / "work", seed=7, timeout=60, mode="inprocess")
    results = grading.score(manifest_mod.load(assignment), outcome.entries)
    attacked = [t for t in results if any(fnmatch.fnmatchcase(t.name, p) for p in attack.fails)]
    assert attacked and all(t.status == "passed" for t in attacked)


# ---------------------------------------------------------------------------- time

def test_sleeping_at_import_costs_one_time_limit_not_the_budget(tmp_path):
    """The toy's limit is 5 s per test: a module that sleeps 30 s at import fails every test
    after about one limit, each saying the import did not finish (it is never retried)."""
    (tmp_path / "sub").mkdir()
    shutil.copy(ATTACKS / "sleep_at_import.py", tmp_path / "sub" / "toy.py")
    assert manifest_mod.load(TOY).test_timeout_s == 5
    started = time.monotonic()
    result = grading.grade(TOY, tmp_path / "sub", seed=0)
    elapsed = time.monotonic() - started
    assert 5 <= elapsed < 15, f"grading took {elapsed:.1f} s"
    assert result.score == 0 and len(result.tests) == 7
    assert all(t.status == "failed" and "importing toy.py did not finish" in t.message for t in result.tests)
    assert wait_until_clean() == []


BUDGET_EATER = '''
import os, time

def _daemon():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            while True:
                time.sleep(0.5)
        os._exit(0)

_daemon()

def add(a, b):
    time.sleep(2.5)
    return a + b

def fact(n):
    time.sleep(2.5)
    return 1
'''


@pytest.mark.parametrize("mode", [pytest.param("bwrap", marks=needs_bwrap), "process"])
def test_a_run_over_budget_leaves_nothing_behind(mode, tmp_path, monkeypatch):
    """Every call stays under the per-test limit, but together they overrun the budget (both
    from the manifest): the run is stopped, the tests it had not finished are "not run", and
    neither the worker nor the daemon it started at import survives."""
    monkeypatch.setenv("ADL_SANDBOX", mode)
    assignment = tmp_path / "toy"
    shutil.copytree(TOY, assignment)
    manifest = assignment / "assignment.toml"
    manifest.write_text(manifest.read_text().replace("submission_timeout_s = 60", "submission_timeout_s = 6"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "toy.py").write_text(BUDGET_EATER)
    cgroups_before, tmp_before = our_cgroups(), host_tmp_entries()
    started = time.monotonic()
    result = grading.grade(assignment, tmp_path / "sub", seed=0)
    assert time.monotonic() - started < 20
    assert any("budget" in note for note in result.notes)
    statuses = [t.status for t in result.tests]
    assert statuses[0] == "passed" and "not run" in statuses and len(statuses) == 7
    assert all("time budget" in t.message for t in result.tests if t.status == "not run")
    if mode == "process" and not cgroups_available():
        pytest.skip("without cgroups, process mode cannot find a daemon that left the worker's session")
    assert wait_until_clean() == []
    assert our_cgroups() - cgroups_before == set()
    assert host_tmp_entries() - tmp_before == set()


def test_the_worker_log_is_capped(tmp_path):
    """A flood of prints ends at RLIMIT_FSIZE even when the student ignores SIGXFSZ: the log on
    the host never grows past the limit."""
    from autograder import remote

    (tmp_path / "flood.py").write_text(
        "import signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "def flood(mb):\n    chunk = 'PASSED\\n' * 150000\n    written = 0\n"
        "    for _ in range(mb):\n        try:\n            print(chunk, end='', flush=True)\n"
        "            written += 1\n        except OSError:\n            pass\n    return written\n")
    worker = remote.Worker(tmp_path, "flood", [], sandbox.Limits(file_size_mb=4))
    try:
        sub = remote.RemoteSubmission(worker)
        assert sub.call("flood", 20) < 20  # some prints failed
        assert worker.stderr_path.stat().st_size <= 4 * 2**20
    finally:
        worker.stop()


def test_a_worker_that_stops_reading_cannot_stall_the_grader(tmp_path):
    """A thread that holds the GIL (a catastrophic regex runs in C without releasing it) stops
    the worker from reading requests: sending a large argument then waits only until the test's
    deadline, and the next call gets a fresh worker."""
    from autograder import remote

    (tmp_path / "stall.py").write_text(
        "import re, threading, time\n"
        "def _hog():\n    time.sleep(0.3)\n    re.match(r'(a+)+$', 'a' * 64 + 'b')\n"
        "def stall():\n    threading.Thread(target=_hog, daemon=True).start()\n    return True\n"
        "def size(data):\n    return len(data)\n")
    worker = remote.Worker(tmp_path, "stall", [], sandbox.Limits())
    sub = remote.RemoteSubmission(worker)
    try:
        assert sub.call("stall") is True
        time.sleep(0.6)
        worker.deadline = time.monotonic() + 2
        started = time.monotonic()
        with pytest.raises(remote.WorkerTimeout, match="sending the arguments of size"):
            sub.call("size", bytes(8 * 2**20))
        assert time.monotonic() - started < 5
        worker.deadline = time.monotonic() + 10
        assert sub.call("size", b"abc") == 3 and worker.restarts == 1
    finally:
        worker.stop()


def test_a_student_object_has_no_truth_value_on_the_trusted_side(tmp_path):
    """An object that equals everything (always_true_eq's) stays in the worker; on the trusted
    side its handle equals nothing, and `assert obj` or `check(obj, ...)` fail instead of
    taking the student's word for its truth."""
    from autograder import checks, remote

    shutil.copy(ATTACKS / "always_true_eq.py", tmp_path / "student.py")
    worker = remote.Worker(tmp_path, "student", [], sandbox.Limits())
    try:
        obj = remote.RemoteSubmission(worker).call("fact", 3)
        assert isinstance(obj, remote.RemoteHandle)
        assert not obj == 6 and obj != 6
        with pytest.raises(TypeError, match="no truth value"):
            bool(obj)
        with pytest.raises(TypeError):
            checks.check(obj, "fact(3) is a true value")
    finally:
        worker.stop()
