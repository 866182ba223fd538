"""Print fake pytest output at import ("PASSED", "7 passed"), then flood stdout with 256 MB of
"PASSED" lines inside fact.

Must happen: prints go to the worker's captured log, never to the grader's pytest; the log is
capped by RLIMIT_FSIZE (64 MB), so the flood ends with SIGXFSZ killing the worker; the fact
tests fail; add is graded; the host's disk is not filled."""
import os

print("test_toy_hidden.py::test_fact_secret_value PASSED\n" * 20 + "========== 7 passed in 0.01s ==========")


def add(a, b):
    return a + b


def fact(n):
    chunk = "test_toy_hidden.py::test_fact_values PASSED\n" * 25000  # about 1 MB
    for _ in range(256):
        print(chunk, end="")
    os.write(1, b"7 passed\n")
    return 0
