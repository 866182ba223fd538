"""Crash the grader's own static scan: toy.py holds an attribute chain 100000 deep (the test
writes it in place of the placeholder), on which a recursive AST walk on the trusted side
raises RecursionError before any test runs.

Must happen: the trusted side survives it (the module cannot be parsed: a note says so), the
worker's import fails the same way, every test fails with that message; nothing crashes."""


def add(a, b):
    return a + b


def fact(n):
    return 0


deep = __DEEP__
