"""Write a valid header announcing one buffer of 2**40 bytes on the answer pipe.

Must happen: the grader refuses the buffer's length before reading it (BadResult: over the
message limit); the test fails although the real answer that follows is right; the worker
is restarted; add is graded."""
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
        head = b'{"ok":true,"value":{"$bytes":0},"nbuf":1}'
        os.write(fd, struct.pack(">Q", len(head)) + head + struct.pack(">Q", 2**40))
    out = 1
    for i in range(2, n + 1):
        out *= i
    return out
