"""Optimisers, learning-rate schedules and normalisation layers, written by hand in PyTorch.

Read README.md first: it gives the maths, the conventions and the points for each part.

Rules
-----
* Use only `math` and `torch` (already imported below). Tensors are ordinary `torch.Tensor`s;
  work in the dtype of the inputs (float32 and float64 are both tested).
* Do not use `torch.optim` (optimisers or schedulers), `torch.nn.utils.clip_grad_norm_`, the
  normalisation functions and modules of `torch` / `torch.nn` (`batch_norm`, `layer_norm`,
  `nn.BatchNorm1d`, `nn.LayerNorm`, ...), or autograd (`torch.autograd.grad`, `.backward()`)
  for the hand-written backward passes: the grader traps them.
* Keep every name and signature in this file: the tests call them by name.
"""

import math

import torch


# ---------------------------------------------------------------------------------------------
# Parts 1-4: optimisers. The base class is given; you write each optimiser's `update`.
# ---------------------------------------------------------------------------------------------


class Optimizer:
    """Base class of the optimisers (given, complete: read it, do not change it).

    ``params`` is a list of floating-point tensors (for a network: ``list(model.parameters())``).
    ``step(grads)`` updates every parameter **in place**, so a model that owns the tensors sees
    the new values. ``self.state[i]`` is a dict that belongs to parameter ``i``; it starts empty
    and each optimiser keeps its buffers (momentum, moment estimates, step count) there.

    Typical use::

        opt = Adam(model.parameters(), lr=1e-3)
        for x, y in batches:
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()              # reads p.grad; or opt.step([g1, g2, ...]) with explicit grads
            opt.set_lr(schedule(t)) # change the learning rate between steps
    """

    def __init__(self, params, lr):
        params = list(params)
        if not params:
            raise ValueError("the optimizer got an empty list of parameters")
        for i, p in enumerate(params):
            if not isinstance(p, torch.Tensor) or not p.is_floating_point():
                raise TypeError(f"parameter {i} is a {type(p).__name__}, not a floating-point tensor")
        self.params = params
        self.state = [{} for _ in params]
        self.set_lr(lr)

    def set_lr(self, lr):
        """Set the learning rate used by the following steps (schedules call this)."""
        lr = float(lr)
        if not (lr >= 0.0 and math.isfinite(lr)):
            raise ValueError(f"the learning rate must be a finite number >= 0, got {lr}")
        self.lr = lr

    def zero_grad(self):
        """Forget the gradients stored on the parameters (``p.grad = None``)."""
        for p in self.params:
            p.grad = None

    def step(self, grads=None):
        """One update of every parameter, in place; returns ``self.params``.

        ``grads``: a list with one gradient per parameter (same shape), or ``None`` to use
        ``p.grad``. A parameter whose gradient is ``None`` is skipped: neither it nor its state
        changes (its step count does not advance), as in ``torch.optim``.
        """
        if grads is None:
            grads = [p.grad for p in self.params]
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"step got {len(grads)} gradients for {len(self.params)} parameters")
        for i, (p, g) in enumerate(zip(self.params, grads)):  # check everything before changing anything
            if g is not None and tuple(g.shape) != tuple(p.shape):
                raise ValueError(f"gradient {i} has shape {tuple(g.shape)}, its parameter {tuple(p.shape)}")
        with torch.no_grad():
            for p, g, state in zip(self.params, grads, self.state):
                if g is not None:
                    self.update(p, g.to(p.dtype), state)
        return self.params

    def update(self, p, g, state):
        """Update one parameter ``p`` in place from its gradient ``g``; subclasses implement this.

        Treat ``g`` as read-only (it may be ``p.grad`` itself): write ``g = g + ...``, not ``g.add_(...)``.
        """
        raise NotImplementedError(f"{type(self).__name__}.update is not implemented yet: each optimiser "
                                  "writes its own (README.md, parts 1-4)")


