"""The untrusted side: a process that imports the student's module and answers calls.

Started by `autograder.remote.Worker` as `python -I -m autograder.worker`. Requests arrive
on stdin, answers leave on file descriptor 3; the student's own prints go to stderr, which
the grader captures (capped) for feedback, so nothing the student prints can pose as an
answer. Values the protocol cannot carry stay here, and the grader gets a handle to them.

This process decides nothing: whatever it answers, the trusted side checks.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from autograder import protocol, sandbox

_HERE = str(Path(__file__).resolve().parent)
MAX_TEXT = 4000


class ForbiddenCallError(RuntimeError):
    """Raised when student code calls a library function the assignment forbids."""


def _forbid(dotted: str) -> None:
    """Replace `dotted` (e.g. torch.nn.functional.scaled_dot_product_attention) by a trap."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            parent = importlib.import_module(".".join(parts[:cut]))
            break
        except ImportError:
            continue
    else:
        return
    for attr in parts[cut:-1]:
        parent = getattr(parent, attr, None)
        if parent is None:
            return
    original = getattr(parent, parts[-1], None)
    if original is None:
        return
    message = f"{dotted} is forbidden in this assignment: write it yourself"
    if isinstance(original, type):
        def __init__(self, *args, **kwargs):
            raise ForbiddenCallError(message)
        trap = type(original.__name__, (original,), {"__init__": __init__, "__module__": original.__module__})
    else:
        def trap(*args, **kwargs):
            raise ForbiddenCallError(message)
        trap.__name__ = getattr(original, "__name__", parts[-1])
    targets = [parent]
    home = sys.modules.get(getattr(original, "__module__", "") or "")
    if home is not None and getattr(home, parts[-1], None) is original:
        targets.append(home)
    for target in targets:
        setattr(target, parts[-1], trap)


def _forbid_package(package: str, module: str) -> None:
    """Refuse `import package` (or a submodule) executed by the student's `module` itself.

    Only imports whose caller's globals are the student module's are refused, so NumPy, the
    protocol and the standard library import what they like; a name built at run time
    (`importlib.import_module`) escapes, as for calls, and the static scan reports the rest."""
    original = builtins.__import__
    message = f"importing {package} is forbidden in this assignment: write it yourself"

    def guarded(name, globals=None, locals=None, fromlist=(), level=0):
        if (level == 0 and (name == package or name.startswith(package + "."))
                and isinstance(globals, dict) and globals.get("__name__") == module):
            raise ForbiddenCallError(message)
        return original(name, globals, locals, fromlist, level)

    builtins.__import__ = guarded


