"""A Jupyter kernel that runs inside the grader's sandbox, for nbgrader's `autograde`.

nbgrader executes a student's notebook in a Jupyter kernel on the instructor's machine; with the
stock `python3` kernel that is the student's code running unconfined, with the instructor's uid.
The `adl-sandbox` kernel runs the same ipykernel inside the sandbox of `autograder/sandbox.py`:

    install()                           writes the kernelspec into <sys.prefix>/share/jupyter/kernels
    python -m notebooks.kernel -f CONN  the launcher that jupyter_client starts (the kernelspec's argv)
    describe()                          which isolation is in force, for logs and feedback

Clients must use the `ipc` transport (ZeroMQ over Unix sockets): the kernel has its own network
namespace, so TCP between client and kernel cannot work. With nbclient or nbgrader:

    c = Config(); c.KernelManager.transport = "ipc"
    NotebookClient(nb, kernel_name="adl-sandbox", config=c)

What the launcher builds (bwrap mode):

* the allow-list view of `sandbox.worker_command` (interpreter, virtual environment, `autograder`
  package read-only; private size-limited /tmp; fresh /proc and /dev; no network, own PID, IPC and
  UTS namespaces; seccomp filter that allows only AF_UNIX sockets; uid nobody via setpriv as root);
* a private folder for the ZeroMQ sockets and a copy of the connection file, seen inside at
  /run/adl-kernel. The client's own runtime folder is never shown: it holds the connection files
  (keys included) of every other kernel of this user, unconfined ones too. The client finds the
  sockets through symlinks at the paths its connection file names;
* the kernel's working directory (nbclient starts the kernel in the notebook's folder) as a
  private copy, shown at the same path: see `_stage_cwd`;
* rlimits (`sandbox.apply_limits`, CPU time generous for notebooks that train a small model) and,
  where the machine offers them, the cgroup memory and process caps of `sandbox.Cgroup`.

In `process` mode (no bubblewrap) the kernel runs directly, with the rlimits, cgroup caps and a
scrubbed environment, but without isolation; the launcher says so on stderr.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from autograder import sandbox

KERNEL_NAME = "adl-sandbox"
DISPLAY_NAME = "Python 3 (adl sandbox)"
# The grader's defaults, but CPU time for a seminar notebook that trains a small model.
KERNEL_LIMITS = sandbox.Limits(cpu_s=1800)
INSIDE_IPC = "/run/adl-kernel"  # where the kernel sees its socket folder
PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
BIG_FILE = 16 * 2**20  # larger files of the notebook folder are shown read-only, not copied
MAX_CWD_FILES = 5000
CGROUP_PREFIX = "adl-kernel"
TCP_MESSAGE = (
    "adl-sandbox kernel: the connection file asks for transport {transport!r}, but the sandboxed "
    "kernel has no network, so only ZeroMQ over Unix sockets works. Set "
    'c.KernelManager.transport = "ipc" in the client\'s config (nbgrader_config.py for nbgrader; '
    "a traitlets Config passed to nbclient's NotebookClient(..., config=c)).")


# ------------------------------------------------------------------------------ kernelspec

def kernel_spec() -> dict:
    # -I: the launcher runs unconfined with the client's uid, in the notebook's folder; without
    # it `-m` would put that folder first on sys.path, and a student's `notebooks/` or
    # `autograder/` package there would be imported by the launcher instead of ours.
    return {
        "argv": [sys.executable, "-I", "-m", "notebooks.kernel", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {"debugger": False, "adl": {"sandbox": True}},
    }


def install(prefix: str | Path = sys.prefix) -> Path:
    """Write the kernelspec under `<prefix>/share/jupyter/kernels/adl-sandbox/` (idempotent)."""
    folder = Path(prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kernel.json"
    text = json.dumps(kernel_spec(), indent=1) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def describe() -> str:
    """Which isolation the kernel gets on this machine."""
    name = sandbox.mode()
    limits = KERNEL_LIMITS
    cg = sandbox.Cgroup(limits, CGROUP_PREFIX)
    caps = f"cgroup {cg.version} caps" if cg.active else "no cgroup caps (not writable here)"
    cg.remove()
    where = ("notebook folder as a private copy, ipc sockets only" if name == "bwrap"
             else "notebook folder and everything else of this user visible")
    return (f"{KERNEL_NAME} kernel, {sandbox.describe(name)}; {where}; rlimits: "
            f"{limits.memory_mb} MB, {limits.cpu_s} s CPU, {limits.file_size_mb} MB files, "
            f"{limits.open_files} open files; {caps}")


# ------------------------------------------------------------------------------ launcher

# What runs inside the sandbox instead of `python -m ipykernel_launcher`. ipykernel forwards the
# output of forked subprocesses (multiprocessing) through a ZeroMQ pipe on tcp://127.0.0.1; the
# seccomp filter refuses AF_INET sockets, and ZeroMQ aborts the whole kernel on that refusal. The
# pipe goes over a Unix socket in the private /tmp instead (nothing else of ipykernel uses TCP
# with the ipc transport, the debugger excepted: the kernelspec turns it off).
BOOT = """
import os, sys
if sys.path and sys.path[0] == "":
    del sys.path[0]
