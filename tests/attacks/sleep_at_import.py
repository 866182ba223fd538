"""Sleep 30 s at import, hoping to eat the submission's whole time budget (each test would
wait for the import again).

Must happen: the first test waits its per-test limit (5 s for the toy), the worker is stopped,
and the failed import is remembered: every other test fails at once with the same message
("importing your module did not finish in time"); grading ends within about 10-15 s."""
import time

time.sleep(30)


def add(a, b):
    return a + b


def fact(n):
    return 1
