"""os._exit(0) at import: the worker vanishes with exit code 0 before answering.

Must happen: every test fails saying the worker ended (exit code 0) while importing; the
import failure is remembered, so the worker is not restarted for every test."""
import os


def add(a, b):
    return a + b


def fact(n):
    return 1


os._exit(0)
