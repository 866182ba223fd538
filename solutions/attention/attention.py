"""Attention from scratch: scaled dot-product attention, multi-head attention, positional
encodings, a KV cache for decoding, memory-efficient chunked attention and a Transformer block.

Read README.md first: it gives the maths, the conventions and the points for each part.

Rules
-----
* Use only `math`, `torch` and `torch.nn` (already imported below).
* Do not call `torch.nn.functional.scaled_dot_product_attention` or use
  `torch.nn.MultiheadAttention`: the grader traps both.
* Keep every name and signature in this file: the tests call them by name.
* Work in the dtype of the inputs (float32 or float64); do not move tensors to another device.
"""

import math

import torch
import torch.nn as nn


# ---------------------------------------------------------------------------------------------
# Part 1: scaled dot-product attention
# ---------------------------------------------------------------------------------------------


def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    """Scaled dot-product attention that also returns the attention weights.

    Shapes (``...`` are leading batch dimensions, e.g. ``(B,)`` or ``(B, H)``; the leading
    dimensions of q, k and v broadcast against each other like in ``torch.matmul``):

    * ``q``: ``(..., Tq, d)`` queries, ``k``: ``(..., Tk, d)`` keys, ``v``: ``(..., Tk, dv)`` values;
    * returns ``(out, weights)`` with ``weights``: ``(..., Tq, Tk)`` and ``out``: ``(..., Tq, dv)``,
      both in the dtype of ``q`` (float32 or float64).

    Formula::

        scores  = q @ k^T / sqrt(d)                 # (..., Tq, Tk), d = q.shape[-1]
        scores[i, j] = -inf  where key j is not allowed for query i
        weights = softmax(scores, over the key axis)  # every row sums to 1
        out     = weights @ v

    Which keys are allowed:

    * ``mask``: ``None`` or a **bool** tensor broadcastable to ``(..., Tq, Tk)``;
      ``True`` means "query i may attend to key j" (the same meaning as a boolean
      ``attn_mask`` in ``torch.nn.functional.scaled_dot_product_attention``).
    * ``causal=True``: query ``i`` may attend to key ``j`` iff ``j <= i + (Tk - Tq)``.
      The mask is aligned to the bottom-right corner: the last query sees every key. This is
      the convention for decoding with a cache (the queries are the last Tq of Tk positions);
      for ``Tq == Tk`` it is the usual lower-triangular mask (diagonal included).
    * If both are given, a key is allowed only if both allow it.

    Numerical requirements:

    * stable softmax: subtract each row's maximum (over the allowed keys) before ``exp``
      (``torch.softmax`` does this and may be used; a softmax written by hand must do it);
      the function must give finite, correct results for scores around 1e4 in float32;
    * a query row in which **no** key is allowed gets weights that are all 0 and an output
      row of 0 (never NaN).
    """
    ### BEGIN SOLUTION
    d = q.shape[-1]
    tq, tk = q.shape[-2], k.shape[-2]
    scores = (q / math.sqrt(d)) @ k.transpose(-2, -1)
    allowed = None  # None: every key allowed, so the masking passes over (Tq, Tk) are skipped
    if causal:
        i = torch.arange(tq, device=q.device).unsqueeze(-1)
        j = torch.arange(tk, device=q.device)
        allowed = j <= i + (tk - tq)
    if mask is not None:
        allowed = mask if allowed is None else allowed & mask
    # torch.softmax subtracts the row max before exponentiating: stable for large logits.
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if allowed is not None:
        # A fully masked row is all -inf, where softmax gives NaN; the convention is zeros.
        empty = ~allowed.any(dim=-1, keepdim=True)
        if empty.any():
            weights = weights.masked_fill(empty, 0.0)
    return weights @ v, weights
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 2: multi-head attention (and part 4: decoding with a KV cache)
# ---------------------------------------------------------------------------------------------


