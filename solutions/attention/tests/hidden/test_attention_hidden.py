"""Hidden tests for the attention assignment.

Every input is drawn fresh from `torch.Generator().manual_seed(seed)`. Oracles are PyTorch's
own implementations (`F.scaled_dot_product_attention`, `nn.MultiheadAttention`) or closed-form
formulas, evaluated in float64 on the trusted side and cast to the dtype under test. Every
comparison of student output goes through `autograder.checks`, whose messages never show
expected values.

Independence between parts: the KV-cache tests compare the student's `decode` with the
student's own causal `forward` (part 2 is graded by the MHA tests); the block tests load the
same weights into the student's block and the reference block.
"""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from autograder.checks import assert_close, check

F32, F64 = torch.float32, torch.float64


# ----------------------------------------------------------------------------- helpers


def rand(g, *shape, dtype=F32, scale=1.0):
    """Standard normal draws (in float64, then cast) times `scale`."""
    return (torch.randn(*shape, generator=g, dtype=F64) * scale).to(dtype)


def bottom_right(tq, tk):
    """Bool (Tq, Tk): query i may see key j iff j <= i + (Tk - Tq)."""
    return torch.ones(tq, tk, dtype=torch.bool).tril(tk - tq)


def random_mask(g, shape, p_keep=0.6):
    """A random bool mask with at least one allowed key in every row."""
    mask = torch.rand(*shape, generator=g) < p_keep
    pick = torch.randint(shape[-1], (*shape[:-1], 1), generator=g)
    return mask.scatter(-1, pick, True)


def oracle_attention(q, k, v, allowed=None):
    """(out, weights) in float64 from torch's SDPA / softmax, cast to q.dtype.

    Rows without any allowed key are zero, the assignment's convention.
    """
    q64, k64, v64 = q.to(F64), k.to(F64), v.to(F64)
    scores = q64 @ k64.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
    out = F.scaled_dot_product_attention(q64, k64, v64, attn_mask=allowed)
    if allowed is not None:
        has_key = allowed.any(dim=-1, keepdim=True).expand(weights.shape[:-1] + (1,))
        out = torch.where(has_key, out, torch.zeros((), dtype=F64))
    return out.to(q.dtype), weights.to(q.dtype)


def mha_state(g, embed_dim, bias, dtype=F32):
    """Random weights for MultiHeadAttention, keyed by the documented submodule names."""
    state = {}
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        state[f"{name}.weight"] = rand(g, embed_dim, embed_dim, dtype=dtype, scale=embed_dim**-0.5)
        if bias:
            state[f"{name}.bias"] = rand(g, embed_dim, dtype=dtype, scale=0.5)
    return state


def torch_mha(state, embed_dim, num_heads, bias):
    """torch.nn.MultiheadAttention in float64 carrying the weights in `state`."""
    mha = torch.nn.MultiheadAttention(embed_dim, num_heads, bias=bias, batch_first=True, dtype=F64)
    torch_state = {
        "in_proj_weight": torch.cat([state["q_proj.weight"], state["k_proj.weight"], state["v_proj.weight"]]).to(F64),
        "out_proj.weight": state["out_proj.weight"].to(F64),
    }
    if bias:
        torch_state["in_proj_bias"] = torch.cat([state["q_proj.bias"], state["k_proj.bias"], state["v_proj.bias"]]).to(F64)
        torch_state["out_proj.bias"] = state["out_proj.bias"].to(F64)
    mha.load_state_dict(torch_state)
    return mha.eval()


def oracle_mha(state, embed_dim, num_heads, bias, query, key, value, allowed=None):
    """torch's MHA output and per-head weights for a True-means-attend `allowed` mask."""
    mha = torch_mha(state, embed_dim, num_heads, bias)
    b, tq, tk = query.shape[0], query.shape[1], key.shape[1]
    attn_mask = None
    if allowed is not None:
        attn_mask = ~allowed.expand(b, num_heads, tq, tk).reshape(b * num_heads, tq, tk)
    with torch.no_grad():
        out, weights = mha(query.to(F64), key.to(F64), value.to(F64), attn_mask=attn_mask,
                           need_weights=True, average_attn_weights=False)
    return out.to(query.dtype), weights.to(query.dtype)


