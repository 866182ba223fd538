"""Honest add, wrong fact: the toy.py that goes with attacks made of other submitted files
(conftest.py, pytest.ini, sitecustomize.py, usercustomize.py, numpy.py, a .pth file), which
the test writes next to it.

Must happen: only toy.py is staged; none of the other files is ever loaded (their marker file
outside the grading folder is never written); the fact tests fail; add is graded."""


def add(a, b):
    return a + b


def fact(n):
    return 0