def _check_nonnegative(**values):
    for name, value in values.items():
        if not (value >= 0.0):
            raise ValueError(f"{name} must be >= 0, got {value}")


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay.

    Hyper-parameters: learning rate ``lr`` (eta), ``momentum`` (mu, in [0, 1)), ``nesterov``,
    ``weight_decay`` (lambda). This is the PyTorch convention (``torch.optim.SGD`` without
    dampening). For one parameter ``p`` with gradient ``g``, each step::

        g = g + lambda * p                  # L2 weight decay, added to the gradient
        if mu == 0:   d = g
        else:
            b = mu * b + g                  # b is the momentum buffer, 0 before the first step,
                                            # so the first step has b = g
            d = g + mu * b  if nesterov else  b
        p = p - eta * d                     # in place
    """

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr)
        _check_nonnegative(momentum=momentum, weight_decay=weight_decay)
        if nesterov and momentum == 0.0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)

    def update(self, p, g, state):
        """Update ``p`` in place (see the class docstring); keep the buffer in ``state``."""
        # YOUR CODE HERE
        raise NotImplementedError('optimization.py: SGD.update is not implemented yet (README.md, part 1: SGD with momentum, Nesterov momentum and weight decay)')


class RMSProp(Optimizer):
    """RMSProp (Hinton's lecture 6e; the ``torch.optim.RMSprop`` convention without momentum).

    Hyper-parameters: ``lr`` (eta), ``alpha`` (the decay of the average, in [0, 1)), ``eps``.
    For one parameter, with ``v`` = 0 before the first step::

        v = alpha * v + (1 - alpha) * g**2          # elementwise
        p = p - eta * g / (sqrt(v) + eps)           # eps OUTSIDE the square root
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
        super().__init__(params, lr)
        _check_nonnegative(eps=eps)
        if not (0.0 <= alpha < 1.0):
            raise ValueError(f"alpha must be in [0, 1), got {alpha}")
        self.alpha = float(alpha)
        self.eps = float(eps)

    def update(self, p, g, state):
        """Update ``p`` in place (see the class docstring); keep ``v`` in ``state``."""
        # YOUR CODE HERE
        raise NotImplementedError('optimization.py: RMSProp.update is not implemented yet (README.md, part 2: RMSProp)')


def _check_betas(betas):
    b1, b2 = betas
    if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
        raise ValueError(f"betas must be in [0, 1), got {betas}")
    return float(b1), float(b2)


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with bias correction and optional L2 weight decay.

    Hyper-parameters: ``lr`` (eta), ``betas`` = (beta1, beta2), ``eps``, ``weight_decay``
    (lambda). For one parameter, with ``m = v = 0`` and ``t = 0`` before its first step
    (``t`` counts the steps of *this* parameter)::

        g = g + lambda * p                       # L2 decay: added to the gradient (coupled)
        t = t + 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)               # bias correction
        v_hat = v / (1 - beta2**t)
        p = p - eta * m_hat / (sqrt(v_hat) + eps)

    This is ``torch.optim.Adam``; eps goes outside the square root of the corrected ``v_hat``.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        _check_nonnegative(eps=eps, weight_decay=weight_decay)
        self.betas = _check_betas(betas)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def update(self, p, g, state):
        """Update ``p`` in place (see the class docstring); keep ``t``, ``m`` and ``v`` in ``state``."""
        # YOUR CODE HERE
        raise NotImplementedError('optimization.py: Adam.update is not implemented yet (README.md, part 3: Adam with bias correction)')


class AdamW(Optimizer):
    """AdamW (Loshchilov and Hutter, 2019): Adam with *decoupled* weight decay.

    Same hyper-parameters and moment updates as ``Adam`` (bias correction included), but the
    decay never enters ``g``, ``m`` or ``v``: it shrinks the parameter directly. Each step::

        p = p - eta * lambda * p                 # decoupled decay, from the old p
        t = t + 1;  m, v, m_hat, v_hat as in Adam, from the raw gradient g
        p = p - eta * m_hat / (sqrt(v_hat) + eps)

    This is ``torch.optim.AdamW`` (decay scaled by the learning rate). The grader also accepts
    the paper's form without the learning rate in the decay, ``p = p - lambda * p`` (see README).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr)
        _check_nonnegative(eps=eps, weight_decay=weight_decay)
        self.betas = _check_betas(betas)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def update(self, p, g, state):
        """Update ``p`` in place (see the class docstring); keep ``t``, ``m`` and ``v`` in ``state``."""
        # YOUR CODE HERE
        raise NotImplementedError('optimization.py: AdamW.update is not implemented yet (README.md, part 4: AdamW: decoupled weight decay)')


# ---------------------------------------------------------------------------------------------
# Part 5: gradient clipping by the global norm
# ---------------------------------------------------------------------------------------------


def clip_grad_norm(grads, max_norm, eps=1e-6):
    """Scale a list of gradients so that their *global* L2 norm is at most ``max_norm``.

    * ``grads``: a list of tensors of any shapes (one per parameter); ``max_norm`` > 0.
    * The global norm treats all the gradients as one long vector::

          total = sqrt( sum over tensors of sum(g**2) )
          scale = min(1, max_norm / (total + eps))
          clipped = [g * scale for g in grads]     # the same factor for every tensor

    * Returns ``(clipped, total)``: a new list of tensors (shapes and dtypes of the inputs; do not
      change the inputs) and ``total`` as a Python float (the norm *before* clipping).
      All-zero gradients give ``total = 0`` and are returned unchanged.
    * Raise ``ValueError`` if ``max_norm`` is not > 0.

    This is what ``torch.nn.utils.clip_grad_norm_(params, max_norm)`` does to ``p.grad``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('optimization.py: clip_grad_norm is not implemented yet (README.md, part 5: Gradient clipping by the global norm)')


