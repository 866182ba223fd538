"""Assertions for hidden tests whose messages are safe to show students.

A failing hidden test must say which property failed and how badly, never the expected
values. `PropertyFailure` marks a message as written for students; the grader shows it
verbatim. Any other failure in a hidden test is reduced to the test's docstring.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# Default tolerances per dtype: loose enough for every valid order of floating-point
# operations (a fused kernel, a different reduction tree), tight enough to catch a wrong
# formula. The one place these numbers live.
TOLERANCES: dict[str, tuple[float, float]] = {  # dtype name -> (rtol, atol)
    "float16": (1e-2, 1e-3),
    "bfloat16": (2e-2, 1e-2),
    "float32": (1e-4, 1e-5),
    "float64": (1e-7, 1e-9),
}


class PropertyFailure(AssertionError):
    """A failure whose message is written for the student and contains no expected values."""


def check(condition: bool, message: str) -> None:
    """Fail with `message` (shown to the student) unless `condition` holds."""
    if not condition:
        raise PropertyFailure(message)


def _as_tensor(value: Any, what: str):
    import torch  # here, so that grading a NumPy-only assignment never imports torch

    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    raise PropertyFailure(f"{what}: expected a tensor, got {type(value).__name__}")


def assert_close(
    actual: Any,
    expected: Any,
    *,
    what: str,
    rtol: float | None = None,
    atol: float | None = None,
    check_dtype: bool = True,
) -> None:
    """Check `actual` against the oracle's `expected`: type, shape, dtype, finiteness, values.

    Tolerances default to `TOLERANCES[<dtype name of expected>]`. The message reports the shape of the
    error (largest absolute error, how many entries are off) but no expected values.
    """
    if isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray):
        # NumPy on both sides: compare in NumPy, so NumPy-only assignments never import torch
        # (about 2 s of CPU per grading run).
        _assert_close_numpy(actual, expected, what=what, rtol=rtol, atol=atol, check_dtype=check_dtype)
        return
    got = _as_tensor(actual, what)
    want = _as_tensor(expected, what)
    check(
        tuple(got.shape) == tuple(want.shape),
        f"{what}: shape {tuple(got.shape)}, but the specification gives {tuple(want.shape)}",
    )
    if check_dtype:
        check(got.dtype == want.dtype, f"{what}: dtype {got.dtype}, expected {want.dtype}")
    import torch

    default_rtol, default_atol = TOLERANCES.get(str(want.dtype).removeprefix("torch."), (0.0, 0.0))
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    if want.dtype == torch.bool or not want.is_floating_point():
        wrong = int((got.to(want.dtype) != want).sum())
        check(wrong == 0, f"{what}: {wrong} of {want.numel()} entries are wrong")
        return
    got64, want64 = got.to(torch.float64), want.to(torch.float64)
    bad_finite = int((torch.isfinite(got64) != torch.isfinite(want64)).sum())
    check(bad_finite == 0, f"{what}: {bad_finite} entries are NaN or infinite where they should not be (or the reverse)")
    finite = torch.isfinite(want64)
    err = (got64 - want64).abs().where(finite, torch.zeros(()))
    limit = atol + rtol * want64.abs().where(finite, torch.zeros(()))
    off = int((err > limit).sum())
    if off:
        worst = float(err.max())
        raise PropertyFailure(
            f"{what}: {off} of {want.numel()} entries differ from the oracle "
            f"(largest absolute error {worst:.3g}; allowed atol={atol:g} + rtol={rtol:g}*|expected|)"
        )


def _assert_close_numpy(got: np.ndarray, want: np.ndarray, *, what: str, rtol: float | None,
                        atol: float | None, check_dtype: bool) -> None:
    """`assert_close` for two NumPy arrays: the same checks and messages, no torch."""
    check(got.shape == want.shape, f"{what}: shape {got.shape}, but the specification gives {want.shape}")
    if check_dtype:
        check(got.dtype == want.dtype, f"{what}: dtype {got.dtype}, expected {want.dtype}")
    default_rtol, default_atol = TOLERANCES.get(want.dtype.name, (0.0, 0.0))
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    if not np.issubdtype(want.dtype, np.floating):
        wrong = int((got.astype(want.dtype) != want).sum()) if got.size else 0
        check(wrong == 0, f"{what}: {wrong} of {want.size} entries are wrong")
        return
    if not (np.issubdtype(got.dtype, np.floating) or np.issubdtype(got.dtype, np.integer)
            or got.dtype == np.bool_):
        raise PropertyFailure(f"{what}: expected numbers, got an array of dtype {got.dtype}")
    got64, want64 = got.astype(np.float64), want.astype(np.float64)
    bad_finite = int((np.isfinite(got64) != np.isfinite(want64)).sum())
    check(bad_finite == 0, f"{what}: {bad_finite} entries are NaN or infinite where they should not be (or the reverse)")
    finite = np.isfinite(want64)
    with np.errstate(invalid="ignore"):
        err = np.where(finite, np.abs(got64 - want64), 0.0)
    limit = atol + rtol * np.where(finite, np.abs(want64), 0.0)
    off = int((err > limit).sum())
    if off:
        raise PropertyFailure(
            f"{what}: {off} of {want.size} entries differ from the oracle "
            f"(largest absolute error {float(err.max()):.3g}; allowed atol={atol:g} + rtol={rtol:g}*|expected|)"
        )


def assert_true_fraction(values: Any, *, what: str) -> None:
    """Check every entry of a boolean tensor holds; report how many do not."""
    import torch

    t = _as_tensor(values, what).to(torch.bool)
    bad = int((~t).sum())
    check(bad == 0, f"{what}: fails for {bad} of {t.numel()} cases")


def finite_number(value: Any, what: str) -> float:
    """Return `value` as a float, failing clearly if it is not a finite number."""
    if hasattr(value, "numel") and value.numel() == 1:
        value = value.item()
    check(isinstance(value, (int, float)) and not isinstance(value, bool), f"{what}: expected a number, got {type(value).__name__}")
    check(math.isfinite(value), f"{what}: is not finite")
    return float(value)