class MultiHeadAttention(nn.Module):
    """Multi-head attention, batch first, built on your ``scaled_dot_product_attention``.

    Layout (the tests load weights by these names, so keep it exactly):

    * ``self.q_proj``, ``self.k_proj``, ``self.v_proj``, ``self.out_proj``: each
      ``nn.Linear(embed_dim, embed_dim, bias=bias)``; nothing else has parameters.
    * ``embed_dim`` E must be divisible by ``num_heads`` H; the head size is ``dh = E // H``.
    * Head ``h`` uses features ``[h*dh : (h+1)*dh]`` of the projected queries, keys and values,
      and the heads' outputs are concatenated in the same order before ``out_proj``.

    With this layout, copying ``torch.nn.MultiheadAttention``'s ``in_proj_weight`` (its three
    row blocks are the q, k and v weights) and ``out_proj`` into this module gives the same
    results as ``torch.nn.MultiheadAttention(E, H, batch_first=True)``.
    """

    def __init__(self, embed_dim, num_heads, bias=True):
        """Create the four projections (see the class docstring) and remember E, H and dh."""
        super().__init__()
        ### BEGIN SOLUTION
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads}")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        ### END SOLUTION

    def _split_heads(self, x):
        """Helper: ``(B, T, E)`` -> ``(B, H, T, dh)``, head ``h`` taking features ``[h*dh:(h+1)*dh]``."""
        ### BEGIN SOLUTION
        b, t, _ = x.shape
        return x.view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        ### END SOLUTION

    def _merge_heads(self, x):
        """Helper, the inverse of ``_split_heads``: ``(B, H, T, dh)`` -> ``(B, T, E)``."""
        ### BEGIN SOLUTION
        b, _, t, _ = x.shape
        return x.transpose(1, 2).reshape(b, t, self.embed_dim)
        ### END SOLUTION

    def forward(self, query, key, value, mask=None, causal=False):
        """Multi-head attention of ``query`` over ``key``/``value``.

        * ``query``: ``(B, Tq, E)``; ``key``, ``value``: ``(B, Tk, E)`` (self-attention passes the
          same tensor three times; cross-attention may have ``Tq != Tk``).
        * ``mask``: ``None`` or a bool tensor broadcastable to ``(B, H, Tq, Tk)``, ``True`` = may
          attend (e.g. ``(Tq, Tk)`` for all batches and heads, or ``(B, 1, 1, Tk)`` for padding).
        * ``causal``: as in part 1 (bottom-right aligned).

        Steps: project (``q_proj(query)``, ``k_proj(key)``, ``v_proj(value)``), split into heads
        ``(B, H, T, dh)``, run your ``scaled_dot_product_attention`` on all heads at once, merge the
        heads back to ``(B, Tq, E)`` and apply ``out_proj``.

        Returns ``(out, weights)``: ``out`` ``(B, Tq, E)`` and the per-head attention weights
        ``(B, H, Tq, Tk)`` (not averaged over heads).
        """
        ### BEGIN SOLUTION
        q = self._split_heads(self.q_proj(query))
        k = self._split_heads(self.k_proj(key))
        v = self._split_heads(self.v_proj(value))
        out, weights = scaled_dot_product_attention(q, k, v, mask=mask, causal=causal)
        out = self.out_proj(self._merge_heads(out))
        return out, weights
        ### END SOLUTION

    def decode(self, x, cache):
        """Causal self-attention for new tokens, reusing the keys and values of earlier ones (part 4).

        * ``x``: ``(B, Tnew, E)``, the next ``Tnew >= 1`` tokens of a sequence whose earlier tokens
          have already gone through ``decode`` with the same ``cache`` (a ``KVCache``, empty at
          the start of a sequence).
        * Project q, k and v of the new tokens only and split them into heads
          ``(B, H, Tnew, dh)``; append the new k and v with ``cache.update(k, v)``, which returns
          all cached keys and values ``(B, H, Tk, dh)`` (``Tk`` = tokens so far, new ones included);
          attend causally (bottom-right aligned: new token ``i`` sees every earlier token and the
          new tokens up to itself); merge heads and apply ``out_proj``.

        Returns ``(B, Tnew, E)``. Feeding a sequence through ``decode`` one token at a time (or
        in any chunks) gives the same outputs as ``forward(x, x, x, causal=True)`` on the whole
        sequence.
        """
        ### BEGIN SOLUTION
        q = self._split_heads(self.q_proj(x))
        k_new = self._split_heads(self.k_proj(x))
        v_new = self._split_heads(self.v_proj(x))
        k_all, v_all = cache.update(k_new, v_new)
        attended, _ = scaled_dot_product_attention(q, k_all, v_all, causal=True)
        return self.out_proj(self._merge_heads(attended))
        ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 3: positional information
# ---------------------------------------------------------------------------------------------