def student_mha(submission, state, embed_dim, num_heads, bias, dtype):
    mha = submission.call("MultiHeadAttention", embed_dim, num_heads, bias=bias)
    if dtype == F64:
        mha = mha.double()
    mha.load_state_dict(state)
    return mha


# ----------------------------------------------------------------------------- part 1: SDPA

SDPA_SHAPES = [  # (batch dims, Tq, Tk, d, dv)
    ((1,), 1, 1, 4, 4),
    ((1,), 7, 7, 16, 16),
    ((2, 3), 5, 9, 8, 6),
    ((4,), 12, 3, 32, 8),
]


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", SDPA_SHAPES, ids=["one", "square", "cross", "tall"])
def test_sdpa_matches_torch(submission, seed, dtype, shape):
    """Without a mask, output and weights equal torch's scaled dot-product attention."""
    g = torch.Generator().manual_seed(seed)
    batch, tq, tk, d, dv = shape
    q, k, v = rand(g, *batch, tq, d, dtype=dtype), rand(g, *batch, tk, d, dtype=dtype), rand(g, *batch, tk, dv, dtype=dtype)
    out, weights = submission.call("scaled_dot_product_attention", q, k, v)
    want_out, want_w = oracle_attention(q, k, v)
    assert_close(weights, want_w, what="attention weights")
    assert_close(out, want_out, what="attention output")


def test_sdpa_broadcasts_batch_dims(submission, seed):
    """Leading batch dimensions of q, k and v broadcast against each other."""
    g = torch.Generator().manual_seed(seed)
    q, k, v = rand(g, 2, 1, 5, 8), rand(g, 1, 3, 6, 8), rand(g, 1, 3, 6, 4)
    out, weights = submission.call("scaled_dot_product_attention", q, k, v)
    want_out, want_w = oracle_attention(q, k, v)
    assert_close(weights, want_w, what="weights with broadcast batch dims")
    assert_close(out, want_out, what="output with broadcast batch dims")


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("lengths", [(6, 6), (3, 8), (1, 5), (9, 10)], ids=["square", "3of8", "1of5", "9of10"])
def test_sdpa_causal_bottom_right(submission, seed, dtype, lengths):
    """causal=True lets query i see keys j <= i + (Tk - Tq) (bottom-right aligned), matching torch."""
    g = torch.Generator().manual_seed(seed)
    tq, tk = lengths
    q, k, v = rand(g, 2, 2, tq, 8, dtype=dtype), rand(g, 2, 2, tk, 8, dtype=dtype), rand(g, 2, 2, tk, 8, dtype=dtype)
    out, weights = submission.call("scaled_dot_product_attention", q, k, v, causal=True)
    want_out, want_w = oracle_attention(q, k, v, bottom_right(tq, tk))
    assert_close(weights, want_w, what=f"causal weights (Tq={tq}, Tk={tk})")
    assert_close(out, want_out, what=f"causal output (Tq={tq}, Tk={tk})")


