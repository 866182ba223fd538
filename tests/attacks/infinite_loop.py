"""An infinite loop in fact.

Must happen: each fact call is stopped at the manifest's per-test limit (the worker is killed
and restarted); the fact tests fail saying so; add is graded; the run ends well inside the
submission's budget."""


def add(a, b):
    return a + b


def fact(n):
    while True:
        pass
