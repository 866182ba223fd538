"""The measurement behind speed and memory tests, done by the trusted side.

Both the student's code and the reference run in sandboxed workers started the same way, so
they pay the same process, sandbox and protocol costs. For each repeat the trusted side draws
fresh inputs (so a cache of earlier answers is useless), sends the same inputs to both sides
and times each side's round trips with its own clock. The order alternates between repeats,
and while one side runs the other worker is frozen (SIGSTOP on every process it has), so
neither side can slow the other down (a student's background thread spinning while the
reference is timed, say). The ratio of one repeat compares the two sides on the same inputs
a moment apart; the verdict compares each side's fastest repeat (time) or the median repeat
(memory), which a burst of load on a shared machine does not move.

Time. One repeat on one side is three round trips: `hold` (send the inputs; they stay in the
worker), `call` (the timed call on the held inputs; the result stays in the worker) and
`fetch` (the result comes back and is checked). The call's round trip is the time; the
inputs' and the result's transfers (the same size on both sides) are kept out of it, so that
large tensors do not dilute the ratio. The worker runs student code and cannot be trusted to
keep to those phases (student code could patch it to start work when the inputs arrive, or to
return a lazy result), so the student is charged for the CPU time their worker spends in the
transfers beyond what the reference's worker spends on the same inputs (median over repeats):

    ratio = min over repeats of (call_s + excess) / min over repeats of call_r,
    excess = max(0, median(transfer CPU_s) - median(transfer CPU_r))

CPU time (read by this process from /proc, per thread, in nanoseconds) rather than wall time,
because on a loaded machine the wall time of moving megabytes through a pipe swings by more
than a whole call; the CPU time it needs does not. For honest code the excess is about zero;
work moved out of the call shows up in it in full.

Memory. The extra resident memory of the whole round trip (inputs arriving, the call, the
result leaving), read by this process from /proc (`autograder.memory`): the high-water mark
after the call minus the lowest resident size seen from the start (sampled every millisecond,
so memory freed during the call cannot hide a peak); where the worker has a cgroup v1, the
larger of that and the whole worker tree's peak, so work done in a child process counts too. On a GPU, the worker's allocator peak
(`torch.cuda.max_memory_allocated`), which student code could tamper with: CPU memory is the
trusted measurement.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from autograder import memory, remote, sandbox

MEMORY_FLOOR = 2**20  # bytes: below a MiB of extra memory, differences are allocator noise


@dataclass
class Sample:
    """One paired repeat: the student's and the reference's charged cost, and their ratio."""

    student: float  # seconds, or bytes for memory
    reference: float
    ratio: float
    info: dict = field(default_factory=dict)  # e.g. raw phase times, CUDA event times


@dataclass
class Measurement:
    kind: str  # time | memory
    samples: list[Sample]

    # Time: each side's fastest repeat. Load on a shared machine only ever adds time (a call
    # preempted once by another process takes twice as long), so the fastest of several repeats
    # is the best estimate of what the code itself costs, as `timeit` reports. The median of
    # paired ratios was used before; in CI's validation (two gradings at once on two cores) it
    # failed the reference against itself once (over 2.5x). Memory: the median (it barely varies).
    @property
    def ratio(self) -> float:
        if self.kind == "time":
            return self.student / self.reference
        return statistics.median(s.ratio for s in self.samples)

    @property
    def student(self) -> float:
        pick = min if self.kind == "time" else statistics.median
        return pick(s.student for s in self.samples)

    @property
    def reference(self) -> float:
        pick = min if self.kind == "time" else statistics.median
        return pick(s.reference for s in self.samples)

    def summary(self) -> dict:
        return {"kind": self.kind, "ratio": self.ratio, "student": self.student, "reference": self.reference,
                "ratios": [round(s.ratio, 4) for s in self.samples]}


# ---------------------------------------------------------------------------- freezing

def _processes(worker: remote.Worker) -> set[int]:
    if worker.proc is None or worker.proc.poll() is not None:
        return set()
    found = {worker.proc.pid, *sandbox.descendants(worker.proc.pid)}
    if worker.cgroup is not None and worker.cgroup.active:
        found |= set(worker.cgroup.pids())  # daemons that left the process tree are still here
    found.discard(os.getpid())
    return found


def _running_threads(pids: set[int]) -> int:
    """How many threads of `pids` are not (yet) stopped."""
    count = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            count += state not in ("T", "t", "Z", "X")
    return count


def _wait_until_stopped(pids: set[int], limit_s: float = 5.0) -> None:
    """SIGSTOP takes effect when each thread is next scheduled (on a loaded machine, not at
    once): wait until every thread is stopped, so none runs while the other side is measured."""
    deadline = time.monotonic() + limit_s
    while _running_threads(pids) and time.monotonic() < deadline:
        time.sleep(0.0005)


@contextlib.contextmanager
def frozen(worker: remote.Worker | None):
    """Stop every process of `worker` for the duration (it must not compete for the CPU while
    the other side is measured); continue them afterwards, whatever happens."""
    stopped: set[int] = set()
    try:
        if worker is not None:
            for _ in range(5):  # a process forked while we were stopping the others
                new = _processes(worker) - stopped
                if not new:
                    break
                for pid in new:
                    try:
                        os.kill(pid, signal.SIGSTOP)
                        stopped.add(pid)
                    except OSError:
                        pass
            _wait_until_stopped(stopped)
        yield
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass


# ---------------------------------------------------------------------------- one side

def _target_header(target: Any) -> tuple[dict, str]:
    if isinstance(target, str):
        return {"op": "call", "target": target}, f"{target}()"
    if isinstance(target, remote.RemoteHandle):
        target._check()
        return {"op": "call", "handle": target._id, "method": None}, "your object's __call__()"
    raise TypeError("a speed test's target is a function name or an object returned by `prepare`")


def _timed(worker: remote.Worker, header: dict, during: str, args: tuple = (), kwargs: dict | None = None):
    started = time.perf_counter()
    value = worker.request(header, during, args, kwargs)
    return value, time.perf_counter() - started


def cpu_seconds(worker: remote.Worker) -> float:
    """CPU time used so far by the worker's processes: every live thread's run time (ns, from
    /proc/PID/task/TID/schedstat), or the process's own tick count where that is larger (it
    keeps the time of threads that have ended)."""
    total = 0.0
    for pid in _processes(worker):
        live = 0.0
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    live += int(f.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            pass
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            ticks = 0.0
        total += max(live, ticks)
    return total


def time_call(worker: remote.Worker, target: Any, args: tuple, kwargs: dict, device: str = "cpu") -> tuple[Any, dict]:
    """(result, phases): the three round trips of one timed call (see the module docstring)."""
    header, during = _target_header(target)
    worker._ensure()  # started and loaded, so the CPU clock below reads the right processes
    cpu0 = cpu_seconds(worker)
    held, t_hold = _timed(worker, {"op": "hold"}, "sending the inputs", args, kwargs)
    cpu1 = cpu_seconds(worker)
    header = {**header, "spread": held._id, "hold": True, **({"device": device} if device != "cpu" else {})}
    result, t_call = _timed(worker, header, during)
    cuda_ms = worker.last_answer.get("cuda_ms")
    cpu2 = cpu_seconds(worker)
    value, t_fetch = _timed(worker, {"op": "fetch", "handle": result._id}, during)
    cpu3 = cpu_seconds(worker)
    worker.request({"op": "drop", "handles": [held._id, result._id]}, "freeing the inputs")
    phases = {"call": t_call, "transfer": t_hold + t_fetch, "transfer_cpu": (cpu1 - cpu0) + (cpu3 - cpu2),
              "call_cpu": cpu2 - cpu1}
    if isinstance(cuda_ms, (int, float)):
        phases["cuda_ms"] = float(cuda_ms)
    return value, phases


class _RssSampler:
    """The lowest resident size of `pid` while it runs (a thread reading /proc every millisecond)."""

    def __init__(self, pid: int):
        self.pid, self.lowest, self._stop = pid, None, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = memory._status_kib(self.pid, "VmRSS")
            if rss is not None and (self.lowest is None or rss * 1024 < self.lowest):
                self.lowest = rss * 1024
            self._stop.wait(0.001)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def peak_call(worker: remote.Worker, target: Any, args: tuple, kwargs: dict, device: str = "cpu") -> tuple[Any, int | None]:
    """(result, extra bytes) of one call's whole round trip; None where the OS cannot tell."""
    header, during = _target_header(target)
    if device != "cpu":
        value = worker.request({**header, "device": device}, during, args, kwargs)
        peak = worker.last_answer.get("cuda_peak_bytes")
        return value, (int(peak) if isinstance(peak, (int, float)) else None)
    worker._ensure()  # a restarted worker has a new pid
    pid = worker.pid
    before = memory.reset_peak(pid) if pid else None
    if before is None:
        return worker.request(header, during, args, kwargs), None
    group = _cgroup_peak_reset(worker)
    with _RssSampler(pid) as sampler:
        value = worker.request(header, during, args, kwargs)
    peak = memory.peak_since_reset(pid)
    if peak is None:
        return value, None
    lowest = before if sampler.lowest is None else min(before, sampler.lowest)
    extra = max(0, peak - lowest)
    if group is not None:  # processes the student started count too (the whole worker tree)
        folder, usage_before = group
        try:
            extra = max(extra, int((folder / "memory.max_usage_in_bytes").read_text()) - usage_before)
        except (OSError, ValueError):
            pass
    return value, extra