@pytest.mark.parametrize("kind", ["full", "shared_2d", "padding", "with_causal"])
def test_sdpa_bool_mask(submission, seed, kind):
    """A bool mask (True = may attend) of any broadcastable shape selects the keys, as in torch."""
    g = torch.Generator().manual_seed(seed)
    b, h, t, d = 3, 2, 7, 8
    q, k, v = rand(g, b, h, t, d), rand(g, b, h, t, d), rand(g, b, h, t, d)
    causal = kind == "with_causal"
    if kind == "full" or kind == "with_causal":
        mask = random_mask(g, (b, h, t, t))
    elif kind == "shared_2d":
        mask = random_mask(g, (t, t))
    else:  # padding: every query of a sequence sees the same prefix of keys
        lengths = torch.randint(1, t + 1, (b,), generator=g)
        mask = (torch.arange(t) < lengths[:, None])[:, None, None, :]
    if causal:
        mask[..., 0] = True  # key 0 is never causally masked: every row keeps an allowed key
    allowed = mask & bottom_right(t, t) if causal else mask
    out, weights = submission.call("scaled_dot_product_attention", q, k, v, mask=mask, causal=causal)
    want_out, want_w = oracle_attention(q, k, v, allowed)
    assert_close(weights, want_w, what=f"weights with a {kind} mask")
    assert_close(out, want_out, what=f"output with a {kind} mask")


def test_sdpa_fully_masked_rows_are_zero(submission, seed):
    """Rows with no allowed key have all-zero weights and a zero output (no NaN); other rows are unaffected."""
    g = torch.Generator().manual_seed(seed)
    q, k, v = rand(g, 2, 6, 8), rand(g, 2, 5, 8), rand(g, 2, 5, 3)
    mask = random_mask(g, (2, 6, 5))
    mask[0, 1] = False
    mask[1, 4] = False
    mask[1, 5] = False
    out, weights = submission.call("scaled_dot_product_attention", q, k, v, mask=mask)
    check(bool(torch.isfinite(out).all()) and bool(torch.isfinite(weights).all()),
          "fully masked rows: the output or the weights contain NaN or inf")
    want_out, want_w = oracle_attention(q, k, v, mask)
    assert_close(weights, want_w, what="weights with fully masked rows")
    assert_close(out, want_out, what="output with fully masked rows")


def test_sdpa_large_logits_stable(submission, seed):
    """Scores around 1e4 in float32 give finite, correct results (the row max is subtracted)."""
    g = torch.Generator().manual_seed(seed)
    # Integer entries keep every score exact in float32, so the float64 oracle is exact too.
    q = torch.randint(-60, 61, (3, 6, 4), generator=g).to(F32)
    k = torch.randint(-60, 61, (3, 8, 4), generator=g).to(F32)
    v = rand(g, 3, 8, 5)
    q[:, 0] = 60.0
    k[:, 0] = 60.0  # query 0 has a score of 7200 against key 0
    out, weights = submission.call("scaled_dot_product_attention", q, k, v)
    check(bool(torch.isfinite(out).all()) and bool(torch.isfinite(weights).all()),
          "large logits: the output or the weights contain NaN or inf")
    # A float32 rounding of a score near 1e4 is ~1e-3, so allow that much relative error.
    tol = {"rtol": 2e-3, "atol": 1e-4}
    want_out, want_w = oracle_attention(q, k, v)
    assert_close(weights, want_w, what="weights for scores near 1e4", **tol)
    assert_close(out, want_out, what="output for scores near 1e4", **tol)
    out_c, _ = submission.call("scaled_dot_product_attention", q, k, v, causal=True)
    want_c, _ = oracle_attention(q, k, v, bottom_right(6, 8))
    assert_close(out_c, want_c, what="causal output for scores near 1e4", **tol)


def test_sdpa_weights_are_distributions(submission, seed):
    """Weights are non-negative, zero on masked keys, and every row with an allowed key sums to 1."""
    g = torch.Generator().manual_seed(seed)
    q, k, v = rand(g, 4, 9, 16, scale=3.0), rand(g, 4, 11, 16, scale=3.0), rand(g, 4, 11, 2)
    mask = random_mask(g, (4, 9, 11), p_keep=0.4)
    _, weights = submission.call("scaled_dot_product_attention", q, k, v, mask=mask, causal=True)
    weights = torch.as_tensor(weights)
    allowed = mask & bottom_right(9, 11)
    check(tuple(weights.shape) == (4, 9, 11), f"weights: shape {tuple(weights.shape)}, expected (4, 9, 11)")
    check(bool((weights >= 0).all()), "weights: some entries are negative")
    check(bool((weights.masked_fill(allowed, 0.0) == 0).all()), "weights: masked keys get non-zero weight")
    rows = allowed.any(dim=-1)
    sums = weights.to(F64).sum(dim=-1)
    assert_close(sums[rows], torch.ones(int(rows.sum()), dtype=F64), what="row sums of the weights",
                 rtol=1e-5, atol=1e-5, check_dtype=False)


