"""Public tests for the attention assignment: small cases you can check by hand.

Run them with `adl test attention` or `pytest` in the assignment folder. Passing them is a good
sign but not a guarantee: the hidden tests use fresh random inputs, more shapes and dtypes, and
compare against PyTorch's own implementations.
"""

import math

import pytest
import torch
import torch.nn.functional as F


def close(actual, expected, **kw):
    torch.testing.assert_close(actual.detach(), expected.detach(), **kw)


# ----------------------------------------------------------------------------- part 1: SDPA


def test_sdpa_shapes_and_dtype(submission):
    """Output (B, H, Tq, dv) and weights (B, H, Tq, Tk), in the input dtype."""
    for dtype in (torch.float32, torch.float64):
        q = torch.zeros(2, 3, 4, 8, dtype=dtype)
        k = torch.zeros(2, 3, 6, 8, dtype=dtype)
        v = torch.zeros(2, 3, 6, 5, dtype=dtype)
        out, weights = submission.call("scaled_dot_product_attention", q, k, v)
        assert tuple(out.shape) == (2, 3, 4, 5)
        assert tuple(weights.shape) == (2, 3, 4, 6)
        assert out.dtype == dtype and weights.dtype == dtype


def test_sdpa_zero_query_attends_uniformly(submission):
    """All scores are 0, so every key gets weight 1/Tk and the output is the mean of v."""
    q = torch.zeros(1, 2, 3)
    k = torch.arange(12.0).reshape(1, 4, 3)
    v = torch.tensor([[[1.0, 0.0], [3.0, 0.0], [5.0, 4.0], [7.0, 8.0]]])
    out, weights = submission.call("scaled_dot_product_attention", q, k, v)
    close(weights, torch.full((1, 2, 4), 0.25))
    close(out, torch.tensor([[[4.0, 3.0], [4.0, 3.0]]]))


def test_sdpa_one_hot_keys_select_values(submission):
    """A query equal to 10 * e_j scores 50 against key 10 * e_j and 0 against the others."""
    k = 10.0 * torch.eye(4)  # key j is 10 * e_j, d = 4 so sqrt(d) = 2
    q = 10.0 * torch.eye(4)[[2, 0, 3]]  # queries aimed at keys 2, 0, 3
    v = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    out, weights = submission.call("scaled_dot_product_attention", q, k, v)
    close(out, torch.tensor([[3.0], [1.0], [4.0]]))
    close(weights.argmax(dim=-1), torch.tensor([2, 0, 3]))


def test_sdpa_tiny_causal_example(submission):
    """q = 0 and causal: query i spreads its weight evenly over keys 0..i + (Tk - Tq)."""
    v = torch.tensor([[1.0], [2.0], [3.0]])
    _, weights = submission.call("scaled_dot_product_attention", torch.zeros(3, 2), torch.zeros(3, 2), v, causal=True)
    third, half = 1.0 / 3.0, 0.5
    close(weights, torch.tensor([[1.0, 0.0, 0.0], [half, half, 0.0], [third, third, third]]))
    # Bottom-right alignment: 2 new queries over 3 keys (query 0 is position 1 of 0..2).
    out, weights = submission.call("scaled_dot_product_attention", torch.zeros(2, 2), torch.zeros(3, 2), v, causal=True)
    close(weights, torch.tensor([[half, half, 0.0], [third, third, third]]))
    close(out, torch.tensor([[1.5], [2.0]]))


