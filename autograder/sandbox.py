"""How a worker process is started, and how much it is confined.

Two modes, chosen automatically (or forced with ADL_SANDBOX=process|bwrap) and reported with
every grade:

* `bwrap` — bubblewrap builds an allow-list mount view: the interpreter, the virtual
  environment and the `autograder` package read-only, the submission read-only at
  `/submission`, a private size-limited `/tmp`, fresh `/proc` and `/dev`; new PID, network,
  IPC and UTS namespaces (no network at all). As root the worker then drops to the
  unprivileged uid `nobody` with no capabilities and `no_new_privs` (a user namespace alone
  would map back to root). Where the machine offers cgroups (v1 here; v2 on systemd hosts)
  the whole worker tree gets a memory cap and a process cap, which per-process rlimits cannot
  give; killing the worker kills its PID namespace, so nothing it started survives.
* `process` — where bubblewrap is missing (a laptop, macOS): a separate process with a
  scrubbed environment, a private scratch folder, rlimits and, where the machine offers them,
  the same cgroup caps. Student code still cannot touch the verdict through the call protocol,
  but it runs with the grader's uid: it sees the file system, the network and the grader's
  processes (see tests/test_attacks.py for what this mode does not stop).

In both modes the worker applies rlimits (address space, CPU time, open files, file size,
no core dumps) to itself before any student code runs; they cannot be raised again.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import autograder

NOBODY = 65534
SANDBOX_SUBMISSION = "/submission"
PACKAGE_DIR = Path(autograder.__file__).resolve().parent


@dataclass(frozen=True)
class Limits:
    """Per-worker resource limits (the manifest's [limits] may override them)."""

    memory_mb: int = 6144  # whole worker tree (cgroup) and address space per process (rlimit)
    cpu_s: int = 900  # CPU seconds of one worker process
    open_files: int = 256
    file_size_mb: int = 64  # largest file the worker may write, its captured output included
    processes: int = 256  # tasks (threads count) in the worker's cgroup
    tmp_mb: int = 256  # size of the private /tmp (bwrap mode)


MODE_NOTE = {
    "bwrap": "bubblewrap: read-only allow-list file system, no network, own PID namespace, uid nobody, "
             "seccomp filter, cgroup memory and process caps where available",
    "process": "WEAKER MODE, bubblewrap not available: a separate process with resource limits "
               "(cgroup caps where available), but no file-system or network isolation",
}


@functools.cache
def _bwrap_works() -> bool:
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    try:
        probe = subprocess.run([exe, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "true"],
                               capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def mode() -> str:
    """The isolation in force: `bwrap` or `process`."""
    forced = os.environ.get("ADL_SANDBOX")
    if forced in ("bwrap", "process"):
        if forced == "bwrap" and not _bwrap_works():
            raise RuntimeError("ADL_SANDBOX=bwrap, but bubblewrap is missing or cannot start here")
        return forced
    return "bwrap" if _bwrap_works() else "process"


def describe(name: str) -> str:
    return f"{name}: {MODE_NOTE[name]}"


def worker_env(scratch: str) -> dict[str, str]:
    # A fixed mmap threshold makes every large allocation a fresh mapping, so the peak-memory
    # reading of a call is not hidden by heap memory that earlier calls freed.
    env = {"PATH": "/usr/bin:/bin", "HOME": scratch, "TMPDIR": scratch, "LANG": "C.UTF-8",
           "MALLOC_MMAP_THRESHOLD_": "131072",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


# System calls a grading worker never needs; denied with EPERM by a seccomp filter that
# bubblewrap installs (inet sockets get EAFNOSUPPORT: only Unix sockets, which torch uses).
DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot",
    "unshare", "setns", "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
    "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "init_module", "finit_module",
    "delete_module", "acct", "quotactl", "personality",
)


def seccomp_filter(scratch: Path) -> int | None:
    """Write the BPF program of the filter and return an open fd to it (None without pyseccomp)."""
    try:
        import errno

        import pyseccomp as sc
    except (ImportError, OSError):
        return None
    rules = sc.SyscallFilter(sc.ALLOW)
    for name in DENIED_SYSCALLS:
        try:
            rules.add_rule(sc.ERRNO(errno.EPERM), name)
        except (ValueError, RuntimeError):  # a syscall this architecture lacks
            pass
    rules.add_rule(sc.ERRNO(errno.EAFNOSUPPORT), "socket", sc.Arg(0, sc.NE, 1))  # 1 = AF_UNIX
    path = Path(scratch) / "seccomp.bpf"
    with open(path, "wb") as out:
        rules.export_bpf(out)
    return os.open(path, os.O_RDONLY)


def worker_command(submission: Path, answer_fd: int, scratch: Path, limits: Limits,
                   name: str = "process", seccomp_fd: int | None = None) -> tuple[list[str], dict[str, str], str]:
    """argv, environment and in-worker submission path for a worker answering on `answer_fd`."""
    # CUDA maps tens of GB of address space when it starts, so where a GPU is visible the
    # worker's memory is capped by the cgroup alone (bwrap mode), not by RLIMIT_AS.
    caps = {**asdict(limits), "address_space": not gpu_visible()}
    python = [sys.executable, "-I", "-m", "autograder.worker", str(answer_fd), json.dumps(caps)]
    if name == "process":
        return python, worker_env(str(scratch)), str(submission)
    env = worker_env("/tmp")
    argv = [shutil.which("bwrap"), *(["--seccomp", str(seccomp_fd)] if seccomp_fd is not None else []),
            "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox",
            "--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", str(limits.tmp_mb * 2**20), "--tmpfs", "/tmp"]
    for device in sorted(Path("/dev").glob("nvidia*")):  # GPU speed tests (none on most graders)
        argv += ["--dev-bind", str(device), str(device)]
    for top in ("usr", "bin", "sbin", "lib", "lib32", "lib64"):
        host = Path("/") / top
        if host.is_symlink():
            argv += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            argv += ["--ro-bind", str(host), str(host)]
    for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
        if os.path.exists(etc):
            argv += ["--ro-bind", etc, etc]
    made: set[str] = {"/", "/usr", "/bin", "/lib", "/lib64", "/sbin", "/tmp", "/proc", "/dev"}
    for path in _python_paths():
        for parent in reversed(Path(path).parents):
            if str(parent) not in made:
                argv += ["--perms", "0755", "--dir", str(parent)]  # not the host's 0700 /root
                made.add(str(parent))
        argv += ["--ro-bind", path, path]
        made.add(path)
    argv += ["--ro-bind", str(submission), SANDBOX_SUBMISSION, "--chdir", "/tmp", "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv.append("--")
    if os.geteuid() == 0:
        argv += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    return argv + python, {"PATH": "/usr/bin:/bin"}, SANDBOX_SUBMISSION


def gpu_visible() -> bool:
    """Whether an NVIDIA device node exists (the worker may start CUDA)."""
    return os.path.exists("/dev/nvidiactl") or any(Path("/dev").glob("nvidia[0-9]*"))


def _python_paths() -> list[str]:
    """What the worker's interpreter needs to see: its installation, the virtual environment,
    and the autograder package (not the repository around it: no solutions, no hidden tests)."""
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), str(PACKAGE_DIR)}
    exe_dir = os.path.dirname(os.path.realpath(sys.executable))
    if not any(exe_dir.startswith(p + "/") for p in paths):
        paths.add(exe_dir)
    # drop paths inside other listed paths, and system paths already bound
    keep = sorted(p for p in paths if not p.startswith("/usr/"))
    return [p for p in keep if not any(p != q and p.startswith(q + "/") for q in keep)]


def apply_limits(limits: dict) -> None:
    """Called by the worker on itself, before it imports student code."""
    import resource

    mib = 2**20
    caps = [(resource.RLIMIT_AS, limits["memory_mb"] * mib)] if limits.get("address_space", True) else []
    for what, value in (
        *caps,
        (resource.RLIMIT_CPU, limits["cpu_s"]),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_FSIZE, limits["file_size_mb"] * mib),
        (resource.RLIMIT_CORE, 0),
    ):
        soft, hard = resource.getrlimit(what)
        cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(what, (cap, cap))


