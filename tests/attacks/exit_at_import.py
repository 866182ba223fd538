"""sys.exit(0) at import, hoping a clean exit reads as success.

Must happen: the worker reports SystemExit while importing; every test fails (there is no
module to call), the grader and the other tests' bookkeeping carry on."""
import sys


def add(a, b):
    return a + b


def fact(n):
    return 1


sys.exit(0)
