"""Steal the grading pytest's record socket with pidfd_getfd (its number is in the parent's
environment as ADL_RECORD_FD), write a "passed" record for every toy test into it, then kill
the parent so that no real record follows.

Must happen (bwrap): the parent visible in the worker's PID namespace is the sandbox's init,
owned by root, and the worker (uid nobody, no capabilities) can neither read its environment
nor take its descriptors; the fact tests fail; add is graded. NOT stopped in process mode: a
worker with the grader's uid may take any descriptor of the grader's processes (or ptrace
them) where the kernel allows ptrace between processes of one user."""
import ctypes
import json
import os
import signal

SYS_PIDFD_OPEN, SYS_PIDFD_GETFD = 434, 438  # x86-64 and aarch64 alike
# every test but the first, which has reported already when fact is first called (a second,
# conflicting record of a test makes it fail)
TESTS = [("test_toy_public.py", "test_fact_small", "", "public"),
         ("test_toy_hidden.py", "test_add_random", "0", "hidden"),
         ("test_toy_hidden.py", "test_add_random", "1", "hidden"),
         ("test_toy_hidden.py", "test_add_random", "2", "hidden"),
         ("test_toy_hidden.py", "test_fact_values", "", "hidden"),
         ("test_toy_hidden.py", "test_fact_secret_value", "", "hidden")]


def _steal():
    parent = os.getppid()
    try:
        with open(f"/proc/{parent}/environ", "rb") as f:
            number = next(int(item.split(b"=", 1)[1]) for item in f.read().split(b"\0")
                          if item.startswith(b"ADL_RECORD_FD="))
    except (OSError, StopIteration, ValueError):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = libc.syscall(SYS_PIDFD_OPEN, parent, 0)
    fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, number, 0) if pidfd >= 0 else -1
    if fd < 0:
        return False
    for file, function, params, kind in TESTS:
        nodeid = f"{file}::{function}" + (f"[{params}]" if params else "")
        os.write(fd, (json.dumps({"event": "test", "nodeid": nodeid, "function": function, "params": params,
                                  "kind": kind, "doc": "", "duration": 0.0, "outcome": "passed",
                                  "message": ""}) + "\n").encode())
    os.kill(parent, signal.SIGKILL)
    return True


def add(a, b):
    return a + b


def fact(n):
    _steal()
    return 0
