"""fact starts a double-forked daemon (new session, re-parented) that outlives the call and,
later, tries to write a marker file outside the grading folder (the test supplies the path).

Must happen: stopping the worker kills its whole tree (PID namespace and cgroup in bwrap mode;
the cgroup in process mode where the machine has one): no process is left behind and the
marker is never written; the fact tests fail; add is graded."""
import os
import time

MARKER = "__MARKER__"


def add(a, b):
    return a + b


def fact(n):
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            for _ in range(600):
                time.sleep(0.5)
                try:
                    with open(MARKER, "w") as f:
                        f.write("the daemon survived")
                except OSError:
                    pass
        os._exit(0)
    os.waitpid(pid, 0)
    return 0
