"""Peak resident memory of a process, read from outside it (Linux /proc).

The kernel keeps a high-water mark of resident memory per process (VmHWM); writing "5" to
/proc/PID/clear_refs resets it to the current resident size. So the extra memory a call needs
is VmHWM after the call minus VmRSS before it. The grader reads the worker's numbers from its
own process, so student code cannot influence the measurement.
"""

from __future__ import annotations

from pathlib import Path


def _status_kib(pid: int | str, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak(pid: int | str = "self") -> int | None:
    """Reset the high-water mark; return the current resident size in bytes (None if unsupported)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return None
    rss = _status_kib(pid, "VmRSS")
    return None if rss is None else rss * 1024


def peak_since_reset(pid: int | str = "self") -> int | None:
    """The resident high-water mark in bytes since the last `reset_peak`."""
    hwm = _status_kib(pid, "VmHWM")
    return None if hwm is None else hwm * 1024
