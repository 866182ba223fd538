"""fact_table returns NaN everywhere (NaN compares unequal to everything, so a check written
as "no entry differs by more than tol" would pass).

Must happen: test_fact_table fails saying entries are NaN; everything else is graded."""
import torch


def add(a, b):
    return a + b


def fact(n):
    out = 1
    for i in range(2, n + 1):
        out *= i
    return out


def fact_table(n):
    return torch.full((n,), float("nan"), dtype=torch.float64)
