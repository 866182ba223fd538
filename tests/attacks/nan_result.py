"""fact returns NaN (which compares unequal to everything, so naive "!=" checks pass).

Must happen: NaN crosses as NaN; the fact tests fail; add is graded."""


def add(a, b):
    return a + b


def fact(n):
    return float("nan")