def test_sdpa_mask_and_fully_masked_row(submission):
    """mask=True means 'may attend'; a row with no allowed key gives zero weights and output."""
    q = torch.zeros(3, 2)
    k = torch.zeros(4, 2)
    v = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    mask = torch.tensor([[True, False, True, False], [False, False, False, True], [False, False, False, False]])
    out, weights = submission.call("scaled_dot_product_attention", q, k, v, mask=mask)
    close(weights, torch.tensor([[0.5, 0.0, 0.5, 0.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]))
    close(out, torch.tensor([[2.0], [4.0], [0.0]]))


def test_sdpa_matches_torch_small_random(submission):
    """Random inputs with a causal mask agree with torch's SDPA (a public oracle)."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 5, 8, generator=g) for _ in range(3))
    out, _ = submission.call("scaled_dot_product_attention", q, k, v, causal=True)
    close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True))


# ----------------------------------------------------------------------------- part 2: MHA


def test_mha_layout_and_shapes(submission):
    """Four (E, E) projections named q_proj, k_proj, v_proj, out_proj; output and weight shapes."""
    mha = submission.call("MultiHeadAttention", 8, 2)
    state = mha.state_dict()
    expected = {f"{p}_proj.{w}" for p in "qkvo" for w in ("weight", "bias")}
    expected = {name.replace("o_proj", "out_proj") for name in expected}
    assert set(state) == expected
    assert all(tuple(state[f"{p}.weight"].shape) == (8, 8) for p in ("q_proj", "k_proj", "v_proj", "out_proj"))
    out, weights = mha(torch.zeros(3, 4, 8), torch.zeros(3, 6, 8), torch.zeros(3, 6, 8))
    assert tuple(out.shape) == (3, 4, 8)
    assert tuple(weights.shape) == (3, 2, 4, 6)


def test_mha_matches_torch_multihead_attention(submission):
    """With the same weights, the output equals torch.nn.MultiheadAttention(batch_first=True)."""
    mha = submission.call("MultiHeadAttention", 8, 2)
    sd = mha.state_dict()
    ref = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    ref.load_state_dict({
        "in_proj_weight": torch.cat([sd["q_proj.weight"], sd["k_proj.weight"], sd["v_proj.weight"]]),
        "in_proj_bias": torch.cat([sd["q_proj.bias"], sd["k_proj.bias"], sd["v_proj.bias"]]),
        "out_proj.weight": sd["out_proj.weight"],
        "out_proj.bias": sd["out_proj.bias"],
    })
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 5, 8, generator=g)
    out, weights = mha(x, x, x)
    want, want_w = ref(x, x, x, average_attn_weights=False)
    close(out, want)
    close(weights, want_w)


# ----------------------------------------------------------------------------- part 3: positions


def test_sinusoidal_first_rows(submission):
    """Row 0 is (0, 1, 0, 1, ...); row 1 starts with sin(1), cos(1)."""
    pe = submission.call("sinusoidal_positional_encoding", 3, 4)
    assert tuple(pe.shape) == (3, 4) and pe.dtype == torch.float32
    close(pe[0], torch.tensor([0.0, 1.0, 0.0, 1.0]))
    close(pe[1, :2], torch.tensor([math.sin(1.0), math.cos(1.0)]))
    close(pe[2, 2:], torch.tensor([math.sin(2.0 / 100.0), math.cos(2.0 / 100.0)]))  # 10000^(2/4) = 100


def test_rope_hand_example_and_norm(submission):
    """Position 0 is the identity; (1, 0) at position 1 becomes (cos 1, sin 1); norms are kept."""
    x = torch.tensor([[1.0, 0.0, 0.0, 2.0], [1.0, 0.0, 0.0, 2.0]])
    out = submission.call("apply_rope", x, torch.tensor([0, 1]))
    close(out[0], x[0])
    # pair 0 turns by 1 radian; pair 1 by 1 / 10000^(2/4) = 0.01 radians
    close(out[1], torch.tensor([math.cos(1.0), math.sin(1.0), -2.0 * math.sin(0.01), 2.0 * math.cos(0.01)]))
    g = torch.Generator().manual_seed(2)
    y = torch.randn(2, 7, 16, generator=g)
    close(submission.call("apply_rope", y, torch.arange(7)).norm(dim=-1), y.norm(dim=-1))


# ----------------------------------------------------------------------------- part 4: KV cache


def test_kv_cache_update_and_length(submission):
    """update() concatenates along dim -2 and returns everything cached; len counts time steps."""
    cache = submission.call("KVCache")
    assert cache.__len__() == 0
    k1, v1 = torch.zeros(1, 2, 3, 4), torch.ones(1, 2, 3, 5)
    k2, v2 = torch.ones(1, 2, 1, 4), torch.zeros(1, 2, 1, 5)
    cache.update(k1, v1)
    k_all, v_all = cache.update(k2, v2)
    assert cache.__len__() == 4
    close(k_all, torch.cat([k1, k2], dim=-2))
    close(v_all, torch.cat([v1, v2], dim=-2))


def test_kv_cache_decode_matches_causal_forward(submission):
    """Decoding one token at a time gives the same outputs as the causal forward pass."""
    mha = submission.call("MultiHeadAttention", 8, 2)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 5, 8, generator=g)
    full, _ = mha(x, x, x, causal=True)
    cache = submission.call("KVCache")
    steps = [mha.decode(x[:, t : t + 1], cache) for t in range(5)]
    close(torch.cat(steps, dim=1), full)
    assert cache.__len__() == 5


# ----------------------------------------------------------------------------- part 5: chunked


@pytest.mark.parametrize("causal", [False, True])
def test_chunked_matches_torch_small(submission, causal):
    """Chunks of 4 over 10 positions (the last chunk is short) give the exact attention output."""
    g = torch.Generator().manual_seed(4)
    q, k, v = (torch.randn(2, 10, 8, generator=g) for _ in range(3))
    out = submission.call("chunked_attention", q, k, v, chunk_size=4, causal=causal)
    close(out, F.scaled_dot_product_attention(q, k, v, is_causal=causal))


# ----------------------------------------------------------------------------- part 6: block


def test_block_shape_layout_and_causality(submission):
    """The block keeps (B, T, E), has the documented layout, and never looks at future tokens."""
    block = submission.call("TransformerBlock", 8, 2)
    names = set(block.state_dict())
    for name in ("ln1.weight", "attn.q_proj.weight", "attn.out_proj.bias", "ln2.bias", "mlp.0.weight", "mlp.2.bias"):
        assert name in names
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 6, 8, generator=g)
    y = x.clone()
    y[:, 4:] = torch.randn(2, 2, 8, generator=g)  # change the last two tokens only
    out_x, out_y = block(x), block(y)
    assert tuple(out_x.shape) == (2, 6, 8)
    close(out_x[:, :4], out_y[:, :4])
