"""Use /proc to reach the grader: the environment of every visible process (ADL_ASSIGNMENT
names the assignment folder), its working directory and root (/proc/PID/cwd, /proc/PID/root),
then read the reference module through them.

Must happen (bwrap): the worker has its own PID namespace and sees only its own processes,
whose environment holds nothing of the grader's; the fact tests fail; add is graded. NOT
stopped in process mode: the grader's processes are visible and readable there."""
import glob
import os


def _assignment_folders():
    found = []
    for environ in glob.glob("/proc/[0-9]*/environ"):
        try:
            with open(environ, "rb") as f:
                for item in f.read().split(b"\0"):
                    if item.startswith(b"ADL_ASSIGNMENT="):
                        found.append(item.split(b"=", 1)[1].decode())
        except OSError:
            pass
    return found


def _stolen_fact():
    for folder in _assignment_folders():
        for pid in ["self"] + [p.split("/")[2] for p in glob.glob("/proc/[0-9]*")]:
            path = f"/proc/{pid}/root{folder}/toy.py"
            try:
                with open(path) as f:
                    scope = {}
                    exec(f.read(), scope)
                    return scope["fact"]
            except Exception:
                continue
    return None


def add(a, b):
    return a + b


def fact(n):
    stolen = _stolen_fact()
    return stolen(n) if stolen else 0
