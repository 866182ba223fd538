"""The `adl-sandbox` Jupyter kernel (notebooks/kernel.py): notebooks run through nbclient over the
ipc transport, with the kernel inside the grader's sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets.config import Config

from autograder import sandbox
from conftest import ROOT
from notebooks import kernel

BWRAP = sandbox.mode() == "bwrap"
needs_bwrap = pytest.mark.skipif(not BWRAP, reason="bubblewrap is not available here")


@pytest.fixture
def jupyter(tmp_path, monkeypatch):
    """The kernelspec installed in a throwaway prefix that Jupyter searches; the client's cwd
    a tmp folder (jupyter_client's default ipc paths are relative to it)."""
    kernel.install(tmp_path / "prefix")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "prefix" / "share" / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "nb"
    folder.mkdir()
    (folder / "attention.py").write_text("ANSWER = 42\n")
    return folder


def run(folder: Path, *sources: str, allow_errors: bool = False, transport: str = "ipc") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    config = Config()
    config.KernelManager.transport = transport
    NotebookClient(nb, kernel_name=kernel.KERNEL_NAME, config=config, timeout=60, startup_timeout=60,
                   allow_errors=allow_errors, resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def text(cell) -> str:
    return "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")


def test_install_writes_a_kernelspec_jupyter_finds(tmp_path, monkeypatch):
    from jupyter_client.kernelspec import KernelSpecManager

    path = kernel.install(tmp_path)
    first = path.read_text()
    assert kernel.install(tmp_path) == path and path.read_text() == first  # idempotent
    assert path == tmp_path / "share/jupyter/kernels/adl-sandbox/kernel.json"
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share" / "jupyter"))
    spec = KernelSpecManager().get_kernel_spec("adl-sandbox")
    assert spec.display_name == "Python 3 (adl sandbox)"
    assert spec.argv[0] == sys.executable and spec.argv[-3:] == ["notebooks.kernel", "-f", "{connection_file}"]


def test_notebook_runs_with_outputs_imports_plots_and_limits(jupyter):
    nb = run(jupyter,
             "print('hello from', 6 * 7)",
             "import attention\nprint('answer', attention.ANSWER)",
             "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 3, 2]);",
             "open('written.txt', 'w').write('x'); print('read back', open('written.txt').read())",
             "import resource\nprint('cpu', resource.getrlimit(resource.RLIMIT_CPU)[0],"
             " 'files', resource.getrlimit(resource.RLIMIT_NOFILE)[0])")
    assert text(nb.cells[0]) == "hello from 42\n"
    assert text(nb.cells[1]) == "answer 42\n"
    assert any("image/png" in out.get("data", {}) for out in nb.cells[2].outputs)
    assert text(nb.cells[3]) == "read back x\n"
    assert text(nb.cells[4]) == f"cpu {kernel.KERNEL_LIMITS.cpu_s} files {kernel.KERNEL_LIMITS.open_files}\n"
    # bwrap: the kernel wrote into its private copy of the folder, not into the host's folder
    assert (jupyter / "written.txt").exists() is not BWRAP
    assert not list(Path.cwd().glob("kernel-ipc*")), "ipc links left behind"


def test_error_cell_raises_and_is_recorded(jupyter):
    with pytest.raises(CellExecutionError, match="ZeroDivisionError"):
        run(jupyter, "1 / 0")
    nb = run(jupyter, "raise ValueError('student bug')", "print('after')", allow_errors=True)
    errors = [out for out in nb.cells[0].outputs if out.output_type == "error"]
    assert errors and errors[0].ename == "ValueError" and errors[0].evalue == "student bug"
    assert text(nb.cells[1]) == "after\n"


@needs_bwrap
def test_kernel_is_confined(jupyter, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden test")
    (jupyter / "link.txt").symlink_to(secret)
    with open(jupyter / "data.bin", "wb") as big:  # over BIG_FILE: bound read-only, not copied
        big.truncate(kernel.BIG_FILE + 1)
    probe = """
import os, socket
def denied(action):
    try:
        action()
    except OSError as exc:
        return type(exc).__name__
    return "ALLOWED"
print("uid", os.getuid())
print("inet", denied(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)))
print("secret", denied(lambda: open(%r).read()))
print("link", denied(lambda: open("link.txt").read()))
print("data", len(open("data.bin", "rb").read()), denied(lambda: open("data.bin", "ab")))
print("solutions", denied(lambda: os.listdir(%r)))
cmds = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        cmds.append(open(f"/proc/{pid}/cmdline", "rb").read())
    except OSError:
        pass
print("host_visible", bytes.fromhex(%r) in cmds, "processes", len(cmds))
""" % (str(secret), str(ROOT / "solutions"), Path("/proc/self/cmdline").read_bytes().hex())
    child = ("import multiprocessing\ndef f():\n    print('from child', flush=True)\n"
             "p = multiprocessing.get_context('fork').Process(target=f)\np.start(); p.join()")
    nb = run(jupyter, probe, child)
    assert text(nb.cells[1]) == "from child\n"  # a forked child's output, through ipykernel's pipe
    lines = dict(line.split(" ", 1) for line in text(nb.cells[0]).splitlines())
    assert lines["uid"] == str(sandbox.NOBODY if os.geteuid() == 0 else os.getuid())
    assert lines["inet"] != "ALLOWED"
    assert lines["secret"] == "FileNotFoundError"
    assert lines["link"] == "FileNotFoundError"
    assert lines["solutions"] != "ALLOWED"
    size, write = lines["data"].split()
    assert int(size) == kernel.BIG_FILE + 1 and write in ("PermissionError", "OSError")  # read-only
    assert lines["host_visible"].startswith("False")
    assert int(lines["host_visible"].split()[-1]) < 10


@needs_bwrap
def test_interrupt_reaches_the_kernel_and_killing_the_launcher_kills_it(jupyter, tmp_path):
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=kernel.KERNEL_NAME, transport="ipc", ip=str(tmp_path / "k"))
    km.start_kernel(cwd=str(jupyter))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        kc.execute("import time\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    print('interrupted')")
        time.sleep(1)
        started = time.monotonic()
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=30)
        assert reply["content"]["status"] == "ok" and time.monotonic() - started < 20
        launcher = km.provisioner.process.pid
        inside = kernel._kernel_pids(km.provisioner.process, "bwrap")
        assert len(inside) == 1
        os.kill(launcher, signal.SIGKILL)
        for _ in range(100):
            if not Path(f"/proc/{inside[0]}").exists():
                break
            time.sleep(0.05)
        assert not Path(f"/proc/{inside[0]}").exists(), "the kernel outlived its launcher"
        left = [p for p in Path(tempfile.gettempdir()).glob("adl-kernel-*/launcher.pid")
                if p.read_text() == str(launcher)]
        assert len(left) == 1  # what the killed launcher could not remove ...
        kernel.sweep(min_age_s=0)
        assert not left[0].parent.exists()  # ... the next launcher's sweep does
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@needs_bwrap
def test_a_folder_holding_the_course_is_never_shown(tmp_path):
    conn = tmp_path / "conn.json"
    conn.write_text(json.dumps({"transport": "ipc", "ip": str(tmp_path / "k"), "key": "k",
                                **{port: n for n, port in enumerate(kernel.PORTS, 1)}}))
    done = subprocess.run([sys.executable, "-I", "-m", "notebooks.kernel", "-f", str(conn)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2 and "refusing to show the folder" in done.stderr
    assert not list(tmp_path.glob("k-*"))


def test_process_mode_runs_and_warns(jupyter, monkeypatch, capfd):
    monkeypatch.setenv("ADL_SANDBOX", "process")
    nb = run(jupyter, "import os, attention\nprint(os.getuid(), attention.ANSWER)")
    assert text(nb.cells[0]) == f"{os.getuid()} 42\n"
    assert "NOT isolated" in capfd.readouterr().err


def test_tcp_transport_is_refused_with_a_hint(tmp_path):
    conn = tmp_path / "conn.json"
    conn.write_text(json.dumps({"transport": "tcp", "ip": "127.0.0.1", "shell_port": 1, "key": "k"}))
    done = subprocess.run([sys.executable, "-I", "-m", "notebooks.kernel", "-f", str(conn)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert 'c.KernelManager.transport = "ipc"' in done.stderr


def test_describe_names_the_mode():
    assert kernel.describe().startswith(f"adl-sandbox kernel, {sandbox.mode()}:")
