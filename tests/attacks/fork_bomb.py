"""A fork bomb in fact: every process forks for ever (and the caller never returns).

Must happen (bwrap): the cgroup's process cap stops the forking, the per-test limit stops the
call, and killing the worker kills every process it started; the fact tests fail; add is
graded; no process is left behind. Not run in process mode (no process cap there when the
machine offers no cgroups)."""
import os
import time


def add(a, b):
    return a + b


def _bomb():
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.05)


def fact(n):
    for _ in range(4):
        try:
            if os.fork() == 0:
                _bomb()
        except OSError:
            pass
    _bomb()
