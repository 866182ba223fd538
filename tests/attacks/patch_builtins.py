"""At import, patch the builtins and operators a checker leans on (AssertionError, all, any,
abs, operator.eq/ne) and the grader's own check helpers, then answer wrong.

Must happen: the patches live in the worker only; the trusted side's comparisons are its own,
so the fact tests fail; add is graded."""
import builtins
import operator
import sys

import autograder.checks as checks  # the worker can import the grader's package

builtins.AssertionError = type("AssertionError", (Exception,), {})
builtins.all = lambda iterable: True
builtins.any = lambda iterable: False
builtins.abs = lambda x: 0
operator.eq = lambda a, b: True
operator.ne = lambda a, b: False
checks.check = lambda condition, message: None
checks.assert_close = lambda *args, **kwargs: None
for name, module in list(sys.modules.items()):
    if name.startswith("autograder") and hasattr(module, "check"):
        module.check = lambda condition, message: None


def add(a, b):
    return a + b


def fact(n):
    return 0
