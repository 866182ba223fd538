"""fact_table returns a 3 GB tensor (torch.empty: allocated but never touched, so it costs the
worker little until it is copied out).

Must happen: the worker refuses to send a result over the protocol's message limit before
copying it; test_fact_table fails saying so; the grader never holds 3 GB; everything else is
graded."""
import torch


def add(a, b):
    return a + b


def fact(n):
    out = 1
    for i in range(2, n + 1):
        out *= i
    return out


def fact_table(n):
    return torch.empty(3 * 2**30 // 8, dtype=torch.float64)
