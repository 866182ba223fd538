"""The worker and the trusted side's `submission`: calls, handles, failures, restarts."""

import textwrap
import time

import pytest
import torch

from autograder import remote, sandbox

MODULE = textwrap.dedent('''
    import os, sys, time
    import torch
    print("PASSED " * 100)          # the student's prints must not disturb the protocol
    os.write(1, b"\\x00\\x00raw bytes on fd 1")

    def add(a, b):
        return a + b

    def boom():
        raise ValueError("student bug")

    def hang():
        time.sleep(60)

    def exit_now():
        sys.exit(0)

    def hard_exit():
        os._exit(0)

    def weird():
        return object()

    def forbidden(x):
        return torch.nn.functional.scaled_dot_product_attention(x, x, x)

    def allocate(n):
        return torch.ones(n, dtype=torch.uint8).sum()

    class Counter:
        def __init__(self, start=0):
            self.value = start
        def bump(self, by=1):
            self.value += by
            return self
        def __len__(self):
            return self.value
        def merged(self, other):
            return self.value + other.value
''')


@pytest.fixture
def worker(tmp_path):
    (tmp_path / "student.py").write_text(MODULE)
    w = remote.Worker(tmp_path, "student", ["torch.nn.functional.scaled_dot_product_attention"], sandbox.Limits())
    w.start()
    yield w
    w.stop()


@pytest.fixture
def sub(worker):
    return remote.RemoteSubmission(worker)


def test_calls_return_plain_data(sub):
    out = sub.call("add", torch.ones(2, 3), torch.arange(3.0))
    assert torch.equal(out, torch.ones(2, 3) + torch.arange(3.0))
    assert sub.call("add", "a", "b") == "ab"
    assert sub.call("add", (1,), (2,)) == (1, 2)


def test_objects_stay_in_the_worker_as_handles(sub):
    counter = sub.call("Counter", 3)
    assert isinstance(counter, remote.RemoteHandle)
    same = counter.bump(by=2)
    assert len(counter) == 5 and sub.getattr(counter, "value") == 5
    assert repr(same) == repr(counter)  # one object, one handle
    other = sub.call("Counter", 10)
    assert counter.merged(other) == 15  # handles travel back as arguments


def test_student_exception_is_reported_with_their_traceback(sub):
    with pytest.raises(remote.StudentError, match="boom\\(\\) raised ValueError: student bug") as info:
        sub.call("boom")
    assert "student.py" in str(info.value) and "worker.py" not in str(info.value)
    assert sub.call("add", 1, 1) == 2  # the worker is still fine


def test_missing_name_and_unsendable_result(sub):
    with pytest.raises(remote.MissingName, match="no `nope`"):
        sub.call("nope")
    assert isinstance(sub.call("weird"), remote.RemoteHandle)  # not plain data: a handle


def test_forbidden_call_is_trapped(sub):
    with pytest.raises(remote.ForbiddenCall, match="forbidden"):
        sub.call("forbidden", torch.ones(1, 2, 2))


def test_timeout_kills_the_worker_and_the_next_call_gets_a_fresh_one(sub, worker):
    counter = sub.call("Counter")
    worker.deadline = time.monotonic() + 1.0
    started = time.monotonic()
    with pytest.raises(remote.WorkerTimeout, match="did not finish in time"):
        sub.call("hang")
    assert time.monotonic() - started < 10
    worker.deadline = None
    assert sub.call("add", 2, 3) == 5 and worker.restarts == 1
    with pytest.raises(remote.WorkerError, match="lost when the worker restarted"):
        counter.bump()


@pytest.mark.parametrize("fn", ["exit_now", "hard_exit"])
def test_exits_are_crashes_not_answers(sub, worker, fn):
    with pytest.raises((remote.WorkerCrashed, remote.StudentError)):
        sub.call(fn)
    assert sub.call("add", 1, 2) == 3


def test_import_errors_fail_every_call_without_respawning(tmp_path):
    (tmp_path / "student.py").write_text("def f(:\n")
    w = remote.Worker(tmp_path, "student", [], sandbox.Limits())
    try:
        for _ in range(2):
            with pytest.raises(remote.StudentError, match="importing student.py raised SyntaxError"):
                remote.RemoteSubmission(w).call("f")
        assert w.restarts == 0
    finally:
        w.stop()


def test_peak_memory_is_measured_from_outside(sub):
    _, small = sub.peak_memory("allocate", 1_000)
    total, large = sub.peak_memory("allocate", 200 * 2**20)
    assert int(total) == 200 * 2**20
    if large is None:
        pytest.skip("this OS does not expose peak resident memory")
    assert large > 150 * 2**20 > small
