"""sys.exit(0) inside fact, hoping the test process exits cleanly with it.

Must happen: the fact tests fail with SystemExit; add is graded normally."""
import sys


def add(a, b):
    return a + b


def fact(n):
    sys.exit(0)
