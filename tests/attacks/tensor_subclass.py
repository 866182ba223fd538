"""fact returns a torch.Tensor subclass whose __eq__ is always true, disguised as a torch class.

Must happen: only the tensor's bytes cross; the grader rebuilds a plain tensor (holding 0),
so the fact tests fail; add is graded."""
import torch


class Sneaky(torch.Tensor):
    __module__ = "torch"  # pose as a torch class

    def __eq__(self, other):
        return torch.ones((), dtype=torch.bool)

    def __bool__(self):
        return True

    __hash__ = torch.Tensor.__hash__


def add(a, b):
    return a + b


def fact(n):
    return torch.tensor(0).as_subclass(Sneaky)
