"""The submitted folder holds symbolic links next to toy.py (the test makes them): `hidden.py`
to the hidden tests and `ref` to the assignment folder; fact reads the reference through them.

Must happen: only toy.py is staged (a copy, never a link), so the links do not exist where the
worker runs, in either mode; the fact tests fail; add is graded."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def add(a, b):
    return a + b


def fact(n):
    try:
        with open(os.path.join(HERE, "ref", "toy.py")) as f:
            scope = {}
            exec(f.read(), scope)
            return scope["fact"](n)
    except Exception:
        pass
    try:
        with open(os.path.join(HERE, "hidden.py")) as f:
            if n == 12 and "479001600" in f.read():
                return 479001600
    except Exception:
        pass
    return 0
