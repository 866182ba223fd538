"""Speed and memory tests of the attention week (part 7), graded as ratios to the reference.

The grader runs the reference solution in a second sandboxed worker and times both calls
itself, on the same fresh inputs, interleaved (autograder/speed); the limits and the bands of
partial credit are in assignment.toml (`[[speed]]`). Every repeat's result is also checked
against the reference's, so a fast wrong answer scores nothing.

Sizes were chosen with `adl bench attention`: many short sequences, so that a Python loop over
the batch and head indices costs a per-iteration overhead many times over, while the
vectorised reference does tens of milliseconds of work in a few large batched operations.
"""

import torch

F64 = torch.float64

# (B, H, T, d): 8192 independent (T, T) attentions; the reference does them in one batched
# matmul (about 7 ms on one core of the CI machine, 10 ms through the worker), a Python loop
# over batch and heads in about 140 ms
SPEED_SHAPE = (128, 64, 16, 16)


def rand(g, *shape):
    return torch.randn(*shape, generator=g, dtype=F64).to(torch.float32)


def sdpa_inputs(g):
    """Fresh q, k, v of SPEED_SHAPE for one repeat."""
    return tuple(rand(g, *SPEED_SHAPE) for _ in range(3)), {}


def test_speed_sdpa(speed, seed):
    """Scaled dot-product attention over many short sequences runs within the time limit relative to the reference."""
    speed.compare("scaled_dot_product_attention", sdpa_inputs, seed=seed)


def test_speed_sdpa_gpu(speed, seed):
    """On a GPU, scaled dot-product attention runs within the time limit relative to the reference."""
    speed.compare("scaled_dot_product_attention", sdpa_inputs, seed=seed)


def chunked_inputs(g):
    """Fresh q, k, v of shape (2048, 64), chunks of 512 rows: the full (T, T) score matrix
    would take 16 MiB in float32, one chunk's 4 MiB."""
    q, k, v = (rand(g, 2048, 64) for _ in range(3))
    return (q, k, v), {"chunk_size": 512}


def test_memory_chunked(speed, seed):
    """Chunked attention at T=2048 needs at most a small multiple of the reference's extra memory."""
    speed.compare("chunked_attention", chunked_inputs, seed=seed)


def test_memory_chunked_gpu(speed, seed):
    """On a GPU, chunked attention's peak CUDA memory is at most a small multiple of the reference's."""
    speed.compare("chunked_attention", chunked_inputs, seed=seed)