import zmq
from ipykernel import iostream

def _setup_pipe_in(self):
    from zmq.eventloop.zmqstream import ZMQStream
    self._pipe_uuid = os.urandom(16)
    pipe_in = self.socket.context.socket(zmq.PULL)
    pipe_in.linger = 0
    self._pipe_port = "/tmp/.iopub-pipe-%d-%s" % (os.getpid(), os.urandom(4).hex())
    pipe_in.bind("ipc://" + self._pipe_port)
    self._pipe_in = ZMQStream(pipe_in, self.io_loop)
    self._pipe_in.on_recv(self._handle_pipe_msg)

def _setup_pipe_out(self):
    ctx = zmq.Context()
    pipe_out = ctx.socket(zmq.PUSH)
    pipe_out.linger = 3000
    pipe_out.connect("ipc://" + self._pipe_port)
    return ctx, pipe_out

if hasattr(iostream.IOPubThread, "_setup_pipe_in") and hasattr(iostream.IOPubThread, "_setup_pipe_out"):
    iostream.IOPubThread._setup_pipe_in = _setup_pipe_in
    iostream.IOPubThread._setup_pipe_out = _setup_pipe_out
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


def _caps(limits: sandbox.Limits) -> dict:
    return {**asdict(limits), "address_space": not sandbox.gpu_visible()}


def _kernel_env(scratch: str) -> dict[str, str]:
    env = sandbox.worker_env(scratch)
    # ipykernel picks the inline backend when MPLBACKEND is unset; Agg would break %matplotlib inline
    env.pop("MPLBACKEND", None)
    env.pop("MALLOC_MMAP_THRESHOLD_", None)  # a grader's measurement aid, slow for a kernel
    env.update(HOME=scratch, MPLCONFIGDIR=scratch, TMPDIR=scratch, PYTHONUNBUFFERED="1")
    return env


def _preexec(caps: dict):
    libc = ctypes.CDLL(None, use_errno=True)

    def run() -> None:
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: dies with the launcher
        sandbox.apply_limits(caps)  # inherited through bwrap and setpriv, cannot be raised

    return run


def _resolve_ip(ip: str) -> str:
    """An ipc `ip` relative to the client's cwd (jupyter_client's `kernel-ipc`), made absolute."""
    if os.path.isabs(ip):
        return ip
    try:
        base = os.readlink(f"/proc/{os.getppid()}/cwd")  # the client that started us
    except OSError:
        base = os.getcwd()
    return os.path.join(base, ip)


def _guard_cwd(cwd: Path) -> str | None:
    """Why the notebook folder must not be shown to the kernel, or None."""
    repo = sandbox.PACKAGE_DIR.parent
    for sensitive in (repo, Path.home(), Path(sys.prefix).resolve()):
        if sensitive == cwd or cwd in sensitive.parents:
            return f"it contains {sensitive}"
    if (cwd / "nbgrader_config.py").exists():
        return "it is an nbgrader course folder (source/ holds the solutions)"
    return None


def _stage_cwd(cwd: Path, scratch: Path, owner: int | None) -> list[str]:
    """Copy the notebook folder into `scratch`; bwrap arguments that show it at `cwd`.

    Why a private copy, not a bind of the folder itself: the kernel (uid nobody) must read the
    student's files and may write (otter-grader's .OTTER_LOG, files the notebook saves, even
    overwriting a file it shipped), but the folder on the host stays as nbgrader made it —
    owners, modes and contents — whatever the student's code does, and no permission of a host
    folder is widened. What the kernel writes is discarded with the copy. Symlinks are copied
    as symlinks: inside they resolve in the sandbox's view, so a link to the course's solutions
    finds nothing. Files over BIG_FILE (data sets) that everyone may read are bound read-only
    instead of copied; other special files are left out.
    """
    binds: list[str] = []
    count = 0
    for root, dirs, files in os.walk(cwd):
        rel = Path(root).relative_to(cwd)
        for name in dirs + files:
            count += 1
            if count > MAX_CWD_FILES:
                raise SystemExit(f"adl-sandbox kernel: the notebook folder {cwd} has more than "
                                 f"{MAX_CWD_FILES} entries; run the notebook from its own folder")
            src, dst = Path(root) / name, scratch / rel / name
            info = src.lstat()
            if stat.S_ISLNK(info.st_mode):
                os.symlink(os.readlink(src), dst)
            elif stat.S_ISDIR(info.st_mode):
                dst.mkdir()
            elif stat.S_ISREG(info.st_mode):
                if info.st_size > BIG_FILE and info.st_mode & stat.S_IROTH:
                    binds += ["--ro-bind", str(src), str(cwd / rel / name)]
                    dst.touch()
                else:
                    shutil.copy2(src, dst, follow_symlinks=False)
        dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]
    if owner is not None:
        for root, dirs, files in os.walk(scratch):
            for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                os.lchown(name, owner, owner)
    return ["--bind", str(scratch), str(cwd), *binds]


