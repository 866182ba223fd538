"""How a worker process is started, and how much it is confined.

v1 runs the worker as a separate process with its own session, a scrubbed environment,
a private scratch folder as its working directory, isolated-mode Python (`-I`: no
user site, no PYTHONPATH, no script folder on sys.path) and resource limits it applies to
itself before any student code runs (rlimits cannot be raised again once lowered). The
mount-namespace sandbox (bubblewrap, unprivileged uid, cgroups) is the hardening step.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    """Per-worker resource limits (the manifest may override them)."""

    memory_mb: int = 8192  # address space; torch reserves a lot of virtual memory
    cpu_s: int = 900  # total CPU seconds of one worker
    open_files: int = 256
    file_size_mb: int = 64  # largest file the worker may write, its captured output included


def mode() -> str:
    """Name of the isolation in force, reported with every grade."""
    return "process"


MODE_NOTE = {
    "process": "separate process with resource limits; no filesystem or network isolation (bubblewrap not in use)",
}


def worker_command(submission: Path, answer_fd: int, scratch: Path, limits: Limits) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that start a worker answering on `answer_fd`."""
    argv = [sys.executable, "-I", "-m", "autograder.worker", str(answer_fd), json.dumps(asdict(limits))]
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "Agg",
    }
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if name in os.environ:
            env[name] = os.environ[name]
    return argv, env


def apply_limits(limits: dict) -> None:
    """Called by the worker on itself, before it imports student code."""
    import resource

    mib = 2**20
    for what, value in (
        (resource.RLIMIT_AS, limits["memory_mb"] * mib),
        (resource.RLIMIT_CPU, limits["cpu_s"]),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_FSIZE, limits["file_size_mb"] * mib),
        (resource.RLIMIT_CORE, 0),
    ):
        soft, hard = resource.getrlimit(what)
        cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(what, (cap, cap))


def python_pid(launcher_pid: int) -> int:
    """The pid of the worker's Python process (the launcher itself in process mode)."""
    return launcher_pid
