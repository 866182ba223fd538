"""The worker's confinement: what student code can and cannot reach, in each mode."""

import os
import textwrap
import time

import pytest

from autograder import grading, remote, sandbox
from conftest import ROOT, TOY
from source_utils import markers

needs_bwrap = pytest.mark.skipif(not sandbox._bwrap_works(), reason="bubblewrap is not available here")

PROBES = textwrap.dedent('''
    import os, socket, subprocess, time

    def read(path):
        try:
            with open(path) as f:
                return f.read(50)
        except OSError as exc:
            return type(exc).__name__

    def listdir(path):
        try:
            return sorted(os.listdir(path))
        except OSError as exc:
            return type(exc).__name__

    def whoami():
        return [os.getuid(), os.geteuid(), os.getgid()]

    def connect():
        try:
            socket.create_connection(("127.0.0.1", 22), timeout=1)
            return "connected"
        except OSError as exc:
            return type(exc).__name__

    def write(path):
        try:
            with open(path, "w") as f:
                f.write("x")
            return "written"
        except OSError as exc:
            return type(exc).__name__

    def daemon():
        # double fork: the grandchild is re-parented and outlives its parent
        proc = subprocess.Popen(["/bin/sh", "-c", "(sleep 300 &) ; exit 0"])
        proc.wait()
        return True

    def fork_bomb():
        children = []
        try:
            for _ in range(2000):
                children.append(subprocess.Popen(["/bin/sleep", "30"]))
        except OSError as exc:
            return len(children), type(exc).__name__
        return len(children), "no limit"

    def memory_bomb(workers, mb):
        import multiprocessing as mp
        procs = [mp.get_context("fork").Process(target=_hog, args=(mb,)) for _ in range(workers)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        return [p.exitcode for p in procs]

    def _hog(mb):
        block = bytearray(mb * 2**20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(5)
''')


@pytest.fixture
def bwrap_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("ADL_SANDBOX", "bwrap")
    (tmp_path / "probes.py").write_text(PROBES)
    limits = sandbox.Limits(memory_mb=1024, processes=64)
    worker = remote.Worker(tmp_path, "probes", [], limits)
    yield worker, remote.RemoteSubmission(worker)
    worker.stop()


@needs_bwrap
def test_only_the_allow_list_is_visible(bwrap_worker):
    _, sub = bwrap_worker
    assert sub.call("listdir", str(ROOT / "solutions")) == "FileNotFoundError"
    assert sub.call("read", str(ROOT / "solutions" / "attention" / "attention.py")) == "FileNotFoundError"
    assert set(sub.call("listdir", str(ROOT))) <= {"autograder", ".venv"}  # not the repository
    assert sub.call("listdir", "/submission") == ["probes.py"]
    assert sub.call("read", "/etc/shadow") in ("FileNotFoundError", "PermissionError")
    assert sub.call("listdir", "/home") == "FileNotFoundError"


@needs_bwrap
def test_unprivileged_no_network_read_only_submission(bwrap_worker):
    _, sub = bwrap_worker
    if os.geteuid() == 0:
        assert sub.call("whoami") == [sandbox.NOBODY] * 3
    assert sub.call("connect") in ("OSError", "ConnectionRefusedError", "PermissionError")
    assert sub.call("write", "/submission/probes.py") in ("OSError", "PermissionError")
    assert sub.call("write", "/tmp/scratch") == "written"  # a private /tmp is fine


@needs_bwrap
def test_nothing_the_worker_started_survives_it(bwrap_worker):
    worker, sub = bwrap_worker
    assert sub.call("daemon") is True
    below = sandbox.descendants(worker.proc.pid)
    assert len(below) >= 3
    worker.stop()
    time.sleep(0.3)
    alive = [pid for pid in below if os.path.exists(f"/proc/{pid}") and "Z" not in open(f"/proc/{pid}/stat").read().split()[2]]
    assert alive == []


@needs_bwrap
def test_fork_bomb_hits_the_process_cap(bwrap_worker):
    worker, sub = bwrap_worker
    sub.call("whoami")  # starts the worker, and its cgroup
    if not worker.cgroup.active:
        pytest.skip("no writable cgroup here")
    started, why = sub.call("fork_bomb")
    assert started < 64 and why in ("BlockingIOError", "OSError")


@needs_bwrap
def test_multi_process_memory_bomb_is_stopped_by_the_cgroup(bwrap_worker):
    worker, sub = bwrap_worker
    sub.call("whoami")
    if not worker.cgroup.active:
        pytest.skip("no writable cgroup here")
    # three children of 600 MB each: every one is under the per-process rlimit, together over the cap
    codes = sub.call("memory_bomb", 3, 600)
    assert any(code != 0 for code in codes)


def test_weaker_mode_still_grades_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("ADL_SANDBOX", "process")
    (tmp_path / "toy.py").write_text(markers.remove_solution_markers((TOY / "toy.py").read_text()))
    result = grading.grade(TOY, tmp_path, seed=3)
    assert result.score == pytest.approx(10)
    assert result.sandbox.startswith("process: WEAKER MODE")