def _cgroup_peak_reset(worker: remote.Worker):
    """cgroup v1: reset the worker tree's memory high-water mark; (folder, usage now) or None."""
    cgroup = worker.cgroup
    if cgroup is None or cgroup.version != "v1":
        return None
    for folder in cgroup.dirs:
        if folder.parent.name == "memory":
            try:
                (folder / "memory.max_usage_in_bytes").write_text("0")
                return folder, int((folder / "memory.usage_in_bytes").read_text())
            except (OSError, ValueError):
                return None
    return None


# ---------------------------------------------------------------------------- both sides

def compare(kind: str, student: remote.Worker, reference: remote.Worker, targets: tuple[Any, Any],
            inputs: Callable[[int], tuple[tuple, dict]], check: Callable[[Any, Any, tuple, dict], None],
            repeats: int, warmup: int, device: str = "cpu") -> Measurement:
    """Paired, interleaved measurements of `targets` = (student's, reference's) on fresh inputs.

    `inputs(i)` gives the (args, kwargs) of repeat i (warm-up repeats included); `check(got, want,
    args, kwargs)` raises if the student's result is wrong (every repeat is checked, so a fast
    wrong answer fails). Warm-up repeats are run and checked but not measured."""
    samples, pairs = [], []
    for i in range(warmup + repeats):
        args, kwargs = inputs(i)
        order = [("student", student), ("reference", reference)]
        if i % 2:
            order.reverse()  # neither side always goes first (caches, frequency scaling)
        got: dict[str, tuple[Any, Any]] = {}
        for name, worker in order:
            other = reference if worker is student else student
            with frozen(other):
                if kind == "time":
                    got[name] = time_call(worker, targets[name == "reference"], args, kwargs, device)
                else:
                    got[name] = peak_call(worker, targets[name == "reference"], args, kwargs, device)
        check(got["student"][0], got["reference"][0], args, kwargs)
        if i < warmup:
            continue
        mine, theirs = got["student"][1], got["reference"][1]
        if kind == "time":
            pairs.append((mine, theirs))
        else:
            if mine is None or theirs is None:
                return Measurement(kind, [])
            samples.append(Sample(mine, theirs, max(mine, MEMORY_FLOOR) / max(theirs, MEMORY_FLOOR)))
    if kind == "time" and pairs:
        excess = max(0.0, statistics.median(m["transfer_cpu"] for m, _ in pairs)
                     - statistics.median(t["transfer_cpu"] for _, t in pairs))
        for mine, theirs in pairs:
            charged = mine["call"] + excess
            samples.append(Sample(charged, theirs["call"], charged / theirs["call"],
                                  {"student": mine, "reference": theirs, "excess": excess}))
    return Measurement(kind, samples)
