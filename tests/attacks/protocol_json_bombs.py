"""Answer with headers that are valid JSON text but hostile to a parser: 100000 nested
arrays (a RecursionError in json.loads) for odd n, an integer of 100000 digits (a ValueError
past Python's int-string limit) for even n.

Must happen: both are refused as malformed answers (BadResult), never crash the grading
process; the test fails although the real answer that follows is right; the worker is
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
        head = b"[" * 100000 + b"]" * 100000 if n % 2 else b'{"ok":true,"value":' + b"7" * 100000 + b',"nbuf":0}'
        os.write(fd, struct.pack(">Q", len(head)) + head)
    out = 1
    for i in range(2, n + 1):
        out *= i
    return out