# ----------------------------------------------------------------------------- part 2: MHA

MHA_CASES = [  # (bias, E, H, dtype)
    (True, 16, 4, F32),
    (False, 16, 4, F32),
    (True, 8, 1, F64),
    (True, 6, 6, F32),
    (False, 12, 3, F64),
]


@pytest.mark.parametrize("case", MHA_CASES, ids=["bias", "nobias", "onehead_f64", "dh1", "nobias_f64"])
def test_mha_self_attention_matches_torch(submission, seed, case):
    """Self-attention output and per-head weights equal torch.nn.MultiheadAttention with the same weights."""
    bias, e, h, dtype = case
    g = torch.Generator().manual_seed(seed)
    state = mha_state(g, e, bias, dtype)
    x = rand(g, 2, 7, e, dtype=dtype)
    mha = student_mha(submission, state, e, h, bias, dtype)
    out, weights = mha(x, x, x)
    want_out, want_w = oracle_mha(state, e, h, bias, x, x, x)
    assert_close(weights, want_w, what="per-head attention weights")
    assert_close(out, want_out, what="multi-head attention output")


@pytest.mark.parametrize("kind", ["none", "shared_2d", "per_head", "padding"])
def test_mha_cross_attention_matches_torch(submission, seed, kind):
    """Cross-attention (Tq != Tk) with bool masks of several shapes equals torch's MultiheadAttention."""
    g = torch.Generator().manual_seed(seed)
    b, tq, tk, e, h = 3, 5, 9, 12, 3
    state = mha_state(g, e, True)
    query, key, value = rand(g, b, tq, e), rand(g, b, tk, e), rand(g, b, tk, e)
    if kind == "none":
        mask = None
    elif kind == "shared_2d":
        mask = random_mask(g, (tq, tk))
    elif kind == "per_head":
        mask = random_mask(g, (b, h, tq, tk))
    else:
        lengths = torch.randint(1, tk + 1, (b,), generator=g)
        mask = (torch.arange(tk) < lengths[:, None])[:, None, None, :]
    mha = student_mha(submission, state, e, h, True, F32)
    out, weights = mha(query, key, value, mask=mask)
    want_out, want_w = oracle_mha(state, e, h, True, query, key, value, mask)
    assert_close(weights, want_w, what=f"cross-attention weights ({kind} mask)")
    assert_close(out, want_out, what=f"cross-attention output ({kind} mask)")


@pytest.mark.parametrize("lengths", [(6, 6), (3, 8)], ids=["self", "cross"])
def test_mha_causal_matches_torch(submission, seed, lengths):
    """causal=True equals torch's MultiheadAttention with the bottom-right causal mask."""
    g = torch.Generator().manual_seed(seed)
    tq, tk = lengths
    b, e, h = 2, 16, 4
    state = mha_state(g, e, True)
    query = rand(g, b, tq, e)
    key = query if tq == tk else rand(g, b, tk, e)
    value = query if tq == tk else rand(g, b, tk, e)
    mha = student_mha(submission, state, e, h, True, F32)
    out, weights = mha(query, key, value, causal=True)
    want_out, want_w = oracle_mha(state, e, h, True, query, key, value, bottom_right(tq, tk))
    assert_close(weights, want_w, what="causal per-head weights")
    assert_close(out, want_out, what="causal multi-head output")


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
def test_mha_parameter_layout(submission, bias):
    """The module's parameters are exactly q_proj, k_proj, v_proj and out_proj, each an (E, E) Linear."""
    mha = submission.call("MultiHeadAttention", 12, 3, bias=bias)
    state = mha.state_dict()
    names = [f"{p}.weight" for p in ("q_proj", "k_proj", "v_proj", "out_proj")]
    if bias:
        names += [f"{p}.bias" for p in ("q_proj", "k_proj", "v_proj", "out_proj")]
    check(sorted(state) == sorted(names),
          f"MultiHeadAttention parameters are {sorted(state)}, the specification gives {sorted(names)}")
    for name in names:
        want = (12, 12) if name.endswith("weight") else (12,)
        check(tuple(state[name].shape) == want, f"{name}: shape {tuple(state[name].shape)}, expected {want}")