def descendants(pid: int) -> list[int]:
    """All processes below `pid` (Linux /proc), breadth first."""
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop(0)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found.append(child)
            frontier.append(child)
    return found


def python_pid(launcher_pid: int) -> int:
    """The pid (in our namespace) of the worker's Python process below its launcher."""
    for pid in [launcher_pid, *descendants(launcher_pid)]:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"autograder.worker" in cmdline and b"bwrap" not in cmdline.split(b"\0")[0]:
            return pid
    return launcher_pid


# ------------------------------------------------------------------------------ cgroups

class Cgroup:
    """A memory and process cap for one worker tree, in cgroup v1 or v2; a no-op where neither
    is writable. `wrap(argv)` makes the worker join it before bubblewrap starts, so every
    process it ever forks is inside; `kill()` ends them all, double-forked daemons included."""

    V1 = Path("/sys/fs/cgroup")

    def __init__(self, limits: Limits, prefix: str = "adl"):
        self.dirs: list[Path] = []
        self.version = None
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        try:
            if (self.V1 / "memory").is_dir() and (self.V1 / "pids").is_dir():
                memory, pids = self.V1 / "memory" / name, self.V1 / "pids" / name
                memory.mkdir()
                self.dirs.append(memory)
                pids.mkdir()
                self.dirs.append(pids)
                (memory / "memory.limit_in_bytes").write_text(str(limits.memory_mb * 2**20))
                (pids / "pids.max").write_text(str(limits.processes))
                self.version = "v1"
            elif {"memory", "pids"} <= set((self.V1 / "cgroup.subtree_control").read_text().split()):
                group = self.V1 / name
                group.mkdir()
                self.dirs.append(group)
                (group / "memory.max").write_text(str(limits.memory_mb * 2**20))
                (group / "memory.swap.max").write_text("0")
                (group / "pids.max").write_text(str(limits.processes))
                self.version = "v2"
        except OSError:
            self.remove()
            self.dirs, self.version = [], None

    @property
    def active(self) -> bool:
        return self.version is not None

    def wrap(self, argv: list[str]) -> list[str]:
        if not self.active:
            return argv
        joins = " && ".join(f'echo $$ > "{d}/cgroup.procs"' for d in self.dirs)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "adl-worker", *argv]

    def pids(self) -> list[int]:
        found = set()
        for d in self.dirs:
            try:
                found |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return sorted(found)

    def kill(self) -> None:
        import signal

        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            if self.version == "v2":
                try:
                    (self.dirs[0] / "cgroup.kill").write_text("1")
                except OSError:
                    pass
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            import time

            time.sleep(0.02)

    def oom_killed(self) -> bool:
        """Whether the memory cap was hit (v1: failcnt; v2: oom_kill events)."""
        for d in self.dirs:
            try:
                if self.version == "v1" and d.parent.name == "memory":
                    return int((d / "memory.failcnt").read_text()) > 0
                if self.version == "v2":
                    events = dict(line.split() for line in (d / "memory.events").read_text().splitlines())
                    return int(events.get("oom_kill", 0)) > 0
            except (OSError, ValueError):
                pass
        return False

    def remove(self) -> None:
        for d in self.dirs:
            try:
                d.rmdir()
            except OSError:
                pass

    @classmethod
    def remove_all(cls, prefix: str) -> None:
        """Kill everything in, and remove, the cgroups named `<prefix>-*`: what the workers of one
        grading run left, should the process that started them have died before stopping them."""
        found: dict[str, list[Path]] = {}
        for group in [*cls.V1.glob(f"memory/{prefix}-*"), *cls.V1.glob(f"pids/{prefix}-*"), *cls.V1.glob(f"{prefix}-*")]:
            found.setdefault(group.name, []).append(group)
        for dirs in found.values():
            leftover = cls.__new__(cls)
            leftover.dirs = dirs
            leftover.version = "v2" if dirs[0].parent == cls.V1 else "v1"
            leftover.kill()
            leftover.remove()
