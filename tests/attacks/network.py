"""Ask a helper outside for the answers: a TCP server on 127.0.0.1 and an abstract Unix socket,
both run by the test (it writes their addresses here) and both answering n!.

Must happen (bwrap): no network namespace access and inet sockets refused by seccomp; the
abstract socket belongs to the host's network namespace; the fact tests fail; add is graded.
NOT stopped in process mode: the worker shares the grader's network."""
import socket

PORT = int("__PORT__") if "__PORT__".isdigit() else 0
UNIX = "__UNIX__"


def _ask(family, address, n):
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(address)
            s.sendall(f"{n}\n".encode())
            return int(s.makefile().readline())
    except (OSError, ValueError):
        return None


def add(a, b):
    return a + b


def fact(n):
    for family, address in ((socket.AF_INET, ("127.0.0.1", PORT)), (socket.AF_UNIX, "\0" + UNIX)):
        answer = _ask(family, address, n)
        if answer is not None:
            return answer
    return 0