# ----------------------------------------------------------------------------- part 3: positions


@pytest.mark.parametrize("case", [(1, 2, 1e4), (50, 16, 1e4), (128, 64, 1e4), (300, 10, 1e4), (64, 32, 500.0)],
                         ids=["1x2", "50x16", "128x64", "300x10", "base500"])
def test_sinusoidal_matches_formula(submission, case):
    """PE[p, 2i] = sin(p / base^(2i/dim)) and PE[p, 2i+1] = cos(same), float32."""
    n, dim, base = case
    p = torch.arange(n, dtype=F64)[:, None]
    i = torch.arange(dim // 2, dtype=F64)
    angles = p / base ** (2 * i / dim)
    want = torch.zeros(n, dim, dtype=F64)
    want[:, 0::2], want[:, 1::2] = torch.sin(angles), torch.cos(angles)
    got = submission.call("sinusoidal_positional_encoding", n, dim, base=base)
    # float32 angles lose ~1e-5 for positions in the hundreds; allow that, not a wrong formula.
    assert_close(got, want.to(F32), what=f"sinusoidal table ({n} positions, dim {dim})", rtol=1e-4, atol=1e-4)


def rope_oracle(x, positions, base):
    """RoPE via complex multiplication of interleaved pairs, in float64."""
    d = x.shape[-1]
    z = torch.view_as_complex(x.to(F64).reshape(*x.shape[:-1], d // 2, 2).contiguous())
    theta = positions.to(F64)[:, None] * base ** (-torch.arange(0, d, 2, dtype=F64) / d)
    rotated = z * torch.polar(torch.ones_like(theta), theta)
    return torch.view_as_real(rotated).reshape(x.shape).to(x.dtype)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", [((), 7, 8, 1e4, "arange"), ((2, 3), 16, 32, 1e4, "random"), ((1,), 5, 2, 100.0, "random")],
                         ids=["plain", "batched", "d2_base100"])
def test_rope_matches_complex_oracle(submission, seed, dtype, case):
    """apply_rope rotates interleaved pairs (2i, 2i+1) by positions[t] * base^(-2i/d), like complex multiplication."""
    batch, t, d, base, pos_kind = case
    g = torch.Generator().manual_seed(seed)
    x = rand(g, *batch, t, d, dtype=dtype)
    if pos_kind == "arange":
        positions = torch.arange(t)
    else:
        positions = torch.randint(0, 200, (t,), generator=g)
    got = submission.call("apply_rope", x, positions, base=base)
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == F32 else {}
    assert_close(got, rope_oracle(x, positions, base), what="RoPE output", **tol)


def test_rope_relative_position_property(submission, seed):
    """<rope(a, m), rope(b, n)> depends only on m - n: shifting both positions leaves it unchanged."""
    g = torch.Generator().manual_seed(seed)
    rows, d = 12, 16
    a, b = rand(g, rows, d, dtype=F64), rand(g, rows, d, dtype=F64)
    m = torch.randint(0, 100, (rows,), generator=g)
    n = torch.randint(0, 100, (rows,), generator=g)
    shift = torch.randint(1, 100, (rows,), generator=g)
    dots = (submission.call("apply_rope", a, m) * submission.call("apply_rope", b, n)).sum(-1)
    shifted = (submission.call("apply_rope", a, m + shift) * submission.call("apply_rope", b, n + shift)).sum(-1)
    assert_close(shifted, dots, what="<rope(a, m+s), rope(b, n+s)> compared with <rope(a, m), rope(b, n)>",
                 rtol=1e-6, atol=1e-6)


def test_rope_preserves_norm(submission, seed):
    """RoPE keeps every vector's norm, keeps the dtype, and is the identity at position 0."""
    g = torch.Generator().manual_seed(seed)
    x = rand(g, 3, 10, 24)
    positions = torch.randint(0, 150, (10,), generator=g)
    positions[0] = 0
    got = torch.as_tensor(submission.call("apply_rope", x, positions))
    check(got.dtype == F32, f"apply_rope returned dtype {got.dtype} for float32 input")
    assert_close(got.norm(dim=-1), x.norm(dim=-1), what="norms after RoPE", rtol=1e-4, atol=1e-5)
    assert_close(got[:, 0], x[:, 0], what="RoPE at position 0")


# ----------------------------------------------------------------------------- part 4: KV cache


def test_kv_cache_update_concatenates(submission, seed):
    """update() appends along dim -2, returns everything cached (oldest first); len counts time steps."""
    g = torch.Generator().manual_seed(seed)
    cache = submission.call("KVCache")
    check(cache.__len__() == 0, "an empty KVCache has a non-zero length")
    ks, vs = [], []
    for steps in (3, 1, 2):
        k, v = rand(g, 2, 3, steps, 4), rand(g, 2, 3, steps, 5)
        ks.append(k)
        vs.append(v)
        k_all, v_all = cache.update(k, v)
        assert_close(k_all, torch.cat(ks, dim=-2), what="keys returned by update")
        assert_close(v_all, torch.cat(vs, dim=-2), what="values returned by update")
    check(cache.__len__() == 6, f"KVCache length is {cache.__len__()} after caching 6 time steps")


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_kv_cache_token_by_token_matches_forward(submission, seed, dtype):
    """decode() one token at a time equals the module's own causal forward on the whole sequence."""
    g = torch.Generator().manual_seed(seed)
    b, t, e, h = 2, 9, 16, 4
    state = mha_state(g, e, True, dtype)
    x = rand(g, b, t, e, dtype=dtype)
    mha = student_mha(submission, state, e, h, True, dtype)
    full, _ = mha(x, x, x, causal=True)
    cache = submission.call("KVCache")
    steps = [mha.decode(x[:, i : i + 1], cache) for i in range(t)]
    assert_close(torch.cat(steps, dim=1), full, what="token-by-token decode compared with the causal forward")


def test_kv_cache_chunked_decode_matches_forward(submission, seed):
    """decode() on chunks of several tokens (a prefill, then pieces) equals the causal forward."""
    g = torch.Generator().manual_seed(seed)
    b, t, e, h = 2, 14, 12, 3
    state = mha_state(g, e, False)
    x = rand(g, b, t, e)
    mha = student_mha(submission, state, e, h, False, F32)
    full, _ = mha(x, x, x, causal=True)
    cuts = sorted(torch.randperm(t - 2, generator=g)[:3].add(1).tolist())
    bounds = [0, 5] + [c for c in cuts if c > 5] + [t]
    cache = submission.call("KVCache")
    pieces = [mha.decode(x[:, lo:hi], cache) for lo, hi in zip(bounds[:-1], bounds[1:])]
    assert_close(torch.cat(pieces, dim=1), full, what="chunked decode compared with the causal forward")


def test_kv_cache_length_after_decode(submission, seed):
    """After decode() has seen N tokens (in chunks of any size) the cache holds exactly N time steps."""
    g = torch.Generator().manual_seed(seed)
    b, e, h = 2, 8, 2
    mha = student_mha(submission, mha_state(g, e, True), e, h, True, F32)
    cache = submission.call("KVCache")
    total = 0
    for steps in (4, 1, 1, 3):
        mha.decode(rand(g, b, steps, e), cache)
        total += steps
        check(cache.__len__() == total, f"cache length is {cache.__len__()} after decoding {total} tokens")


def test_kv_cache_separate_caches_are_independent(submission, seed):
    """Two sequences decoded alternately with their own caches do not affect each other."""
    g = torch.Generator().manual_seed(seed)
    b, t, e, h = 1, 6, 8, 2
    mha = student_mha(submission, mha_state(g, e, True), e, h, True, F32)
    xa, xb = rand(g, b, t, e), rand(g, b, t, e)
    full_a, _ = mha(xa, xa, xa, causal=True)
    full_b, _ = mha(xb, xb, xb, causal=True)
    cache_a, cache_b = submission.call("KVCache"), submission.call("KVCache")
    outs_a, outs_b = [], []
    for i in range(t):
        outs_a.append(mha.decode(xa[:, i : i + 1], cache_a))
        outs_b.append(mha.decode(xb[:, i : i + 1], cache_b))
    assert_close(torch.cat(outs_a, dim=1), full_a, what="first of two interleaved sequences")
    assert_close(torch.cat(outs_b, dim=1), full_b, what="second of two interleaved sequences")


# ----------------------------------------------------------------------------- part 5: chunked


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("chunk", [1, 8, 37, 64])
def test_chunked_matches_torch(submission, seed, chunk, causal):
    """chunked_attention equals torch's SDPA for chunk sizes that divide T, do not, equal T, exceed T."""
    g = torch.Generator().manual_seed(seed)
    t = 37
    q, k, v = rand(g, 2, 3, t, 16), rand(g, 2, 3, t, 16), rand(g, 2, 3, t, 16)
    got = submission.call("chunked_attention", q, k, v, chunk_size=chunk, causal=causal)
    want, _ = oracle_attention(q, k, v, bottom_right(t, t) if causal else None)
    assert_close(got, want, what=f"chunked attention (chunk_size={chunk}, causal={causal})")


@pytest.mark.parametrize("case", [(5, 23, 4), (9, 40, 7), (16, 16, 16), (1, 9, 2)], ids=["5of23", "9of40", "one_chunk", "1of9"])
def test_chunked_causal_longer_keys(submission, seed, case):
    """Causal chunked attention with Tk > Tq uses the bottom-right alignment of part 1."""
    tq, tk, chunk = case
    g = torch.Generator().manual_seed(seed)
    q, k, v = rand(g, 2, tq, 8), rand(g, 2, tk, 8), rand(g, 2, tk, 8)
    got = submission.call("chunked_attention", q, k, v, chunk_size=chunk, causal=True)
    want, _ = oracle_attention(q, k, v, bottom_right(tq, tk))
    assert_close(got, want, what=f"causal chunked attention (Tq={tq}, Tk={tk}, chunk_size={chunk})")


def test_chunked_float64_and_value_dim(submission, seed):
    """float64 inputs with dv != d and Tq != Tk give a float64 output of shape (..., Tq, dv) at float64 accuracy."""
    g = torch.Generator().manual_seed(seed)
    q, k, v = rand(g, 3, 20, 8, dtype=F64), rand(g, 3, 29, 8, dtype=F64), rand(g, 3, 29, 5, dtype=F64)
    got = submission.call("chunked_attention", q, k, v, chunk_size=6)
    want, _ = oracle_attention(q, k, v)
    assert_close(got, want, what="chunked attention in float64")


def test_chunked_stable_for_large_scores(submission, seed):
    """Scores in the thousands (exp would overflow) still give the exact, finite output."""
    g = torch.Generator().manual_seed(seed)
    q = torch.randint(-40, 41, (2, 24, 4), generator=g).to(F32)
    k = torch.randint(-40, 41, (2, 24, 4), generator=g).to(F32)
    v = rand(g, 2, 24, 4)
    for causal in (False, True):
        got = submission.call("chunked_attention", q, k, v, chunk_size=5, causal=causal)
        check(bool(torch.isfinite(torch.as_tensor(got)).all()), "chunked attention with large scores has NaN or inf")
        want, _ = oracle_attention(q, k, v, bottom_right(24, 24) if causal else None)
        assert_close(got, want, what=f"chunked attention with large scores (causal={causal})", rtol=2e-3, atol=1e-4)


def test_chunked_peak_memory(submission, seed):
    """At T=4096 chunked attention needs far less memory than a (T, T) score matrix, and stays exact."""
    g = torch.Generator().manual_seed(seed)
    t, d = 4096, 64
    q, k, v = rand(g, t, d), rand(g, t, d), rand(g, t, d)
    # Warm-up on a short input: the first use of an op pages in library code, which is not the
    # memory this test is about.
    submission.call("chunked_attention", q[:256], k[:256], v[:256], chunk_size=128)
    got, peak = submission.peak_memory("chunked_attention", q, k, v, chunk_size=128)
    full_scores = t * t * 4  # one float32 (T, T) matrix: 64 MiB
    if peak is None:
        pytest.skip("peak memory cannot be measured on this system")
    check(peak < full_scores / 4,
          f"chunked attention used {peak / 2**20:.1f} MiB of extra memory at T={t}; "
          f"a single (T, T) float32 score matrix is {full_scores / 2**20:.0f} MiB, the limit is "
          f"{full_scores / 4 / 2**20:.0f} MiB")
    want = F.scaled_dot_product_attention(q, k, v)
    assert_close(got, want, what="chunked attention at T=4096", atol=2e-5)


# ----------------------------------------------------------------------------- part 6: block


def reference_block(reference, seed, e, h, ratio):
    """The reference block with a seeded init and randomised LayerNorm parameters."""
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        block = reference.TransformerBlock(e, h, mlp_ratio=ratio)
    with torch.no_grad():
        for name, param in block.named_parameters():
            if name.startswith("ln"):
                param.add_(rand(g, *param.shape, scale=0.3))
    return block.eval()


@pytest.mark.parametrize("case", [(2, 7, 16, 4, 4), (1, 5, 12, 3, 2), (3, 1, 8, 2, 4)], ids=["base", "ratio2", "one_token"])
def test_block_matches_reference(submission, reference, seed, case):
    """With the reference block's weights loaded, the pre-LayerNorm causal block gives the same output."""
    b, t, e, h, ratio = case
    ref = reference_block(reference, seed, e, h, ratio)
    block = submission.call("TransformerBlock", e, h, mlp_ratio=ratio)
    block.load_state_dict({name: t.clone() for name, t in ref.state_dict().items()})
    x = rand(torch.Generator().manual_seed(seed + 1), b, t, e)
    with torch.no_grad():
        want = copy.deepcopy(ref).double()(x.to(F64)).to(F32)
    assert_close(block(x), want, what="Transformer block output")


def test_block_is_causal(submission, reference, seed):
    """Changing tokens t >= s leaves the block's outputs at positions < s unchanged."""
    e, h = 16, 4
    ref = reference_block(reference, seed, e, h, 4)
    block = submission.call("TransformerBlock", e, h)
    block.load_state_dict({name: t.clone() for name, t in ref.state_dict().items()})
    g = torch.Generator().manual_seed(seed + 1)
    x = rand(g, 2, 10, e)
    s = int(torch.randint(1, 10, (1,), generator=g))
    y = x.clone()
    y[:, s:] = rand(g, 2, 10 - s, e)
    out_x, out_y = torch.as_tensor(block(x)), torch.as_tensor(block(y))
    assert_close(out_y[:, :s], out_x[:, :s], what=f"outputs before position {s} after changing later tokens")