# ---------------------------------------------------------------------------------------------
# Part 6: learning-rate schedules. Each maps the step index t = 0, 1, 2, ... (the t-th call of
# opt.step()) to the learning rate used at that step.
# ---------------------------------------------------------------------------------------------


def step_lr(t, base_lr, step_size, gamma=0.1):
    """Step decay: ``lr(t) = base_lr * gamma ** floor(t / step_size)``  (``torch``'s ``StepLR``).

    ``t`` >= 0 and ``step_size`` >= 1 are ints; returns a Python float. Raise ``ValueError`` for
    ``t < 0`` or ``step_size < 1``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('optimization.py: step_lr is not implemented yet (README.md, part 6: Learning-rate schedules: step, cosine, warm-up + cosine)')


def cosine_lr(t, base_lr, total_steps, min_lr=0.0):
    """Cosine annealing from ``base_lr`` at ``t = 0`` to ``min_lr`` at ``t = total_steps``::

        lr(t) = min_lr + (base_lr - min_lr) * (1 + cos(pi * t / total_steps)) / 2   for t <= total_steps
        lr(t) = min_lr                                                           for t >  total_steps

    (``CosineAnnealingLR(T_max=total_steps, eta_min=min_lr)`` up to ``T_max``; torch's version
    rises again after ``T_max``, this one stays at ``min_lr``.) Returns a Python float; raise
    ``ValueError`` for ``t < 0`` or ``total_steps < 1``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('optimization.py: cosine_lr is not implemented yet (README.md, part 6: Learning-rate schedules: step, cosine, warm-up + cosine)')


def warmup_cosine_lr(t, base_lr, warmup_steps, total_steps, min_lr=0.0):
    """Linear warm-up for ``warmup_steps`` steps, then cosine annealing to ``min_lr``::

        lr(t) = base_lr * (t + 1) / warmup_steps                       for t <  W   (W = warmup_steps)
        lr(t) = cosine_lr(t - W, base_lr, total_steps - W, min_lr)      for t >= W

    So the very first step already moves (``base_lr / W``, not 0), the warm-up reaches ``base_lr``
    at ``t = W - 1``, the cosine starts from ``base_lr`` at ``t = W`` and reaches ``min_lr`` at
    ``t = total_steps``, and stays there. ``warmup_steps = 0`` is plain cosine annealing.
    Returns a Python float; raise ``ValueError`` unless ``0 <= warmup_steps < total_steps`` and
    ``t >= 0``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('optimization.py: warmup_cosine_lr is not implemented yet (README.md, part 6: Learning-rate schedules: step, cosine, warm-up + cosine)')


# ---------------------------------------------------------------------------------------------
# Part 7: batch normalisation
# ---------------------------------------------------------------------------------------------


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    """Batch normalisation of ``x`` ``(N, D)`` over the batch, one mean and variance per feature.

    * ``gamma``, ``beta``, ``running_mean``, ``running_var``: ``(D,)``, the dtype of ``x``.
    * Training (``training=True``), with the batch mean ``mu`` and the **biased** batch variance
      ``var = mean((x - mu)**2)`` (divide by N) per feature::

          out = gamma * (x - mu) / sqrt(var + eps) + beta
          new_running_mean = (1 - momentum) * running_mean + momentum * mu
          new_running_var  = (1 - momentum) * running_var  + momentum * var * N / (N - 1)

      The running variance uses the **unbiased** estimate (divide by N - 1), as PyTorch does;
      the normalisation itself uses the biased one. N = 1 has no variance: raise ``ValueError``.
    * Evaluation (``training=False``): normalise with the running statistics and leave them as
      they are::

          out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta
          new_running_mean, new_running_var = running_mean, running_var   (unchanged values)

    Returns ``(out, new_running_mean, new_running_var)``: ``(N, D)``, ``(D,)``, ``(D,)``. Do not
    modify the input tensors; return new ones. Together this is ``nn.BatchNorm1d(D, eps,
    momentum)`` in ``train()`` / ``eval()`` mode, whose running statistics start at 0 and 1.
    """
    # YOUR CODE HERE
    raise NotImplementedError('optimization.py: batchnorm_forward is not implemented yet (README.md, part 7: Batch normalisation: forward (train/eval, running statistics) and backward)')


def batchnorm_backward(dout, x, gamma, eps=1e-5):
    """Gradients of training-mode batch norm, written by hand (no autograd).

    ``out = gamma * xhat + beta`` with ``xhat = (x - mu) / sigma``, ``sigma = sqrt(var + eps)``,
    ``mu`` and the biased ``var`` taken over the N rows of ``x`` ``(N, D)`` (recompute them from
    ``x``). Given ``dout = dL/dout`` ``(N, D)``, return ``(dx, dgamma, dbeta)``::

        dbeta  = sum over rows of dout                                 (D,)
        dgamma = sum over rows of dout * xhat                          (D,)
        dx     = gamma / (N * sigma) * (N * dout - sum_rows(dout) - xhat * sum_rows(dout * xhat))

    The last line is the chain rule through ``mu`` and ``var``, which both depend on every row;
    derive it (README, part 7). ``dx`` is ``(N, D)``; everything in the dtype of ``x``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('optimization.py: batchnorm_backward is not implemented yet (README.md, part 7: Batch normalisation: forward (train/eval, running statistics) and backward)')


