"""At import, rewrite pytest's reports so that every test passes, then answer wrong.

Imported into the process that runs pytest (as naive graders do), this turns every failure
into a pass. Must happen: the patch lands in the worker, where pytest does not run; the
fact tests fail; add is graded."""
import _pytest.reports as reports
import _pytest.runner as runner
import pytest

_original = reports.TestReport.from_item_and_call.__func__


def _forged(cls, item, call):
    report = _original(cls, item, call)
    report.outcome = "passed"
    report.longrepr = None
    return report


reports.TestReport.from_item_and_call = classmethod(_forged)
runner.TestReport = reports.TestReport
pytest.fail = lambda *args, **kwargs: None


def add(a, b):
    return a + b


def fact(n):
    return 0
