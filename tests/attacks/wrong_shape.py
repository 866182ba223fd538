"""fact_table returns the right values with a wrong shape, (n, 1) instead of (n,), which
broadcasting would hide from a sloppy comparison.

Must happen: test_fact_table fails naming the shape; everything else is graded."""
import torch


def add(a, b):
    return a + b


def fact(n):
    out = 1
    for i in range(2, n + 1):
        out *= i
    return out


def fact_table(n):
    return torch.tensor([[float(fact(i))] for i in range(n)], dtype=torch.float64)
