"""fact kills its parent process with SIGKILL: in process mode that is the grader's pytest.

Must happen (bwrap): the parent is the sandbox's init, owned by root; the kill is refused and
the fact tests fail with the PermissionError. In process mode the grading pytest dies: the
tests it had not finished are reported "not run" (scoring zero), the points already earned
stay, and max_score is unchanged: killing the grader can only lose points."""
import os
import signal


def add(a, b):
    return a + b


def fact(n):
    os.kill(os.getppid(), signal.SIGKILL)
    return 0
