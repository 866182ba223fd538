"""The trusted side of the call protocol: a worker process per submission and the
`submission` object the hidden tests use to reach it.

The worker is started once per submission (importing torch costs about two seconds), with
the student's module loaded while pytest collects the tests. A call that overruns the test's
deadline kills the worker; a crash is noticed at the pipe. Either way the test that made the
call fails with a clear message and the next call starts a fresh worker.
"""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from autograder import memory, protocol, sandbox

STDERR_TAIL = 3000


class WorkerError(Exception):
    """Something went wrong on the student's side; the message is written for the student."""


class StudentError(WorkerError):
    """The student's code raised an exception."""

    def __init__(self, error: dict, during: str):
        self.type = error.get("type", "Exception")
        self.detail = error.get("message", "")
        self.traceback = error.get("traceback", "")
        text = f"{during} raised {self.type}: {self.detail}"
        if self.traceback:
            text += "\n" + self.traceback.rstrip()
        super().__init__(text)


class ForbiddenCall(WorkerError):
    pass


class MissingName(WorkerError):
    pass


class WorkerTimeout(WorkerError):
    pass


class WorkerCrashed(WorkerError):
    pass


class BadResult(WorkerError):
    """The worker answered with something that is not valid plain data."""


class Worker:
    """One worker process for one submission; restarted after a timeout or a crash."""

    def __init__(self, directory: Path, module: str, forbidden: list[str], limits: sandbox.Limits):
        self.directory = Path(directory).resolve()
        self.module = module
        self.forbidden = list(forbidden)
        self.limits = limits
        self.proc: subprocess.Popen | None = None
        self.generation = 0
        self.deadline: float | None = None
        self.load_error: WorkerError | None = None
        self.restarts = 0
        self.mode = sandbox.mode()
        self.cgroup: sandbox.Cgroup | None = None
        self.memory_exceeded = False
        self._loaded = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Spawn the worker and ask it to import the module; the answer is read on first use."""
        self.scratch = tempfile.TemporaryDirectory(prefix="adl-worker-")
        read_fd, write_fd = os.pipe()
        self.stderr_path = Path(self.scratch.name) / "stderr.log"
        if self.mode == "bwrap" and self.directory.stat().st_mode & 0o005 != 0o005:
            self.directory.chmod(0o755)  # the worker runs as nobody
        seccomp_fd = sandbox.seccomp_filter(Path(self.scratch.name)) if self.mode == "bwrap" else None
        argv, env, inside = sandbox.worker_command(self.directory, write_fd, Path(self.scratch.name),
                                                   self.limits, self.mode, seccomp_fd)
        # both modes: where the machine lets us, the whole worker tree gets a memory and a process
        # cap, and stopping the worker kills every process in it, double-forked daemons included
        self.cgroup = sandbox.Cgroup(self.limits, os.environ.get("ADL_CGROUP_PREFIX", "adl"))
        argv = self.cgroup.wrap(argv)
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
                pass_fds=(write_fd,) if seccomp_fd is None else (write_fd, seccomp_fd),
                env=env, cwd=self.scratch.name, start_new_session=True,
            )
        os.close(write_fd)
        os.set_blocking(self.proc.stdin.fileno(), False)  # requests are written under the test's deadline
        for fd in (self.proc.stdin.fileno(), read_fd):  # fewer context switches per megabyte sent
            try:
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
            except (OSError, AttributeError):
                pass  # not Linux, or over /proc/sys/fs/pipe-max-size: the default 64 KiB works too
        if seccomp_fd is not None:
            os.close(seccomp_fd)
        self.answers = read_fd
        self.generation += 1
        self._loaded = False
        self._python_pid = None
        self._send({"op": "load", "dir": inside, "module": self.module, "forbidden": self.forbidden, "nbuf": 0}, [])

    def stop(self) -> None:
        """Kill the worker and everything it started."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        if self.cgroup is not None:
            self.cgroup.kill()
            self.memory_exceeded = self.memory_exceeded or self.cgroup.oom_killed()
            self.cgroup.remove()
        os.close(self.answers)
        self.proc = None
        self.scratch.cleanup()

    def kill_now(self) -> None:
        """Best-effort stop for a signal handler: kill, never wait; remove what can be removed."""
        proc, cgroup = self.proc, self.cgroup
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        if cgroup is not None:
            cgroup.kill()
            cgroup.remove()
        scratch = getattr(self, "scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch.name, ignore_errors=True)

    def _ensure(self) -> None:
        if self.load_error is not None:
            raise self.load_error
        if self.proc is None:
            if self.generation:
                self.restarts += 1
            self.start()
        if not self._loaded:
            # Whatever stops the import (an exception, a crash, a sleep past the deadline) stops
            # every later test too: remember it, so a module that hangs at import costs one
            # test's time limit, not every test's.
            try:
                self._receive("importing your module")
            except StudentError as exc:
                self.load_error = StudentError({"type": exc.type, "message": exc.detail, "traceback": exc.traceback},
                                               f"importing {self.module}.py")
                raise self.load_error from None
            except WorkerTimeout:
                self.load_error = WorkerTimeout(
                    f"importing {self.module}.py did not finish within the test's time limit; the import is "
                    "not tried again, so every test that needs your module fails (is there slow work at "
                    "the top level of your module?)")
                raise self.load_error from None
            except WorkerError as exc:
                self.load_error = type(exc)(f"importing {self.module}.py failed: {exc}")
                raise self.load_error from None
            self._loaded = True

    @property
    def pid(self) -> int | None:
        """The worker's Python process, as seen from here (for memory measurement)."""
        if self.proc is None:
            return None
        if self._python_pid is None:
            self._python_pid = sandbox.python_pid(self.proc.pid)
        return self._python_pid

    # ------------------------------------------------------------------ messages

    def _send(self, header: dict, buffers: list[bytes], during: str = "the call") -> None:
        try:
            protocol.write_message(_Requests(self), header, buffers)
        except WorkerTimeout:
            self.stop()
            raise WorkerTimeout(f"sending the arguments of {during} did not finish in time (the test's time limit: "
                                "your code stopped reading them); the worker was stopped and restarted") from None
        except OSError:
            pass  # the worker died; the read that follows reports how

    def _read_exact(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            remaining = None if self.deadline is None else self.deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise WorkerTimeout()
            ready, _, _ = select.select([self.answers], [], [], remaining)
            if not ready:
                raise WorkerTimeout()
            chunk = os.read(self.answers, min(n - got, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _receive(self, during: str) -> tuple[dict, list[bytes]]:
        try:
            header, buffers = protocol.read_message(self._read_exact)
        except WorkerTimeout:
            self.stop()
            limit = "" if self.deadline is None else " (the test's time limit)"
            raise WorkerTimeout(f"{during} did not finish in time{limit}; the worker was stopped and restarted") from None
        except EOFError:
            code = self.proc.wait() if self.proc else None
            tail = self.stderr_tail()
            self.stop()
            how = _how_it_ended(code, self.mode)
            if self.memory_exceeded:
                how += f", over its memory limit of {self.limits.memory_mb} MB"
            raise WorkerCrashed(f"the worker process ended ({how}) during {during}"
                                + (f"; its last output:\n{tail}" if tail else "")) from None
        except protocol.ProtocolError as exc:
            self.stop()
            raise BadResult(f"{during} sent a malformed answer ({exc}); the worker was restarted") from None
        except Exception as exc:  # anything else: the stream can no longer be trusted to be in step
            self.stop()
            raise BadResult(f"{during} sent a malformed answer ({type(exc).__name__}); the worker was restarted") from None
        if header.get("ok") is True:
            return header, buffers
        error = header.get("error") if isinstance(header.get("error"), dict) else {}
        kind = error.get("kind")
        if kind == "forbidden":
            raise ForbiddenCall(f"{during}: {error.get('message', 'a forbidden call')}")
        if kind == "missing":
            raise MissingName(str(error.get("message", "missing name")))
        if kind == "protocol":
            raise BadResult(f"{during} returned something that is not plain data: {error.get('message', '')}")
        raise StudentError(error, during)

    def stderr_tail(self) -> str:
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - STDERR_TAIL))
                return f.read().decode(errors="replace").strip()
        except OSError:
            return ""

    def request(self, header: dict, during: str, args: tuple = (), kwargs: dict | None = None) -> Any:
        """Send one request whose arguments are `args`/`kwargs`; return the decoded answer."""
        self._ensure()
        header, buffers = protocol.pack(header, [_handles_out(list(args)), _handles_out(kwargs or {})], key="payload")
        self._send(header, buffers, during)
        answer, answer_buffers = self._receive(during)
        self.last_answer = {k: v for k, v in answer.items() if k not in ("value", "nbuf")}  # e.g. cuda_ms (speed tests)
        try:
            return protocol.decode(answer.get("value"), answer_buffers,
                                   lambda i: RemoteHandle(self, i, self.generation))
        except protocol.ProtocolError as exc:
            self.stop()
            raise BadResult(f"{during} returned something that is not plain data: {exc}") from None
        except Exception as exc:
            self.stop()
            raise BadResult(f"{during} returned something that is not plain data ({type(exc).__name__})") from None


def _how_it_ended(code: int | None, mode: str) -> str:
    """"signal 9, SIGKILL" or "exit code 3". bubblewrap reports a command killed by signal N
    as exit code 128 + N, like a shell."""
    if code is not None and mode == "bwrap" and code > 128:
        code = -(code - 128)
    if code is not None and code < 0:
        try:
            return f"signal {-code}, {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class _Requests:
    """The worker's stdin as a stream for `protocol.write_message`: every write waits at most
    until the test's deadline, so a worker that stops reading (a thread holding the GIL, say)
    cannot stall the grader while it sends large arguments."""

    def __init__(self, worker: Worker):
        self.worker = worker

    def write(self, data: bytes) -> None:
        fd, view = self.worker.proc.stdin.fileno(), memoryview(data)
        while view:
            deadline = self.worker.deadline
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise WorkerTimeout()
            if not select.select([], [fd], [], remaining)[1]:
                raise WorkerTimeout()
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                pass

    def flush(self) -> None:
        pass


class RemoteHandle:
    """An object living in the worker. `h.method(...)` and `h(...)` run there."""

    _DUNDERS = {"__getitem__", "__contains__"}

    def __init__(self, worker: Worker, id: int, generation: int):
        self._worker, self._id, self._generation = worker, id, generation

    def _check(self) -> None:
        if self._generation != self._worker.generation:
            raise WorkerError("this object was lost when the worker restarted after an earlier failure")

    def __getattr__(self, name: str):
        if name.startswith("__") and name not in self._DUNDERS:
            raise AttributeError(name)
        return lambda *args, **kwargs: self._invoke(name, args, kwargs)

    def __call__(self, *args, **kwargs):
        return self._invoke(None, args, kwargs)

    def __len__(self) -> int:
        return self._invoke("__len__", (), {})

    def __bool__(self) -> bool:
        # the object's own truth (its __bool__, its __len__) is the student's to choose: an
        # `assert obj` or `check(obj, ...)` on the trusted side must not pass on their word
        raise TypeError("a student object has no truth value on the grader's side; test a plain value "
                        "(a result, len(obj), submission.getattr(obj, name)) instead")

    def __repr__(self) -> str:
        return f"<student object #{self._id}>"

    def _invoke(self, method: str | None, args: tuple, kwargs: dict) -> Any:
        self._check()
        what = f"your object's {method or '__call__'}()"
        return self._worker.request({"op": "call", "handle": self._id, "method": method}, what, args, kwargs)


def _handles_out(value: Any) -> Any:
    """Replace RemoteHandles in arguments by protocol handles."""
    if isinstance(value, RemoteHandle):
        value._check()
        return protocol.Handle(value._id)
    if isinstance(value, list):
        return [_handles_out(v) for v in value]
    if type(value) is tuple:
        return tuple(_handles_out(v) for v in value)
    if isinstance(value, dict):
        return {k: _handles_out(v) for k, v in value.items()}
    return value


class RemoteSubmission:
    """The grader's `submission` fixture: same interface as `autograder.local.LocalSubmission`."""

    def __init__(self, worker: Worker):
        self.worker = worker

    @property
    def mode(self) -> str:
        return self.worker.mode

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.worker.request({"op": "call", "target": name}, f"{name}()", args, kwargs)

    def getattr(self, obj: RemoteHandle, name: str) -> Any:
        obj._check()
        return self.worker.request({"op": "getattr", "handle": obj._id, "name": name}, f"reading .{name}")

    def peak_memory(self, name: str, *args: Any, **kwargs: Any):
        """Call `name` and measure, from outside the worker, the extra resident memory it used.

        The arguments are sent and decoded first and the result is fetched afterwards, so the
        protocol's own copies are not counted.
        """
        worker = self.worker
        held = worker.request({"op": "hold"}, "sending the inputs", args, kwargs)
        pid = worker.pid
        before = memory.reset_peak(pid) if pid else None
        result = worker.request({"op": "call", "target": name, "spread": held._id, "hold": True}, f"{name}()")
        peak = memory.peak_since_reset(pid) if before is not None else None
        value = worker.request({"op": "fetch", "handle": result._id}, f"{name}()")
        return value, (None if peak is None else max(0, peak - before))
