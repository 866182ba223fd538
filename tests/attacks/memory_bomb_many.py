"""fact forks four children that each touch 700 MB: every one stays under the per-process
address-space limit (1 GB in this test), together they are far over it.

Must happen (bwrap): the cgroup's memory cap covers the whole worker tree: children are
killed (fact reports it, so the test can see the cap worked); the fact tests fail; add is
graded. Not run in process mode (no cgroup there when the machine offers none)."""
import os
import time


def add(a, b):
    return a + b


def fact(n):
    children = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            try:
                block = bytearray(700 * 2**20)
                block[::4096] = b"\1" * (len(block) // 4096)
                time.sleep(0.5)
            finally:
                os._exit(0)
        children.append(pid)
    statuses = [os.waitpid(pid, 0)[1] for pid in children]
    killed = sum(1 for s in statuses if os.WIFSIGNALED(s))
    raise RuntimeError("some children were killed" if killed else "all children finished")