def sinusoidal_positional_encoding(num_positions, dim, base=10000.0):
    """The sinusoidal position table of "Attention Is All You Need".

    Returns a float32 tensor ``PE`` of shape ``(num_positions, dim)`` (``dim`` even) with, for
    position ``p`` and ``i = 0 .. dim/2 - 1``::

        PE[p, 2i]     = sin(p / base^(2i / dim))
        PE[p, 2i + 1] = cos(p / base^(2i / dim))

    Positions start at 0. Tip: compute the angles in float64 and convert at the end; float32
    angles lose accuracy for large ``p``.
    """
    ### BEGIN SOLUTION
    if dim % 2 != 0:
        raise ValueError(f"dim must be even, got {dim}")
    pos = torch.arange(num_positions, dtype=torch.float64).unsqueeze(-1)
    freq = base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    angles = pos / freq  # (num_positions, dim / 2)
    pe = torch.stack([torch.sin(angles), torch.cos(angles)], dim=-1)
    return pe.reshape(num_positions, dim).to(torch.float32)
    ### END SOLUTION


def apply_rope(x, positions, base=10000.0):
    """Rotary position embedding (RoPE, Su et al., "RoFormer"), interleaved-pair convention.

    * ``x``: ``(..., T, d)`` float32 or float64, ``d`` even; ``positions``: integer tensor ``(T,)``,
      the position of each of the T rows.
    * For ``i = 0 .. d/2 - 1`` the pair ``(x[..., t, 2i], x[..., t, 2i+1])`` is rotated by the angle
      ``theta = positions[t] * base^(-2i / d)``::

          out[..., t, 2i]     = x[..., t, 2i] * cos(theta) - x[..., t, 2i+1] * sin(theta)
          out[..., t, 2i + 1] = x[..., t, 2i] * sin(theta) + x[..., t, 2i+1] * cos(theta)

      The pairs are neighbouring features (0, 1), (2, 3), ... -- not the "half split"
      (i, i + d/2) used by GPT-NeoX/Llama code.
    * Returns a tensor of the same shape and dtype as ``x``. Compute the angles in float64 and
      cast ``cos``/``sin`` to ``x.dtype``: float64 inputs are checked at float64 precision.

    Because each pair is rotated, norms are preserved, and for one query vector ``a`` and one
    key vector ``b``, ``<rope(a, m), rope(b, n)>`` depends on the positions only through ``m - n``.
    """
    ### BEGIN SOLUTION
    d = x.shape[-1]
    if d % 2 != 0:
        raise ValueError(f"the last dimension must be even, got {d}")
    inv_freq = base ** (-torch.arange(0, d, 2, dtype=torch.float64, device=x.device) / d)
    theta = positions.to(torch.float64).unsqueeze(-1) * inv_freq  # (T, d / 2)
    cos = torch.cos(theta).to(x.dtype)
    sin = torch.sin(theta).to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    rotated = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
    return rotated
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 4: KV cache (plus MultiHeadAttention.decode above)
# ---------------------------------------------------------------------------------------------


class KVCache:
    """Keys and values of the tokens decoded so far.

    Stores tensors shaped ``(..., T, dh)`` (for ``MultiHeadAttention.decode``: ``(B, H, T, dh)``);
    time is dimension ``-2``.
    """

    def __init__(self):
        """An empty cache."""
        ### BEGIN SOLUTION
        self.k = None
        self.v = None
        ### END SOLUTION

    def update(self, k, v):
        """Append ``k`` ``(..., Tnew, dk)`` and ``v`` ``(..., Tnew, dv)`` along the time dimension (-2).

        Returns ``(k_all, v_all)``: every key and value cached so far, oldest first, including the
        new ones, shaped ``(..., T, dk)`` and ``(..., T, dv)``.
        """
        ### BEGIN SOLUTION
        if self.k is None:
            self.k, self.v = k, v
        else:
            self.k = torch.cat([self.k, k], dim=-2)
            self.v = torch.cat([self.v, v], dim=-2)
        return self.k, self.v
        ### END SOLUTION

    def __len__(self):
        """The number of cached time steps (0 for an empty cache)."""
        ### BEGIN SOLUTION
        return 0 if self.k is None else self.k.shape[-2]
        ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 5: chunked (memory-efficient) attention
# ---------------------------------------------------------------------------------------------