class Server:
    def __init__(self, requests, answers):
        self.requests = requests
        self.answers = answers
        self.module = None
        self.objects: dict[int, Any] = {}
        self.ids: dict[int, int] = {}  # id(obj) -> handle, so one object keeps one handle
        self.next_handle = 1  # never reused, so a dropped handle cannot alias a newer object

    def to_handle(self, obj: Any) -> int:
        if isinstance(obj, _Held):
            obj = obj.value
        key = id(obj)
        if key not in self.ids:
            handle = self.next_handle
            self.next_handle += 1
            self.objects[handle] = obj
            self.ids[key] = handle
        return self.ids[key]

    def from_handle(self, handle: int) -> Any:
        if handle not in self.objects:
            raise protocol.ProtocolError(f"unknown handle {handle}")
        return self.objects[handle]

    def read_exact(self, n: int) -> bytes:
        data = self.requests.read(n)
        if data is None or len(data) < n:
            raise EOFError
        return data

    def reply(self, header: dict, value: Any = None) -> None:
        try:
            head, buffers = protocol.pack(header, value, to_handle=self.to_handle)
            protocol.write_message(self.answers, head, buffers)  # refuses an oversized header unwritten
        except protocol.ProtocolError as exc:
            protocol.write_message(self.answers, {"ok": False, "error": _error("protocol", exc), "nbuf": 0}, [])

    def serve(self) -> None:
        while True:
            try:
                header, buffers = protocol.read_message(self.read_exact)
            except EOFError:
                return
            op = header.get("op")
            try:
                if op == "ping":
                    self.reply({"ok": True}, {"pid": os.getpid()})
                elif op == "load":
                    self.reply({"ok": True}, self.load(header["dir"], header["module"], header.get("forbidden", [])))
                elif op == "call":
                    info: dict = {}
                    result = self.call(header, buffers, info)
                    self.reply({"ok": True, **info}, _Held(result) if header.get("hold") else result)
                elif op == "hold":
                    self.reply({"ok": True}, _Held(self.arguments(header, buffers)))
                elif op == "drop":  # speed tests: forget the inputs and results of a measured call
                    for handle in header.get("handles", []):
                        obj = self.objects.pop(handle, None)
                        if obj is not None and self.ids.get(id(obj)) == handle:
                            del self.ids[id(obj)]
                    self.reply({"ok": True})
                elif op == "fetch":
                    self.reply({"ok": True}, self.from_handle(header["handle"]))
                elif op == "getattr":
                    self.reply({"ok": True}, getattr(self.from_handle(header["handle"]), header["name"]))
                elif op == "exit":
                    return
                else:
                    self.reply({"ok": False, "error": _error("protocol", ValueError(f"unknown op {op!r}"))})
            except protocol.ProtocolError as exc:
                self.reply({"ok": False, "error": _error("protocol", exc)})
            except BaseException as exc:  # student code may raise anything, SystemExit included
                self.reply({"ok": False, "error": _error(_kind(exc), exc)})

    def load(self, directory: str, module: str, forbidden: list[str]) -> dict:
        for name in forbidden:
            if name.endswith(".*"):
                _forbid_package(name[:-2], module)
            else:
                _forbid(name)
        path = Path(directory) / f"{module}.py"
        if not path.is_file():
            raise FileNotFoundError(f"the submission has no {module}.py")
        sys.path.insert(0, directory)
        spec = importlib.util.spec_from_file_location(module, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[module] = mod
        spec.loader.exec_module(mod)
        self.module = mod
        return {"names": sorted(n for n in vars(mod) if not n.startswith("_"))}

    def arguments(self, header: dict, buffers: list[bytes]) -> list:
        """The [args, kwargs] of a request: sent with it, or held earlier (`spread`)."""
        if header.get("spread") is not None:
            payload = self.from_handle(header["spread"])
        else:
            payload = protocol.decode(header.get("payload"), buffers, self.from_handle)
        if type(payload) is not list or len(payload) != 2 or type(payload[0]) is not list or type(payload[1]) is not dict:
            raise protocol.ProtocolError("malformed call")
        return payload

    def call(self, header: dict, buffers: list[bytes], info: dict | None = None) -> Any:
        args, kwargs = self.arguments(header, buffers)
        if header.get("device"):
            return _on_device(header["device"], lambda a, kw: self._target(header)(*a, **kw), args, kwargs, info)
        return self._target(header)(*args, **kwargs)

    def _target(self, header: dict) -> Any:
        if header.get("handle") is not None:
            fn = self.from_handle(header["handle"])
        else:
            name = header["target"]
            if self.module is None or not hasattr(self.module, name):
                raise MissingName(f"the submission has no `{name}`; keep the names from the stubs")
            fn = getattr(self.module, name)
        if header.get("method"):
            fn = getattr(fn, header["method"])
        return fn


def _on_device(device: str, call, args: list, kwargs: dict, info: dict | None) -> Any:
    """GPU speed and memory tests: move the tensor arguments to `device`, call, and wait for the
    GPU to finish. CUDA events and the allocator's peak go back as information only (this
    process runs student code); the grader's verdict uses its own clock and, on GPU, this peak."""
    import torch

    def move(v: Any) -> Any:
        if isinstance(v, torch.Tensor):
            return v.to(device)
        if isinstance(v, list):
            return [move(x) for x in v]
        if type(v) is tuple:
            return tuple(move(x) for x in v)
        if isinstance(v, dict):
            return {k: move(x) for k, x in v.items()}
        return v

    args, kwargs = move(args), move(kwargs)
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    result = call(args, kwargs)
    end.record()
    torch.cuda.synchronize(device)
    if info is not None:
        info.update(cuda_ms=start.elapsed_time(end), cuda_peak_bytes=torch.cuda.max_memory_allocated(device) - base)
    return result


class MissingName(AttributeError):
    pass


class _Held:
    """Wraps a value that must stay in the worker and be answered with a handle."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


def _kind(exc: BaseException) -> str:
    seen = exc
    while seen is not None:
        if isinstance(seen, ForbiddenCallError):
            return "forbidden"
        seen = seen.__cause__ or seen.__context__
    return "missing" if isinstance(exc, MissingName) else "student"


def _error(kind: str, exc: BaseException) -> dict:
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith((_HERE, "<frozen "))]  # the student's frames only
    tb = "".join(traceback.format_list(frames[-8:]))
    return {
        "kind": kind,
        "type": type(exc).__name__,
        "message": str(exc)[:MAX_TEXT],
        "traceback": tb[-MAX_TEXT:],
    }


def main() -> None:
    sandbox.apply_limits(json.loads(sys.argv[2]))
    # Keep private copies of the two protocol pipes, then point fd 0 at /dev/null and fd 1
    # at stderr: print() and os.write(1, ...) in student code land in the captured log.
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    answer_fd = int(sys.argv[1])
    answers = os.fdopen(os.dup(answer_fd), "wb")
    os.close(answer_fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    Server(_Exact(requests), answers).serve()


class _Exact:
    """Reads exactly n bytes from an unbuffered pipe."""

    def __init__(self, raw):
        self.raw = raw

    def read(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            chunk = self.raw.read(n - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)


if __name__ == "__main__":
    main()
