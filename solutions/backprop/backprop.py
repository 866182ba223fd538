"""An automatic-differentiation engine from scratch, over NumPy arrays.

Read README.md first: it gives the maths, the conventions and the points for each part.

Rules
-----
* Use only `math` and `numpy` (imported below). Importing torch, autograd or jax in this file
  is forbidden: the grader scans for it and refuses the import.
* Keep every name and signature in this file: the tests call them by name.
* Everything is float64: `Tensor` converts what it is given with `np.asarray(..., float64)`.
* The section "Test harness" at the end is how the grader builds expressions out of your
  `Tensor`; it is given, do not change it.

How a node is made
------------------
Every operation makes exactly **one** new node (do not build an op out of other ops: the tests
call each op's VJP directly). It computes its output array and a *vector-Jacobian product* (VJP): a function
that takes the gradient of the final scalar with respect to the output (an array with the
output's shape) and returns one gradient per parent. It then calls
``Tensor._from_op(out_data, parents, vjp, "name")``. The gradients a VJP returns may have the
output's (broadcast) shape: ``backward`` reduces each one to its parent's shape with
``unbroadcast``. So an op never sums over broadcast axes itself, and never touches ``.grad``.
"""

import math

import numpy as np


# ---------------------------------------------------------------------------------------------
# Part 2: broadcasting, and part 3: the backward pass (used by the Tensor class below)
# ---------------------------------------------------------------------------------------------


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the gradient rule of NumPy broadcasting.

    If ``x`` of shape ``shape`` was broadcast to ``grad.shape`` in the forward pass, every
    entry of ``x`` was copied to several places, so its gradient is the **sum** of the
    gradients of its copies:

    * axes that broadcasting prepended (``grad.ndim > len(shape)``) are summed away;
    * axes where ``shape`` has size 1 and ``grad`` has not are summed with ``keepdims=True``.

    ``grad``: float64 array whose shape ``shape`` broadcasts to; ``shape``: tuple of ints
    (``()`` for a scalar). Returns an array of exactly ``shape``. Example:
    ``unbroadcast(np.ones((4, 2, 3)), (2, 1))`` is ``np.full((2, 1), 12.0)``.
    Raises ``ValueError`` if ``shape`` does not broadcast to ``grad.shape``.
    """
    ### BEGIN SOLUTION
    grad = np.asarray(grad, dtype=np.float64)
    shape = tuple(shape)
    if np.broadcast_shapes(shape, grad.shape) != grad.shape:
        raise ValueError(f"shape {shape} does not broadcast to {grad.shape}")
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if ones:
        grad = grad.sum(axis=ones, keepdims=True)
    return grad.reshape(shape)
    ### END SOLUTION


def topological_order(root):
    """Every tensor ``root`` depends on (itself included), each once, parents before children.

    Walk the graph through ``t._parents``. The result must be a list in which every tensor
    comes **after** all of its parents, so ``root`` is last and the leaves come early;
    ``backward`` walks it in reverse. A tensor reached along several paths (a node used more
    than once) appears exactly once. Tensors are compared by identity (``is``), not ``==``.

    Graphs can be deeper than Python's recursion limit (a chain of 1500 operations must
    work), so use an explicit stack rather than recursion.
    """
    ### BEGIN SOLUTION
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)  # all parents are already in `order`
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in node._parents:
            if id(parent) not in visited:
                stack.append((parent, False))
    return order
    ### END SOLUTION


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


class Tensor:
    """A float64 NumPy array that remembers how it was computed.

    Attributes: ``data`` (the array), ``grad`` (``None`` until ``backward`` writes it, then an
    array of ``data.shape``), ``requires_grad``, ``_parents`` (the tensors it was computed
    from), ``_vjp`` (its vector-Jacobian product, ``None`` for leaves) and ``op`` (a name).
    """

    def __init__(self, data, requires_grad=False):
        self.data = np.array(data, dtype=np.float64)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._parents = ()
        self._vjp = None
        self.op = ""

    @staticmethod
    def _from_op(data, parents, vjp, op):
        """The node ``op(*parents) = data`` whose VJP is ``vjp(grad_out) -> tuple of grads``."""
        out = Tensor(data)
        out._parents = tuple(parents)
        out._vjp = vjp
        out.op = op
        out.requires_grad = any(p.requires_grad for p in out._parents)
        return out

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def T(self):
        return self.transpose()

    def numpy(self):
        return self.data.copy()

    def __repr__(self):
        return f"Tensor({self.data!r}, op={self.op!r})"

    # ----------------------------------------------------------------------------- part 3

    def backward(self, grad=None):
        """Reverse-mode autodiff: add d(self)/d(t) to ``t.grad`` for every ``t`` with ``requires_grad``.

        ``grad`` is the gradient to start from, an array of ``self.shape``; it may be omitted
        only when ``self`` has one element (then it is 1). Algorithm:

        1. ``order = topological_order(self)``; hold the gradients of this pass in a dict keyed
           by ``id(tensor)``, starting with ``{id(self): grad}``;
        2. walk ``order`` in **reverse** (children before parents); for a node with a ``_vjp``
           and a gradient, call ``node._vjp(g)`` and, for each parent, reduce the result with
           ``unbroadcast(·, parent.shape)`` and **add** it to the parent's gradient: a node used
           several times receives the sum over all its uses;
        3. for every node with ``requires_grad``, add its gradient to ``node.grad`` (set it if
           ``node.grad`` is ``None``): like PyTorch, a second ``backward`` accumulates.

        Nodes the output does not depend on are not touched. Returns ``None``.
        """
        ### BEGIN SOLUTION
        if grad is None:
            if self.data.size != 1:
                raise ValueError("backward() without a gradient needs a one-element output")
            grad = np.ones_like(self.data)
        grad = np.asarray(grad, dtype=np.float64)
        if grad.shape != self.shape:
            raise ValueError(f"gradient of shape {grad.shape} for an output of shape {self.shape}")
        grads = {id(self): grad}
        order = topological_order(self)
        for node in reversed(order):
            g = grads.get(id(node))
            if g is None or node._vjp is None:
                continue
            for parent, pg in zip(node._parents, node._vjp(g)):
                if pg is None:
                    continue
                pg = unbroadcast(pg, parent.shape)
                key = id(parent)
                grads[key] = grads[key] + pg if key in grads else pg
        for node in order:
            g = grads.get(id(node))
            if node.requires_grad and g is not None:
                node.grad = g.copy() if node.grad is None else node.grad + g
        ### END SOLUTION

    # ----------------------------------------------------------------------------- part 1: ops
    # Each op returns Tensor._from_op(out_data, parents, vjp, name). `other` may be a Tensor, an
    # array or a Python number: `_as_tensor(other)` makes it a Tensor (a leaf without grad).

    def __add__(self, other):
        """``self + other`` with broadcasting. VJP: ``g -> (g, g)``."""
        ### BEGIN SOLUTION
        other = _as_tensor(other)
        return Tensor._from_op(self.data + other.data, (self, other), lambda g: (g, g), "add")
        ### END SOLUTION

    def __neg__(self):
        """``-self``. VJP: ``g -> (-g,)``."""
        ### BEGIN SOLUTION
        return Tensor._from_op(-self.data, (self,), lambda g: (-g,), "neg")
        ### END SOLUTION

    def __sub__(self, other):
        """``self - other`` with broadcasting. VJP: ``g -> (g, -g)``."""
        ### BEGIN SOLUTION
        other = _as_tensor(other)
        return Tensor._from_op(self.data - other.data, (self, other), lambda g: (g, -g), "sub")
        ### END SOLUTION

    def __mul__(self, other):
        """``self * other`` (elementwise, broadcasting). VJP: ``g -> (g * other, g * self)``."""
        ### BEGIN SOLUTION
        other = _as_tensor(other)
        a, b = self.data, other.data
        return Tensor._from_op(a * b, (self, other), lambda g: (g * b, g * a), "mul")
        ### END SOLUTION

    def __truediv__(self, other):
        """``self / other`` (elementwise, broadcasting). VJP: ``g -> (g / b, -g * a / b**2)``."""
        ### BEGIN SOLUTION
        other = _as_tensor(other)
        a, b = self.data, other.data
        return Tensor._from_op(a / b, (self, other), lambda g: (g / b, -g * a / (b * b)), "div")
        ### END SOLUTION

    def __pow__(self, exponent):
        """``self ** p`` for a constant Python number ``p``. VJP: ``g -> (g * p * self**(p-1),)``."""
        ### BEGIN SOLUTION
        if isinstance(exponent, Tensor):
            raise TypeError("only constant exponents are supported")
        p = float(exponent)
        a = self.data
        return Tensor._from_op(a**p, (self,), lambda g: (g * p * a ** (p - 1),), "pow")
        ### END SOLUTION

    def __matmul__(self, other):
        """``self @ other`` for operands with ``ndim >= 2``: ``(..., n, k) @ (..., k, m) -> (..., n, m)``,
        leading dimensions broadcasting as in ``np.matmul``.

        VJP: ``g -> (g @ other^T, self^T @ g)`` with ``^T`` swapping the last two axes (the
        results have the broadcast leading dimensions; ``backward`` reduces them).
        """
        ### BEGIN SOLUTION
        other = _as_tensor(other)
        a, b = self.data, other.data
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError("matmul needs operands with at least two dimensions")
        return Tensor._from_op(a @ b, (self, other),
                               lambda g: (g @ np.swapaxes(b, -1, -2), np.swapaxes(a, -1, -2) @ g), "matmul")
        ### END SOLUTION

    def __radd__(self, other):
        return _as_tensor(other) + self

    def __rsub__(self, other):
        return _as_tensor(other) - self

    def __rmul__(self, other):
        return _as_tensor(other) * self

    def __rtruediv__(self, other):
        return _as_tensor(other) / self

    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (``None``: all axes; an int or a tuple of ints, negative allowed),
        like ``np.sum``. VJP: put the reduced axes back (``np.expand_dims`` when not
        ``keepdims``) and broadcast ``g`` to ``self.shape``: every summed entry gets ``g``."""
        ### BEGIN SOLUTION
        shape = self.shape
        out = self.data.sum(axis=axis, keepdims=keepdims)

        def vjp(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            elif axis is None and not keepdims:
                g = np.reshape(g, (1,) * len(shape))
            return (np.broadcast_to(g, shape),)

        return Tensor._from_op(out, (self,), vjp, "sum")
        ### END SOLUTION

    def mean(self, axis=None, keepdims=False):
        """Mean over ``axis`` (as ``sum``). VJP: as ``sum``'s, divided by the number of entries
        averaged into each output entry."""
        ### BEGIN SOLUTION
        shape = self.shape
        out = self.data.mean(axis=axis, keepdims=keepdims)
        count = self.data.size // max(out.size, 1) if self.data.size else 1

        def vjp(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            elif axis is None and not keepdims:
                g = np.reshape(g, (1,) * len(shape))
            return (np.broadcast_to(g / count, shape),)

        return Tensor._from_op(out, (self,), vjp, "mean")
        ### END SOLUTION

    def max(self, axis=None, keepdims=False):
        """Maximum over ``axis`` (as ``sum``). VJP: ``g`` goes to the entries that attain the
        maximum; when several tie, it is **split equally** among them (as ``torch.amax``)."""
        ### BEGIN SOLUTION
        shape = self.shape
        out = self.data.max(axis=axis, keepdims=keepdims)
        kept = self.data.max(axis=axis, keepdims=True)
        winners = (self.data == kept).astype(np.float64)
        winners /= winners.sum(axis=axis, keepdims=True)

        def vjp(g):
            if not keepdims:
                g = np.expand_dims(g, axis) if axis is not None else np.reshape(g, (1,) * len(shape))
            return (winners * g,)

        return Tensor._from_op(out, (self,), vjp, "max")
        ### END SOLUTION

    def reshape(self, *shape):
        """``reshape(2, 3)`` or ``reshape((2, 3))``; one ``-1`` allowed. VJP: reshape back."""
        ### BEGIN SOLUTION
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        before = self.shape
        return Tensor._from_op(self.data.reshape(shape), (self,), lambda g: (np.reshape(g, before),), "reshape")
        ### END SOLUTION

    def transpose(self, *axes):
        """Permute axes like ``np.transpose``: no argument reverses them, else a permutation
        (``transpose(1, 0, 2)`` or ``transpose((1, 0, 2))``). VJP: the inverse permutation."""
        ### BEGIN SOLUTION
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        perm = tuple(range(self.ndim))[::-1] if not axes else tuple(a % self.ndim for a in axes)
        inverse = tuple(np.argsort(perm))
        return Tensor._from_op(np.transpose(self.data, perm), (self,),
                               lambda g: (np.transpose(g, inverse),), "transpose")
        ### END SOLUTION

    def __getitem__(self, index):
        """NumPy indexing: ints, slices, lists or integer arrays. VJP: a zero array of
        ``self.shape`` with ``g`` **added** at the indexed places. With integer-array indices an
        entry can be picked several times and must then get the sum of its gradients:
        ``z[index] += g`` does not do that, ``np.add.at(z, index, g)`` does."""
        ### BEGIN SOLUTION
        shape = self.shape

        def vjp(g):
            z = np.zeros(shape)
            np.add.at(z, index, g)
            return (z,)

        return Tensor._from_op(self.data[index], (self,), vjp, "getitem")
        ### END SOLUTION

    def exp(self):
        """``e**self``. VJP: ``g -> (g * exp(self),)``."""
        ### BEGIN SOLUTION
        out = np.exp(self.data)
        return Tensor._from_op(out, (self,), lambda g: (g * out,), "exp")
        ### END SOLUTION

    def log(self):
        """Natural logarithm (of positive entries). VJP: ``g -> (g / self,)``."""
        ### BEGIN SOLUTION
        a = self.data
        return Tensor._from_op(np.log(a), (self,), lambda g: (g / a,), "log")
        ### END SOLUTION

    def tanh(self):
        """``tanh(self)``. VJP: ``g -> (g * (1 - tanh(self)**2),)``."""
        ### BEGIN SOLUTION
        out = np.tanh(self.data)
        return Tensor._from_op(out, (self,), lambda g: (g * (1.0 - out * out),), "tanh")
        ### END SOLUTION

    def sigmoid(self):
        """``1 / (1 + e**-self)``, without overflow warnings for large ``|self|`` (e.g. via
        ``0.5 * (1 + tanh(self / 2))``). VJP: ``g -> (g * s * (1 - s),)`` with ``s = sigmoid(self)``."""
        ### BEGIN SOLUTION
        s = 0.5 * (1.0 + np.tanh(0.5 * self.data))
        return Tensor._from_op(s, (self,), lambda g: (g * s * (1.0 - s),), "sigmoid")
        ### END SOLUTION

    def relu(self):
        """``max(self, 0)``. VJP: ``g`` where ``self > 0``, else 0 (the derivative at 0 is taken as 0)."""
        ### BEGIN SOLUTION
        mask = self.data > 0
        return Tensor._from_op(np.where(mask, self.data, 0.0), (self,), lambda g: (g * mask,), "relu")
        ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 4: a fused, numerically stable softmax cross-entropy
# ---------------------------------------------------------------------------------------------


def softmax_cross_entropy(logits, targets):
    """Mean cross-entropy of a softmax classifier, as **one** node with its own VJP.

    ``logits``: Tensor ``(N, C)``; ``targets``: integer array ``(N,)`` with values in
    ``[0, C)``. Returns a scalar Tensor (shape ``()``):

        loss = (1/N) * sum_n [ logsumexp(z_n) - z_n[y_n] ],
        logsumexp(z) = m + log(sum_c exp(z_c - m)),  m = max_c z_c.

    Subtracting ``m`` keeps every ``exp`` at most 1: logits around 1e4 must give a finite,
    correct loss and gradient. VJP: ``g -> (g * (softmax(z) - onehot(y)) / N,)``, with
    ``softmax`` computed from the same shifted logits.
    """
    ### BEGIN SOLUTION
    targets = np.asarray(targets)
    z = logits.data
    n = z.shape[0]
    shifted = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm
    rows = np.arange(n)
    loss = -log_probs[rows, targets].mean()

    def vjp(g):
        d = np.exp(log_probs)
        d[rows, targets] -= 1.0
        return (g * d / n,)

    return Tensor._from_op(np.asarray(loss), (logits,), vjp, "softmax_cross_entropy")
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 5: forward mode, Jacobians and Hessian-vector products
# ---------------------------------------------------------------------------------------------


def jvp_rule(op, primals, tangents, **kwargs):
    """Forward-mode rule of one operation: ``(primal_out, tangent_out)``.

    ``primals`` and ``tangents`` are tuples of Tensors (one pair per operand); build the results
    with Tensor operations (not raw arrays), so that reverse mode can differentiate through
    them (``hvp`` relies on it). For ``y = f(x)`` the tangent is the directional derivative
    ``dy = J_f(x) dx``:

    ========== ==================== =========================================
    op         primal               tangent
    ========== ==================== =========================================
    add        a + b                da + db
    sub        a - b                da - db
    mul        a * b                da * b + a * db
    div        a / b                (da * b - a * db) / b**2
    neg        -a                   -da
    pow        a ** p (``kwargs``)  p * a**(p-1) * da
    matmul     a @ b                da @ b + a @ db
    sum        a.sum(axis, keepdims) da.sum(axis, keepdims)
    exp        exp(a)               exp(a) * da
    log        log(a)               da / a
    tanh       tanh(a)              (1 - tanh(a)**2) * da
    sigmoid    s = sigmoid(a)       s * (1 - s) * da
    ========== ==================== =========================================

    ``kwargs`` carry ``p`` for ``pow`` and ``axis``, ``keepdims`` for ``sum``. An unknown ``op``
    raises ``ValueError``.
    """
    ### BEGIN SOLUTION
    a, da = primals[0], tangents[0]
    if len(primals) == 2:
        b, db = primals[1], tangents[1]
        if op == "add":
            return a + b, da + db
        if op == "sub":
            return a - b, da - db
        if op == "mul":
            return a * b, da * b + a * db
        if op == "div":
            return a / b, (da * b - a * db) / (b * b)
        if op == "matmul":
            return a @ b, da @ b + a @ db
        raise ValueError(f"no forward-mode rule for {op!r} with two operands")
    if op == "neg":
        return -a, -da
    if op == "pow":
        p = kwargs["p"]
        return a**p, a ** (p - 1) * p * da
    if op == "sum":
        axis, keepdims = kwargs.get("axis"), kwargs.get("keepdims", False)
        return a.sum(axis=axis, keepdims=keepdims), da.sum(axis=axis, keepdims=keepdims)
    if op == "exp":
        y = a.exp()
        return y, y * da
    if op == "log":
        return a.log(), da / a
    if op == "tanh":
        y = a.tanh()
        return y, (1.0 - y * y) * da
    if op == "sigmoid":
        s = a.sigmoid()
        return s, s * (1.0 - s) * da
    raise ValueError(f"no forward-mode rule for {op!r}")
    ### END SOLUTION


class Dual:
    """A pair (primal, tangent) of Tensors of the same shape: a point and a direction.

    Every operation goes through ``jvp_rule``, so a function written with these operators and
    methods works on Tensors (reverse mode) and on Duals (forward mode) alike. A Dual may be
    combined with a Tensor, an array or a number (they get a zero tangent) as long as the Dual
    is the left operand or the other one is a number: ``tensor @ dual`` is not supported.
    """

    def __init__(self, primal, tangent):
        self.primal = _as_tensor(primal)
        self.tangent = _as_tensor(tangent)
        if self.primal.shape != self.tangent.shape:
            raise ValueError(f"primal {self.primal.shape} and tangent {self.tangent.shape} differ in shape")

    @property
    def shape(self):
        return self.primal.shape

    def _apply(self, op, *others, **kwargs):
        duals = [self, *(o if isinstance(o, Dual) else Dual(o, np.zeros(np.shape(_as_tensor(o).data)))
                         for o in others)]
        primal, tangent = jvp_rule(op, tuple(d.primal for d in duals), tuple(d.tangent for d in duals), **kwargs)
        return Dual(primal, tangent)

    def __add__(self, other):
        return self._apply("add", other)

    def __radd__(self, other):
        return Dual(other, np.zeros(np.shape(other)))._apply("add", self)

    def __sub__(self, other):
        return self._apply("sub", other)

    def __rsub__(self, other):
        return Dual(other, np.zeros(np.shape(other)))._apply("sub", self)

    def __mul__(self, other):
        return self._apply("mul", other)

    def __rmul__(self, other):
        return Dual(other, np.zeros(np.shape(other)))._apply("mul", self)

    def __truediv__(self, other):
        return self._apply("div", other)

    def __rtruediv__(self, other):
        return Dual(other, np.zeros(np.shape(other)))._apply("div", self)

    def __neg__(self):
        return self._apply("neg")

    def __pow__(self, p):
        return self._apply("pow", p=float(p))

    def __matmul__(self, other):
        return self._apply("matmul", other)

    def sum(self, axis=None, keepdims=False):
        return self._apply("sum", axis=axis, keepdims=keepdims)

    def exp(self):
        return self._apply("exp")

    def log(self):
        return self._apply("log")

    def tanh(self):
        return self._apply("tanh")

    def sigmoid(self):
        return self._apply("sigmoid")


def jvp(f, xs, vs):
    """Forward mode: ``(f(xs), J_f(xs) · vs)`` from one evaluation of ``f`` on Duals.

    ``f`` takes ``len(xs)`` arguments (Tensors or Duals) and returns one; ``xs``: list of Tensors
    (the point), ``vs``: list of arrays of the same shapes (the direction). Returns the pair of
    Tensors ``(primal_out, tangent_out)``, where ``tangent_out = sum_i d f / d x_i · v_i``. Build
    the Duals from the given Tensors ``xs`` themselves (``Dual(x, v)``), so that the results stay
    connected to ``xs`` in the reverse-mode graph.
    """
    ### BEGIN SOLUTION
    out = f(*[Dual(x, v) for x, v in zip(xs, vs)])
    return out.primal, out.tangent
    ### END SOLUTION


def jacobian(f, x, mode="reverse"):
    """The Jacobian of ``f`` (one Tensor argument, one Tensor result) at the array ``x``.

    Returns a float64 array of shape ``f(x).shape + x.shape`` with
    ``J[i..., j...] = d f(x)[i...] / d x[j...]`` (PyTorch's convention).

    * ``mode="forward"``: one ``jvp`` per **input** entry (the direction is a one-hot array
      ``e_j``), each giving the column ``J e_j``;
    * ``mode="reverse"``: one ``backward`` per **output** entry (starting from a one-hot gradient
      ``e_i`` on a fresh graph), each giving the row ``e_i^T J``.

    Any other ``mode`` raises ``ValueError``.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    if mode == "forward":
        columns = []
        for j in range(x.size):
            e = np.zeros(x.size)
            e[j] = 1.0
            _, tangent = jvp(f, [Tensor(x)], [e.reshape(x.shape)])
            columns.append(tangent.data.reshape(-1))
        out_shape = f(Tensor(x)).shape
        return np.stack(columns, axis=-1).reshape(out_shape + x.shape)
    if mode == "reverse":
        out_shape = f(Tensor(x)).shape
        rows = []
        for i in range(math.prod(out_shape)):
            leaf = Tensor(x, requires_grad=True)
            y = f(leaf)
            e = np.zeros(y.size)
            e[i] = 1.0
            y.backward(e.reshape(y.shape))
            rows.append(leaf.grad.reshape(-1))
        return np.stack(rows).reshape(out_shape + x.shape)
    raise ValueError(f"mode must be 'forward' or 'reverse', not {mode!r}")
    ### END SOLUTION


def hvp(f, xs, vs):
    """Hessian-vector product ``H(xs) · vs`` of a scalar function, **reverse over forward**:
    ``H v = grad_x ( grad f(x) · v ) = grad_x jvp(f, x, v)[1]``.

    ``f`` maps ``len(xs)`` Tensors/Duals to a one-element result; ``xs``: list of arrays (the
    point), ``vs``: list of arrays of the same shapes. Make leaves ``Tensor(x, requires_grad=True)``,
    take the tangent of ``jvp`` at them (a one-element Tensor), call its ``backward()`` and return
    the leaves' gradients as a list of arrays, one per input. Where the tangent does not depend
    on an input at all, that input's entry is zeros.
    """
    ### BEGIN SOLUTION
    leaves = [Tensor(x, requires_grad=True) for x in xs]
    _, tangent = jvp(f, leaves, vs)
    tangent.backward()
    return [np.zeros(leaf.shape) if leaf.grad is None else leaf.grad for leaf in leaves]
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 6: gradient checking
# ---------------------------------------------------------------------------------------------


def grad_check(f, xs, eps=1e-6):
    """Compare reverse-mode gradients with central finite differences, in float64.

    ``f`` maps ``len(xs)`` Tensors to a one-element Tensor; ``xs``: list of arrays.

    * analytic: ``backward()`` of ``f`` at leaves ``Tensor(x, requires_grad=True)`` (zeros for
      an input the output does not depend on);
    * numeric, entry by entry: ``(f(..., x + eps e_j, ...) - f(..., x - eps e_j, ...)) / (2 eps)``
      (central differences: the error is O(eps^2), against O(eps) for one-sided ones);
    * relative error of an entry: ``|a - n| / max(|a| + |n|, 1e-12)``.

    Returns a dict: ``"analytic"`` and ``"numeric"`` (lists of arrays shaped like ``xs``) and
    ``"max_rel_error"`` (a float: the largest relative error over all entries of all inputs).
    """
    ### BEGIN SOLUTION
    xs = [np.array(x, dtype=np.float64) for x in xs]
    leaves = [Tensor(x, requires_grad=True) for x in xs]
    f(*leaves).backward()
    analytic = [np.zeros(x.shape) if leaf.grad is None else leaf.grad for x, leaf in zip(xs, leaves)]

    def value(arrays):
        return float(f(*[Tensor(a) for a in arrays]).data.reshape(-1)[0])

    numeric = []
    for i, x in enumerate(xs):
        n = np.zeros(x.shape)
        for j in range(x.size):
            plus = [a.copy() for a in xs]
            minus = [a.copy() for a in xs]
            plus[i].reshape(-1)[j] += eps
            minus[i].reshape(-1)[j] -= eps
            n.reshape(-1)[j] = (value(plus) - value(minus)) / (2.0 * eps)
        numeric.append(n)
    worst = 0.0
    for a, n in zip(analytic, numeric):
        if a.size:
            rel = np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), 1e-12)
            worst = max(worst, float(rel.max()))
    return {"analytic": analytic, "numeric": numeric, "max_rel_error": worst}
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Part 7: train an MLP on handwritten digits
# ---------------------------------------------------------------------------------------------


def train_mlp(X, y, hidden=128, epochs=30, batch_size=32, lr=0.2, seed=0):
    """Train a one-hidden-layer MLP with your engine and return its weights.

    ``X``: float array ``(N, D)`` (the digits' pixels scaled to [0, 1], D = 64); ``y``: int array
    ``(N,)`` with classes ``0..9``. The model:

        logits = relu(X @ W1 + b1) @ W2 + b2,   W1 (D, hidden), b1 (hidden,), W2 (hidden, 10), b2 (10,)

    trained by minibatch SGD on ``softmax_cross_entropy``: initialise W1, W2 with
    ``rng.normal(0, sqrt(2 / fan_in))`` and the biases with zeros (``rng = np.random.default_rng(seed)``),
    then for each epoch ``e = 0, ..., epochs-1`` visit the examples in the order ``rng.permutation(N)``
    in batches of ``batch_size`` (the last one may be shorter) and update ``w <- w - lr_e * grad``
    after every batch, with the cosine schedule ``lr_e = lr * (1 + cos(pi * e / epochs)) / 2``.

    Returns ``{"W1": ..., "b1": ..., "W2": ..., "b2": ..., "losses": [...]}``: float64 arrays of the
    shapes above, and the mean training loss of each epoch (a list of ``epochs`` floats). The
    grader evaluates the returned weights itself, on digits you never saw: at least 95% accuracy.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    n, d = X.shape
    params = {
        "W1": Tensor(rng.normal(0.0, math.sqrt(2.0 / d), (d, hidden)), requires_grad=True),
        "b1": Tensor(np.zeros(hidden), requires_grad=True),
        "W2": Tensor(rng.normal(0.0, math.sqrt(2.0 / hidden), (hidden, 10)), requires_grad=True),
        "b2": Tensor(np.zeros(10), requires_grad=True),
    }
    losses = []
    for epoch in range(epochs):
        step = lr * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))  # cosine decay: steady at the end
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            h = (Tensor(X[rows]) @ params["W1"] + params["b1"]).relu()
            loss = softmax_cross_entropy(h @ params["W2"] + params["b2"], y[rows])
            for p in params.values():
                p.grad = None
            loss.backward()
            for p in params.values():
                p.data -= step * p.grad
            total += float(loss.data) * len(rows)
        losses.append(total / n)
    return {**{k: p.data.copy() for k, p in params.items()}, "losses": losses}
    ### END SOLUTION


# ---------------------------------------------------------------------------------------------
# Test harness (given; do not change). The grader cannot send Python functions to your code,
# so it describes an expression as a *program*: plain data that these helpers turn into calls
# of your Tensor (or Dual) operations. You can use them yourself, as the public tests do.
#
# A program is a list of steps [op, args, kwargs]; `args` are indices into the list of values,
# which starts with the inputs and grows by one value per step, or {"const": number or array}. The last
# value is the output. Ops: add sub mul div matmul neg pow(p) exp log tanh sigmoid relu
# sum/mean/max(axis, keepdims) reshape(shape) transpose(axes) getitem(index)
# softmax_cross_entropy(targets) linear(A, B, shape). `getitem` indices are lists whose items
# are ints, {"slice": [start, stop, step]} or lists of ints. `linear` is a node defined here:
# out = (A @ concat(flattened args)).reshape(shape), with VJP g -> B^T g (B = A unless given),
# so the engine can be tested on any graph without your operations.
# ---------------------------------------------------------------------------------------------


def _const(value):
    """A program constant: a Python number stays one, an array becomes a Tensor without grad."""
    return float(value) if isinstance(value, (int, float)) else Tensor(value)


def _index(spec):
    items = []
    for item in spec:
        if isinstance(item, dict):
            items.append(slice(*item["slice"]))
        elif isinstance(item, (list, tuple)):
            items.append(np.asarray(item, dtype=np.int64))
        else:
            items.append(int(item))
    return tuple(items)


def _linear(args, A, B=None, shape=None):
    A = np.asarray(A, dtype=np.float64)
    B = A if B is None else np.asarray(B, dtype=np.float64)
    sizes = [a.size for a in args]
    shape = (A.shape[0],) if shape is None else tuple(shape)
    flat = np.concatenate([a.data.reshape(-1) for a in args])

    def vjp(g):
        back = B.T @ np.reshape(g, -1)
        pieces = np.split(back, np.cumsum(sizes)[:-1])
        return tuple(p.reshape(a.shape) for p, a in zip(pieces, args))

    return Tensor._from_op((A @ flat).reshape(shape), tuple(args), vjp, "linear")


def _step(op, args, kwargs):
    """Apply one program step with the methods and operators of Tensor/Dual."""
    a = args[0] if args else None
    if op in ("add", "sub", "mul", "div", "matmul"):
        b = args[1]
        return {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
                "div": lambda: a / b, "matmul": lambda: a @ b}[op]()
    if op == "neg":
        return -a
    if op == "pow":
        return a ** kwargs["p"]
    if op in ("exp", "log", "tanh", "sigmoid", "relu"):
        return getattr(a, op)()
    if op in ("sum", "mean", "max"):
        axis = kwargs.get("axis")
        axis = tuple(axis) if isinstance(axis, list) else axis
        return getattr(a, op)(axis=axis, keepdims=kwargs.get("keepdims", False))
    if op == "reshape":
        return a.reshape(tuple(kwargs["shape"]))
    if op == "transpose":
        return a.transpose(*kwargs.get("axes") or ())
    if op == "getitem":
        return a[_index(kwargs["index"])]
    if op == "softmax_cross_entropy":
        return softmax_cross_entropy(a, np.asarray(kwargs["targets"]))
    if op == "linear":
        return _linear(args, kwargs["A"], kwargs.get("B"), kwargs.get("shape"))
    raise ValueError(f"unknown program op {op!r}")


def program_function(program):
    """The program as a Python function of its inputs (Tensors or Duals)."""

    def f(*inputs):
        values = list(inputs)
        for op, refs, kwargs in program:
            args = [_const(r["const"]) if isinstance(r, dict) else values[r] for r in refs]
            values.append(_step(op, args, kwargs or {}))
        return values[-1]

    return f


def run_program(program, inputs, grad=None, repeat=1):
    """Evaluate `program` on leaves Tensor(x, requires_grad=True), call backward (with `grad`, or
    none for a one-element output) `repeat` times, and return {"value", "grads"} as arrays
    (a grad is None where backward left it None)."""
    leaves = [Tensor(x, requires_grad=True) for x in inputs]
    out = program_function(program)(*leaves)
    for _ in range(repeat):
        out.backward(grad)
    return {"value": out.data, "grads": [leaf.grad for leaf in leaves]}


def run_op(op, inputs, kwargs, grad):
    """One op on leaf Tensors: its value and its own VJP applied to `grad` (no `backward`)."""
    leaves = [Tensor(x, requires_grad=True) for x in inputs]
    out = _step(op, leaves, kwargs or {})
    return {"value": out.data, "grads": [None if g is None else np.asarray(g, dtype=np.float64)
                                         for g in out._vjp(np.asarray(grad, dtype=np.float64))]}


def run_order(program, inputs):
    """The positions (in the program's values) of the nodes `topological_order` returns for
    the output; -1 for a node that is not one of the program's values."""
    leaves = [Tensor(x) for x in inputs]
    values = list(leaves)
    for op, refs, kwargs in program:
        args = [_const(r["const"]) if isinstance(r, dict) else values[r] for r in refs]
        values.append(_step(op, args, kwargs or {}))
    where = {id(v): i for i, v in enumerate(values)}
    return [where.get(id(node), -1) for node in topological_order(values[-1])]


def run_forward(kind, program, inputs, vectors=None, mode=None):
    """kind "jvp": [value, tangent] of jvp at Tensor inputs; "hvp": hvp(f, inputs, vectors);
    "jacobian": jacobian(f, inputs[0], mode); "grad_check": grad_check(f, inputs)."""
    f = program_function(program)
    if kind == "jvp":
        value, tangent = jvp(f, [Tensor(x) for x in inputs], vectors)
        return [value.data, tangent.data]
    if kind == "hvp":
        return [np.asarray(h, dtype=np.float64) for h in hvp(f, inputs, vectors)]
    if kind == "jacobian":
        return np.asarray(jacobian(f, inputs[0], mode), dtype=np.float64)
    if kind == "grad_check":
        return grad_check(f, inputs)
    raise ValueError(f"unknown kind {kind!r}")