def chunked_attention(q, k, v, chunk_size=128, causal=False):
    """Exact attention output, computed block by block with an online softmax.

    Same inputs, output and ``causal`` convention as part 1 (no ``mask`` argument, no weights
    returned): ``q`` ``(..., Tq, d)``, ``k`` ``(..., Tk, d)``, ``v`` ``(..., Tk, dv)`` ->
    ``out`` ``(..., Tq, dv)`` in the dtype of ``q``. With ``causal=True``, ``Tk >= Tq`` is required
    (then every query sees at least key 0, so no row is fully masked).

    Split the queries into chunks of ``chunk_size`` rows and, for each query chunk, walk over the
    keys/values in chunks of ``chunk_size``, keeping per query row a running maximum ``m``, a
    running denominator ``l`` and an unnormalised output ``acc``. For each key block with
    (scaled, causally masked) scores ``s``::

        m_new = max(m, rowmax(s))
        p     = exp(s - m_new)
        l     = l * exp(m - m_new) + rowsum(p)
        acc   = acc * exp(m - m_new) + p @ v_block
        m     = m_new

    and at the end ``out = acc / l``. Start from ``m = -inf``, ``l = 0``, ``acc = 0``. The last
    chunk may be shorter; ``chunk_size`` may exceed the sequence length.

    Memory: never build a ``(Tq, Tk)`` score matrix. Besides the inputs and the output, use
    O(chunk_size^2 + chunk_size * d) extra memory per batch element (the grader measures it).
    """
    ### BEGIN SOLUTION
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    d = q.shape[-1]
    tq, tk = q.shape[-2], k.shape[-2]
    if causal and tk < tq:
        raise ValueError("causal chunked attention needs Tk >= Tq")
    offset = tk - tq
    scale = 1.0 / math.sqrt(d)
    outs = []
    for q0 in range(0, tq, chunk_size):
        qc = q[..., q0:q0 + chunk_size, :] * scale
        rows = torch.arange(q0, q0 + qc.shape[-2], device=q.device).unsqueeze(-1)
        m = torch.full(qc.shape[:-1] + (1,), float("-inf"), dtype=q.dtype, device=q.device)
        l = torch.zeros_like(m)
        acc = torch.zeros(qc.shape[:-1] + (v.shape[-1],), dtype=q.dtype, device=q.device)
        for k0 in range(0, tk, chunk_size):
            if causal and k0 > q0 + qc.shape[-2] - 1 + offset:
                break  # this key block and all later ones are in the future of every row
            kc = k[..., k0:k0 + chunk_size, :]
            vc = v[..., k0:k0 + chunk_size, :]
            s = qc @ kc.transpose(-2, -1)
            if causal:
                cols = torch.arange(k0, k0 + kc.shape[-2], device=q.device)
                s = s.masked_fill(cols > rows + offset, float("-inf"))
            m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
            p = torch.exp(s - m_new)
            correction = torch.exp(m - m_new)
            l = l * correction + p.sum(dim=-1, keepdim=True)
            acc = acc * correction + p @ vc
            m = m_new
        outs.append(acc / l)
    return torch.cat(outs, dim=-2)
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 6: a Transformer block
# ---------------------------------------------------------------------------------------------


class TransformerBlock(nn.Module):
    """A pre-LayerNorm, causal (decoder-style) Transformer block.

    Layout (the tests load weights by these names):

    * ``self.ln1 = nn.LayerNorm(E)``, ``self.attn = MultiHeadAttention(E, num_heads)`` (yours,
      with biases), ``self.ln2 = nn.LayerNorm(E)``;
    * ``self.mlp = nn.Sequential(nn.Linear(E, mlp_ratio * E), nn.GELU(), nn.Linear(mlp_ratio * E, E))``
      (``nn.GELU()`` with its default, exact erf form).

    Forward, for ``x`` of shape ``(B, T, E)``::

        h = ln1(x);  x = x + attn(h, h, h, causal=True)[0]
        x = x + mlp(ln2(x))

    returns ``(B, T, E)``. No dropout.
    """

    def __init__(self, embed_dim, num_heads, mlp_ratio=4):
        """Create ``ln1``, ``attn``, ``ln2`` and ``mlp`` as described in the class docstring."""
        super().__init__()
        ### BEGIN SOLUTION
        hidden = mlp_ratio * embed_dim
        self.ln1 = nn.LayerNorm(embed_dim)
        self.attn = MultiHeadAttention(embed_dim, num_heads)
        self.ln2 = nn.LayerNorm(embed_dim)
        self.mlp = nn.Sequential(nn.Linear(embed_dim, hidden), nn.GELU(), nn.Linear(hidden, embed_dim))
        ### END SOLUTION

    def forward(self, x):
        """``x`` ``(B, T, E)`` -> ``(B, T, E)``: causal self-attention and MLP, each pre-normed with a residual."""
        ### BEGIN SOLUTION
        h = self.ln1(x)
        x = x + self.attn(h, h, h, causal=True)[0]
        x = x + self.mlp(self.ln2(x))
        return x
        ### END SOLUTION
