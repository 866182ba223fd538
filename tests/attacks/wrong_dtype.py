"""fact_table returns the right values as float32 instead of float64 (exact here, so only
the dtype is wrong).

Must happen: assert_close on the trusted side checks the dtype: test_fact_table fails naming
the dtype; everything else is graded."""
import torch


def add(a, b):
    return a + b


def fact(n):
    out = 1
    for i in range(2, n + 1):
        out *= i
    return out


def fact_table(n):
    return torch.tensor([float(fact(i)) for i in range(n)], dtype=torch.float32)
