"""The call protocol: plain data between the trusted grader and the student's worker.

A message is a frame:

    8-byte big-endian length of the JSON header | header (UTF-8 JSON)
    then, for each binary buffer the header refers to: 8-byte length | raw bytes

The header is a tree of JSON values in which containers and non-JSON values are tagged
objects with a single `$` key:

    {"$list": [...]}  {"$tuple": [...]}  {"$dict": [[key, value], ...]}   (keys: str or int)
    {"$tensor": {"lib": "torch"|"numpy", "dtype": "float32", "shape": [2, 3], "buf": 0}}
    {"$bytes": 0}     {"$handle": 7}     {"$float": "nan"|"inf"|"-inf"}
    {"$generator": {"lib": "torch", "buf": 0}}                       (a CPU torch.Generator's state)
    {"$generator": {"lib": "numpy", "state": {"state": s, "inc": i}, "has_uint32": 0, "uinteger": 0}}
                                                                     (a numpy PCG64 Generator's state)

Random generators cross by value: the receiver gets a new generator in the same state, so
the caller's own generator does not advance. That is what seeded tests need: the same draws
on both sides from the same state.

Plain JSON `null`, booleans, integers, finite floats and strings stand for themselves. An
untagged JSON object or array is invalid. The decoder checks everything (known tags only,
whitelisted dtypes, shape consistent with the buffer length, bounded depth and size) and
raises `ProtocolError` otherwise; nothing is ever unpickled. The same codec runs in the
worker, which turns values it cannot send (a model, a cache) into handles.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any, BinaryIO, Callable

MAX_DEPTH = 32
MAX_HEADER_BYTES = 16 * 2**20
MAX_MESSAGE_BYTES = 2 * 2**30  # a result larger than this is refused, not read
MAX_DIMS = 16

# dtype names that may cross, and their sizes in bytes.
DTYPES: dict[str, int] = {
    "bool": 1, "uint8": 1, "int8": 1, "int16": 2, "int32": 4, "int64": 8,
    "float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "complex64": 8, "complex128": 16,
}

_LEN = struct.Struct(">Q")


class ProtocolError(Exception):
    """A message that is not valid plain data."""


class Handle:
    """A reference to an object that lives in the worker (decoded form of `{"$handle": id}`)."""

    __slots__ = ("id",)

    def __init__(self, id: int):
        self.id = id

    def __repr__(self) -> str:
        return f"Handle({self.id})"


# --------------------------------------------------------------------------- encoding

def encode(value: Any, to_handle: Callable[[Any], int] | None = None) -> tuple[dict | Any, list[bytes]]:
    """Turn `value` into (header tree, buffers). Unsendable objects become handles via
    `to_handle(obj) -> id`; without it they raise ProtocolError."""
    buffers: list[bytes] = []
    size = [0]

    def claim(nbytes: int) -> None:
        # counted before anything is copied: an expanded view or a lazily zeroed tensor must
        # not be materialised just to learn that it is too large to send
        size[0] += nbytes
        if size[0] > MAX_MESSAGE_BYTES:
            raise ProtocolError(f"a result of {size[0] / 2**30:.1f} GB is over the "
                                f"{MAX_MESSAGE_BYTES / 2**30:g} GB limit of one answer")

    def enc(v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError(f"value nested deeper than {MAX_DEPTH} levels")
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return int(v)
        if isinstance(v, float):
            if math.isfinite(v):
                return float(v)
            return {"$float": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
        if isinstance(v, Handle):
            return {"$handle": v.id}
        if isinstance(v, (bytes, bytearray, memoryview)):
            claim(memoryview(v).nbytes)
            buffers.append(bytes(v))
            return {"$bytes": len(buffers) - 1}
        if isinstance(v, list):
            return {"$list": [enc(x, depth + 1) for x in v]}
        if isinstance(v, tuple) and type(v) is tuple:
            return {"$tuple": [enc(x, depth + 1) for x in v]}
        if isinstance(v, dict):
            items = []
            for key, x in v.items():
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    raise ProtocolError(f"dict key of type {type(key).__name__} cannot be sent")
                items.append([key, enc(x, depth + 1)])
            return {"$dict": items}
        tensor = _tensor_header(v, buffers, claim)
        if tensor is not None:
            return tensor
        generator = _generator_header(v, buffers)
        if generator is not None:
            return generator
        scalar = _numpy_scalar(v)
        if scalar is not None:
            return enc(scalar, depth)
        if to_handle is not None:
            return {"$handle": to_handle(v)}
        raise ProtocolError(f"a {type(v).__module__}.{type(v).__qualname__} is not plain data")

    return enc(value, 0), buffers


def _tensor_header(v: Any, buffers: list[bytes], claim: Callable[[int], None]) -> dict | None:
    module = type(v).__module__
    if module.startswith("torch"):
        import torch

        if isinstance(v, torch.Tensor):
            claim(v.numel() * v.element_size())
            t = v.detach().to("cpu").contiguous()
            name = str(t.dtype).removeprefix("torch.")
            if name not in DTYPES:
                raise ProtocolError(f"tensor dtype {name} cannot be sent")
            if t.is_quantized or t.layout != torch.strided:
                raise ProtocolError("only dense tensors can be sent")
            raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
            buffers.append(raw)
            return {"$tensor": {"lib": "torch", "dtype": name, "shape": list(t.shape), "buf": len(buffers) - 1}}
    if module == "numpy":
        import numpy as np

        if isinstance(v, np.ndarray):
            name = v.dtype.name
            if name not in DTYPES or v.dtype.byteorder == ">":
                raise ProtocolError(f"array dtype {v.dtype} cannot be sent")
            claim(v.nbytes)
            buffers.append(np.ascontiguousarray(v).tobytes())
            return {"$tensor": {"lib": "numpy", "dtype": name, "shape": list(v.shape), "buf": len(buffers) - 1}}
    return None


def _generator_header(v: Any, buffers: list[bytes]) -> dict | None:
    module = type(v).__module__
    if module.startswith("torch"):
        import torch

        if isinstance(v, torch.Generator):
            if v.device.type != "cpu":
                raise ProtocolError("only CPU random generators can be sent")
            buffers.append(v.get_state().numpy().tobytes())
            return {"$generator": {"lib": "torch", "buf": len(buffers) - 1}}
    if module.startswith("numpy"):
        import numpy as np

        if isinstance(v, np.random.Generator):
            state = v.bit_generator.state
            if state.get("bit_generator") != "PCG64":
                raise ProtocolError("only numpy Generators with the default PCG64 bit generator can be sent")
            return {"$generator": {"lib": "numpy", "state": {"state": int(state["state"]["state"]),
                                                             "inc": int(state["state"]["inc"])},
                                   "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}}
    return None


def _decode_generator(body: Any, buf: Callable[[Any], bytes]) -> Any:
    if type(body) is not dict:
        raise ProtocolError("malformed generator")
    if body.get("lib") == "torch" and set(body) == {"lib", "buf"}:
        import torch

        g = torch.Generator()
        try:
            g.set_state(torch.frombuffer(bytearray(buf(body["buf"])), dtype=torch.uint8))
        except (RuntimeError, ValueError) as exc:
            raise ProtocolError(f"invalid torch generator state ({str(exc)[:100]})") from None
        return g
    if body.get("lib") == "numpy" and set(body) == {"lib", "state", "has_uint32", "uinteger"}:
        import numpy as np

        inner = body["state"]
        if (type(inner) is not dict or set(inner) != {"state", "inc"}
                or any(type(x) is not int or not 0 <= x < 2**128 for x in inner.values())
                or body["has_uint32"] not in (0, 1) or type(body["uinteger"]) is not int
                or not 0 <= body["uinteger"] < 2**32):
            raise ProtocolError("invalid numpy generator state")
        bit = np.random.PCG64()
        bit.state = {"bit_generator": "PCG64", "state": dict(inner), "has_uint32": body["has_uint32"],
                     "uinteger": body["uinteger"]}
        return np.random.Generator(bit)
    raise ProtocolError("malformed generator")


def _numpy_scalar(v: Any) -> Any:
    if type(v).__module__ == "numpy":
        import numpy as np

        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, np.floating):
            return float(v)
    return None


# --------------------------------------------------------------------------- decoding

def decode(tree: Any, buffers: list[bytes], from_handle: Callable[[int], Any] | None = None) -> Any:
    """Strictly rebuild a value from (header tree, buffers). Raises ProtocolError."""
    used: set[int] = set()

    def buf(index: Any) -> bytes:
        if type(index) is not int or not 0 <= index < len(buffers) or index in used:
            raise ProtocolError("invalid buffer reference")
        used.add(index)
        return buffers[index]

    def dec(node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError(f"value nested deeper than {MAX_DEPTH} levels")
        if node is None or type(node) in (bool, int, str):
            return node
        if type(node) is float:
            if not math.isfinite(node):
                raise ProtocolError("non-finite float outside a $float tag")
            return node
        if type(node) is not dict or len(node) != 1:
            raise ProtocolError("untagged container")
        (tag, body), = node.items()
        if tag == "$list" and type(body) is list:
            return [dec(x, depth + 1) for x in body]
        if tag == "$tuple" and type(body) is list:
            return tuple(dec(x, depth + 1) for x in body)
        if tag == "$dict" and type(body) is list:
            out = {}
            for item in body:
                if type(item) is not list or len(item) != 2 or type(item[0]) not in (str, int):
                    raise ProtocolError("malformed dict entry")
                out[item[0]] = dec(item[1], depth + 1)
            return out
        if tag == "$float" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "$bytes":
            return buf(body)
        if tag == "$handle" and type(body) is int:
            return from_handle(body) if from_handle is not None else Handle(body)
        if tag == "$tensor" and type(body) is dict:
            return _decode_tensor(body, buf)
        if tag == "$generator":
            return _decode_generator(body, buf)
        raise ProtocolError(f"unknown tag {tag!r}")

    return dec(tree, 0)


def _decode_tensor(body: dict, buf: Callable[[Any], bytes]) -> Any:
    if set(body) != {"lib", "dtype", "shape", "buf"}:
        raise ProtocolError("malformed tensor header")
    lib, dtype, shape = body["lib"], body["dtype"], body["shape"]
    if dtype not in DTYPES or lib not in ("torch", "numpy"):
        raise ProtocolError(f"dtype {dtype!r} / library {lib!r} not allowed")
    if (type(shape) is not list or len(shape) > MAX_DIMS
            or any(type(n) is not int or n < 0 for n in shape)):
        raise ProtocolError("malformed tensor shape")
    raw = buf(body["buf"])
    count = math.prod(shape)
    if count * DTYPES[dtype] != len(raw):
        raise ProtocolError(f"tensor of shape {shape} and dtype {dtype} does not match its {len(raw)} bytes")
    if lib == "numpy":
        import numpy as np

        if dtype == "bfloat16":
            raise ProtocolError("numpy has no bfloat16")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    import torch

    torch_dtype = getattr(torch, dtype)
    if count == 0:
        return torch.empty(shape, dtype=torch_dtype)
    return torch.frombuffer(bytearray(raw), dtype=torch_dtype).reshape(shape)


# --------------------------------------------------------------------------- framing

def write_message(stream: BinaryIO, header: dict, buffers: list[bytes]) -> None:
    """Write one frame; `header` must be JSON-serialisable."""
    head = json.dumps(header, allow_nan=False, separators=(",", ":")).encode()
    if len(head) > MAX_HEADER_BYTES:  # refused before anything is written: the stream stays in step
        raise ProtocolError(f"a result whose description takes {len(head) / 2**20:.0f} MB is over the "
                            f"{MAX_HEADER_BYTES // 2**20} MB limit")
    stream.write(_LEN.pack(len(head)) + head)
    for b in buffers:
        stream.write(_LEN.pack(len(b)))
        stream.write(b)
    stream.flush()


def read_message(read_exact: Callable[[int], bytes], max_bytes: int = MAX_MESSAGE_BYTES) -> tuple[dict, list[bytes]]:
    """Read one frame with `read_exact(n)` (which raises EOFError at end of stream)."""
    (n,) = _LEN.unpack(read_exact(_LEN.size))
    if n > MAX_HEADER_BYTES:
        raise ProtocolError(f"header of {n} bytes is over the {MAX_HEADER_BYTES}-byte limit")
    try:
        header = json.loads(read_exact(n), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        # ValueError: not JSON, not UTF-8, an integer past Python's digit limit;
        # RecursionError: nesting too deep for the parser
        raise ProtocolError(f"header is not JSON: {type(exc).__name__}: {str(exc)[:200]}") from None
    if type(header) is not dict:
        raise ProtocolError("header is not an object")
    nbuf = header.get("nbuf", 0)
    if type(nbuf) is not int or not 0 <= nbuf <= 100_000:
        raise ProtocolError("bad buffer count")
    buffers, total = [], n
    for _ in range(nbuf):
        (size,) = _LEN.unpack(read_exact(_LEN.size))
        total += size
        if total > max_bytes:
            raise ProtocolError(f"message over the {max_bytes}-byte limit")
        buffers.append(read_exact(size))
    return header, buffers


def _reject_constant(name: str) -> Any:
    raise ProtocolError(f"bare {name} in header")


def pack(header: dict, value: Any, key: str = "value", to_handle: Callable[[Any], int] | None = None) -> tuple[dict, list[bytes]]:
    """Encode `value` into `header[key]` and return (header, buffers) ready for write_message."""
    tree, buffers = encode(value, to_handle)
    return {**header, key: tree, "nbuf": len(buffers)}, buffers