def _sandbox_prefix(work: Path, seccomp_fd: int | None) -> tuple[list[str], list[str]]:
    """The bwrap arguments of the grader's allow-list view, and the uid drop (setpriv ...),
    taken from `sandbox.worker_command` so that both sandboxes stay one."""
    marker = work / "submission"
    argv, _, inside = sandbox.worker_command(marker, 3, work, KERNEL_LIMITS, "bwrap", seccomp_fd)
    at = next((i for i in range(len(argv) - 2)
               if argv[i:i + 3] == ["--ro-bind", str(marker), inside]), None)
    sep = argv.index("--") if "--" in argv else None
    python = argv.index(sys.executable, sep) if sep is not None and sys.executable in argv[sep:] else None
    if at is None or python is None:
        raise RuntimeError("autograder.sandbox.worker_command changed its layout; update notebooks/kernel.py")
    return argv[:at], argv[sep + 1:python]


def _parents(path: Path, view: list[str]) -> list[str]:
    """bwrap arguments making the folders above `path` that the view lacks, traversable by the
    kernel's uid (bwrap would make them 0700 and root's)."""
    made = {view[i + 1] for i, arg in enumerate(view[:-1]) if arg in ("--dir", "--tmpfs", "--proc", "--dev")}
    made |= {view[i + 2] for i, arg in enumerate(view[:-2]) if arg in ("--ro-bind", "--bind", "--symlink")}
    out = []
    for parent in reversed(path.parents):
        if str(parent) != "/" and str(parent) not in made:
            out += ["--perms", "0755", "--dir", str(parent)]
    return out


def _kernel_pids(proc: subprocess.Popen, name: str) -> list[int]:
    if name == "process":
        return [proc.pid]
    found = []
    for pid in sandbox.descendants(proc.pid):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd[1:3] == [b"-c", BOOT.encode()]:  # the kernel's Python, after setpriv's exec
            found.append(pid)
    return found


