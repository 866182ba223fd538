"""The call protocol: round trips, and strict refusal of anything that is not plain data."""

import io
import math

import numpy as np
import pytest
import torch

from autograder import protocol


def roundtrip(value):
    tree, buffers = protocol.encode(value)
    stream = io.BytesIO()
    protocol.write_message(stream, {"value": tree, "nbuf": len(buffers)}, buffers)
    stream.seek(0)

    def read_exact(n):
        data = stream.read(n)
        if len(data) < n:
            raise EOFError
        return data

    header, bufs = protocol.read_message(read_exact)
    return protocol.decode(header["value"], bufs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
                                   torch.bool, torch.complex64, torch.uint8])
def test_torch_tensors_roundtrip_bit_exact(dtype):
    t = (torch.randn(3, 4, 5) * 100).to(dtype)
    back = roundtrip(t)
    assert back.dtype == dtype and back.shape == t.shape
    assert torch.equal(back.view(torch.uint8), t.view(torch.uint8))


def test_noncontiguous_and_empty_and_grad_tensors():
    t = torch.randn(4, 6, requires_grad=True)
    back = roundtrip([t.t(), torch.empty(0, 3), t * 2, torch.tensor(2.5, dtype=torch.float64)])
    assert torch.equal(back[0], t.detach().t()) and back[1].shape == (0, 3)
    assert not back[2].requires_grad
    assert back[3].shape == () and back[3].item() == 2.5


def test_numpy_and_scalars_and_containers():
    value = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": (1, 2.5, "x", None, True),
             7: [np.float64(1.5), np.int32(3), b"raw"], "nan": math.nan, "inf": -math.inf}
    back = roundtrip(value)
    assert isinstance(back["a"], np.ndarray) and np.array_equal(back["a"], value["a"])
    assert back["b"] == (1, 2.5, "x", None, True) and isinstance(back["b"], tuple)
    assert back[7] == [1.5, 3, b"raw"]
    assert math.isnan(back["nan"]) and back["inf"] == -math.inf


def test_unsendable_objects_need_a_handle_table():
    with pytest.raises(protocol.ProtocolError, match="not plain data"):
        protocol.encode(object())
    tree, _ = protocol.encode([object()], to_handle=lambda obj: 5)
    assert tree == {"$list": [{"$handle": 5}]}


@pytest.mark.parametrize("tree, buffers, message", [
    ({"$tensor": {"lib": "torch", "dtype": "float32", "shape": [2, 2], "buf": 0}}, [b"\0" * 12], "does not match"),
    ({"$tensor": {"lib": "torch", "dtype": "object", "shape": [1], "buf": 0}}, [b"\0" * 8], "not allowed"),
    ({"$tensor": {"lib": "pickle", "dtype": "float32", "shape": [1], "buf": 0}}, [b"\0" * 4], "not allowed"),
    ({"$tensor": {"lib": "torch", "dtype": "float32", "shape": [-1], "buf": 0}}, [b""], "shape"),
    ({"$tensor": {"lib": "torch", "dtype": "float32", "shape": [1], "buf": 3}}, [b"\0" * 4], "buffer"),
    ({"$pickle": "gASVAAAAAAAAAAA="}, [], "unknown tag"),
    ({"a": 1}, [], "unknown tag"),
    ({"$list": [1], "$tuple": [2]}, [], "untagged"),
    ([1, 2], [], "untagged"),
    ({"$dict": [[1.5, 2]]}, [], "dict entry"),
])
def test_decoder_rejects_malformed_values(tree, buffers, message):
    with pytest.raises(protocol.ProtocolError, match=message):
        protocol.decode(tree, buffers)


def test_decoder_rejects_deep_nesting_and_reused_buffers():
    tree = 1
    for _ in range(protocol.MAX_DEPTH + 2):
        tree = {"$list": [tree]}
    with pytest.raises(protocol.ProtocolError, match="nested"):
        protocol.decode(tree, [])
    t = {"$tensor": {"lib": "numpy", "dtype": "uint8", "shape": [1], "buf": 0}}
    with pytest.raises(protocol.ProtocolError, match="buffer"):
        protocol.decode({"$list": [t, t]}, [b"x"])


def test_reader_rejects_oversized_and_non_json_headers():
    big = io.BytesIO((protocol.MAX_HEADER_BYTES + 1).to_bytes(8, "big"))
    with pytest.raises(protocol.ProtocolError, match="limit"):
        protocol.read_message(big.read)
    junk = io.BytesIO((5).to_bytes(8, "big") + b"\xff\xfe{[")
    with pytest.raises(protocol.ProtocolError, match="not JSON"):
        protocol.read_message(junk.read)
    nan = io.BytesIO((14).to_bytes(8, "big") + b'{"value": NaN}')
    with pytest.raises(protocol.ProtocolError):
        protocol.read_message(nan.read)
    huge = io.BytesIO((11).to_bytes(8, "big") + b'{"nbuf": 1}' + (2**40).to_bytes(8, "big"))
    with pytest.raises(protocol.ProtocolError, match="limit"):
        protocol.read_message(huge.read)


def test_random_generators_cross_by_value():
    """A torch or numpy generator arrives in the same state (same draws), and the sender's does not advance."""
    g = torch.Generator().manual_seed(7)
    torch.rand(3, generator=g)
    rng = np.random.default_rng(11)
    rng.random(2)
    got_g, got_rng = roundtrip((g, rng))
    assert torch.equal(torch.rand(5, generator=got_g), torch.rand(5, generator=g))
    assert np.array_equal(got_rng.random(4), rng.random(4))


def test_malformed_generator_states_are_refused():
    for body in ({"lib": "torch", "buf": 0}, {"lib": "numpy", "state": {"state": -1, "inc": 1}, "has_uint32": 0,
                                              "uinteger": 0}, {"lib": "cupy"}, []):
        with pytest.raises(protocol.ProtocolError):
            protocol.decode({"$generator": body}, [b"\x00" * 10])
