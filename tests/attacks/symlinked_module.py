"""The submitted toy.py is not a file but a symbolic link to the reference solution (the test
makes the link; this file only documents the attack).

Must happen: a link is never staged (nor followed out of the submission): the student is told
that toy.py is a symbolic link, every test fails, and nothing of the reference is read."""


def add(a, b):
    return a + b


def fact(n):
    return 0