# ---------------------------------------------------------------------------------------------
# Part 8: layer normalisation
# ---------------------------------------------------------------------------------------------


def layernorm_forward(x, gamma, beta, eps=1e-5):
    """Layer normalisation over the last dimension of ``x`` ``(..., D)``.

    For every row ``x_i`` (a vector of D features), with its own mean ``mu_i`` and **biased**
    variance ``var_i`` (divide by D)::

        out_i = gamma * (x_i - mu_i) / sqrt(var_i + eps) + beta        gamma, beta: (D,)

    No running statistics and no train/eval difference: each row is normalised on its own, so a
    batch of one works. Returns ``out`` with the shape and dtype of ``x``; this is
    ``torch.nn.functional.layer_norm(x, (D,), gamma, beta, eps)``.
    """
    # YOUR CODE HERE
    raise NotImplementedError('optimization.py: layernorm_forward is not implemented yet (README.md, part 8: Layer normalisation: forward and backward)')


def layernorm_backward(dout, x, gamma, eps=1e-5):
    """Gradients of layer norm, written by hand (no autograd).

    ``x``, ``dout``: ``(..., D)``; ``gamma``: ``(D,)``. Returns ``(dx, dgamma, dbeta)`` with ``dx``
    shaped like ``x`` and ``dgamma``, ``dbeta`` ``(D,)`` summed over **all** leading dimensions.
    Per row it is batch norm's formula with the roles of rows and features swapped: the mean
    and variance are over the D features of the row, and ``gamma`` multiplies ``dout`` first::

        g  = dout * gamma                                                (..., D)
        dx = (D * g - sum_D(g) - xhat * sum_D(g * xhat)) / (D * sigma)   per row, sigma = sqrt(var + eps)
    """
    # YOUR CODE HERE
    raise NotImplementedError('optimization.py: layernorm_backward is not implemented yet (README.md, part 8: Layer normalisation: forward and backward)')


# ---------------------------------------------------------------------------------------------
# Given: modules that run your forward and backward passes inside autograd, for the notebook.
# ---------------------------------------------------------------------------------------------


class _BatchNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, gamma, beta, eps):
        ctx.save_for_backward(x, gamma)
        ctx.eps = eps
        return batchnorm_forward(x, gamma, beta, torch.zeros_like(gamma), torch.ones_like(gamma), True, 0.0, eps)[0]

    @staticmethod
    def backward(ctx, dout):
        x, gamma = ctx.saved_tensors
        dx, dgamma, dbeta = batchnorm_backward(dout, x, gamma, ctx.eps)
        return dx, dgamma, dbeta, None


class _LayerNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, gamma, beta, eps):
        ctx.save_for_backward(x, gamma)
        ctx.eps = eps
        return layernorm_forward(x, gamma, beta, eps)

    @staticmethod
    def backward(ctx, dout):
        x, gamma = ctx.saved_tensors
        dx, dgamma, dbeta = layernorm_backward(dout, x, gamma, ctx.eps)
        return dx, dgamma, dbeta, None


class BatchNorm1d(torch.nn.Module):
    """``nn.BatchNorm1d`` for ``(N, D)`` inputs built on your ``batchnorm_forward``/``_backward``."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = torch.nn.Parameter(torch.ones(num_features))
        self.bias = torch.nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        if not self.training:
            return batchnorm_forward(x, self.weight, self.bias, self.running_mean, self.running_var,
                                     False, self.momentum, self.eps)[0]
        with torch.no_grad():  # the running statistics are not part of the graph
            _, mean, var = batchnorm_forward(x, self.weight, self.bias, self.running_mean, self.running_var,
                                             True, self.momentum, self.eps)
            self.running_mean.copy_(mean)
            self.running_var.copy_(var)
        return _BatchNormFunction.apply(x, self.weight, self.bias, self.eps)


class LayerNorm(torch.nn.Module):
    """``nn.LayerNorm(D)`` built on your ``layernorm_forward``/``_backward``."""

    def __init__(self, num_features, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(num_features))
        self.bias = torch.nn.Parameter(torch.zeros(num_features))

    def forward(self, x):
        return _LayerNormFunction.apply(x, self.weight, self.bias, self.eps)
