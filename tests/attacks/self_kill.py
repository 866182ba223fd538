"""fact kills its own process group with SIGKILL (and, inside the sandbox, everything it may
signal with kill(-1)).

Must happen: the fact tests fail saying the worker ended by signal 9; add is graded; the
grader is untouched."""
import os
import signal


def add(a, b):
    return a + b


def fact(n):
    # kill(-1) signals every process this one may signal: only ever try it as the sandbox's
    # unprivileged uid inside its own PID namespace, never with the grader's own uid.
    if os.getuid() == 65534 and os.getpid() < 100:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
    os.killpg(0, signal.SIGKILL)