def sweep(min_age_s: float = 60) -> int:
    """Remove what launchers killed with SIGKILL (jupyter_client's last resort at shutdown) left:
    their scratch folders, and their cgroups once empty. Returns how many were removed."""
    removed, now = 0, time.time()
    for work in Path(tempfile.gettempdir()).glob("adl-kernel-*"):
        try:
            pid = int((work / "launcher.pid").read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"notebooks.kernel" in cmdline:
                continue  # its launcher still runs
        except (OSError, ValueError):
            try:
                if now - work.stat().st_mtime < min_age_s:
                    continue  # a launcher that is still starting
            except OSError:
                continue
        shutil.rmtree(work, ignore_errors=True)
        removed += 1
    v1 = sandbox.Cgroup.V1
    for group in [*v1.glob(f"memory/{CGROUP_PREFIX}-*"), *v1.glob(f"pids/{CGROUP_PREFIX}-*"),
                  *v1.glob(f"{CGROUP_PREFIX}-*")]:
        try:
            if now - group.stat().st_mtime >= max(min_age_s, 10):  # a new one is empty until joined
                group.rmdir()  # refused while a process is inside
                removed += 1
        except OSError:
            pass
    return removed


def launch(connection_file: str) -> int:
    info = json.loads(Path(connection_file).read_text())
    if info.get("transport", "tcp") != "ipc":
        print(TCP_MESSAGE.format(transport=info.get("transport", "tcp")), file=sys.stderr)
        return 2
    name = sandbox.mode()
    cwd = Path.cwd().resolve()
    sweep()
    work = Path(tempfile.mkdtemp(prefix="adl-kernel-"))
    (work / "launcher.pid").write_text(str(os.getpid()))
    links: list[str] = []
    cgroup = None
    proc = None
    seccomp_fd = None
    try:
        caps = _caps(KERNEL_LIMITS)
        if name == "process":
            print("adl-sandbox kernel: WARNING, process mode (no bubblewrap, or ADL_SANDBOX=process): "
                  "the kernel runs with resource limits only, NOT isolated (it sees your files, network and processes)",
                  file=sys.stderr, flush=True)
            # the kernel starts in the notebook's folder: a relative ipc path must be the client's
            conn = work / "connection.json"
            conn.write_text(json.dumps(dict(info, ip=_resolve_ip(info["ip"]))))
            conn.chmod(0o600)
            argv = [sys.executable, "-m", "ipykernel_launcher", "-f", str(conn)]
            env = {**_kernel_env(str(work)), "JPY_PARENT_PID": str(os.getpid())}  # exits if we die
            fds: tuple[int, ...] = ()
        else:
            why = _guard_cwd(cwd)
            if why:
                print(f"adl-sandbox kernel: refusing to show the folder {cwd} to student code: {why}. "
                      "Run the notebook from its own folder (nbgrader's autograded copy).", file=sys.stderr)
                return 2
            root = os.geteuid() == 0
            owner = sandbox.NOBODY if root else None
            ipc = work / "ipc"
            ipc.mkdir(mode=0o700)
            inner = dict(info, ip=f"{INSIDE_IPC}/k")
            (ipc / "connection.json").write_text(json.dumps(inner))
            (ipc / "connection.json").chmod(0o600)
            staged = work / "cwd"
            staged.mkdir()
            binds = _stage_cwd(cwd, staged, owner)
            if owner is not None:
                for path in (ipc, ipc / "connection.json"):
                    os.chown(path, owner, owner)
                os.chown(staged, owner, owner)
            host_ip = _resolve_ip(info["ip"])
            for key in PORTS:
                link = f"{host_ip}-{info[key]}"
                if os.path.lexists(link):
                    os.remove(link)
                os.symlink(ipc / f"k-{info[key]}", link)
                links.append(link)
            seccomp_fd = sandbox.seccomp_filter(work)
            view, drop = _sandbox_prefix(work, seccomp_fd)
            argv = [*view, "--perms", "0755", "--dir", str(Path(INSIDE_IPC).parent),
                    "--bind", str(ipc), INSIDE_IPC, *_parents(cwd, view), *binds,
                    "--chdir", str(cwd), "--clearenv"]
            if os.path.isdir("/etc/fonts"):  # fontconfig's settings, for matplotlib's font search
                # bwrap made /etc 0700 for the view's /etc/ld.so.cache: let uid nobody through
                etc_made = any(a.startswith("/etc/") for a in view)
                argv += [*(["--chmod", "0755", "/etc"] if etc_made else ["--perms", "0755", "--dir", "/etc"]),
                         "--ro-bind", "/etc/fonts", "/etc/fonts"]
            # JPY_PARENT_PID=1: the kernel's parent is bwrap's init; ipykernel then neither polls it
            # nor prints its "connect another client" banner on the client's terminal
            for key, value in {**_kernel_env("/tmp"), "JPY_PARENT_PID": "1"}.items():
                argv += ["--setenv", key, value]
            argv += ["--", *drop, sys.executable, "-c", BOOT, "-f", f"{INSIDE_IPC}/connection.json"]
            env = {"PATH": "/usr/bin:/bin"}
            fds = (seccomp_fd,) if seccomp_fd is not None else ()
        cgroup = sandbox.Cgroup(KERNEL_LIMITS, CGROUP_PREFIX)
        argv = cgroup.wrap(argv)
        # A session of its own: jupyter_client signals our process group, and bwrap must not get
        # a SIGINT meant for the kernel; we forward it to the kernel's Python process instead.
        proc = subprocess.Popen(argv, env=env, cwd=str(cwd), pass_fds=fds, start_new_session=True,
                                preexec_fn=_preexec(caps))
        if seccomp_fd is not None:
            os.close(seccomp_fd)
            seccomp_fd = None

        def forward(signum, frame):
            for pid in _kernel_pids(proc, name):
                try:
                    os.kill(pid, signum)
                except OSError:
                    pass

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(signum, forward)
        rc = proc.wait()
        return 128 - rc if rc < 0 else rc
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if cgroup is not None:
            cgroup.kill()
            cgroup.remove()
        if seccomp_fd is not None:
            os.close(seccomp_fd)
        for link in links:
            try:
                if os.path.islink(link) and os.readlink(link).startswith(str(work)):
                    os.remove(link)
            except OSError:
                pass
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m notebooks.kernel", description=__doc__.split("\n\n")[0])
    parser.add_argument("-f", dest="connection_file", required=True, help="the kernel's connection file")
    args = parser.parse_args(argv)
    return launch(args.connection_file)


if __name__ == "__main__":
    sys.exit(main())
