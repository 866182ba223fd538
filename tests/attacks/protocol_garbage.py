"""Find the worker's answer pipe (via /proc/self/fd, or by scanning descriptors) and write a
frame whose header is not JSON before answering correctly.

Must happen: the grader reads the garbage as the answer and refuses it (BadResult: a malformed
answer); the test fails although the real answer that follows is right; the worker is
restarted; add is graded."""
import fcntl
import os
import stat
import struct


def _answer_fds():
    try:
        candidates = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        candidates = list(range(3, 256))
    found = []
    for fd in candidates:
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode) and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                found.append(fd)
        except OSError:
            pass
    return found


def add(a, b):
    return a + b


def fact(n):
    for fd in _answer_fds():
        os.write(fd, struct.pack(">Q", 11) + b"not json!!!")
    out = 1
    for i in range(2, n + 1):
        out *= i
    return out
