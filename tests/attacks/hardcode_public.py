"""Hard-code the answers of the public tests (fact(3) == 6) instead of computing fact.

Must happen: the public test passes (its points are earned), every hidden fact test fails, so
the submission gets the public test's share only."""


def add(a, b):
    return a + b


def fact(n):
    return {3: 6}.get(n, 0)
