"""os._exit(0) inside fact: the worker dies mid-call with a "success" exit code.

Must happen: the fact tests fail saying the worker ended (exit code 0); the worker is
restarted and add is graded normally."""
import os


def add(a, b):
    return a + b


def fact(n):
    os._exit(0)
