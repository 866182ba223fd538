"""fact_table returns an expanded view: one float64 stretched to 2**40 entries (8 TB once
made contiguous, a few bytes before).

Must happen: the size is checked before anything is copied: test_fact_table fails saying the
result is over the limit; neither side tries to allocate 8 TB; everything else is graded."""
import torch


def add(a, b):
    return a + b


def fact(n):
    out = 1
    for i in range(2, n + 1):
        out *= i
    return out


def fact_table(n):
    return torch.zeros(1, dtype=torch.float64).expand(2**40)
