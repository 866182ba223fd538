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
    # YOUR CODE HERE
    raise NotImplementedError('backprop.py: unbroadcast is not implemented yet (README.md, part 2: Broadcasting and its gradient)')


def topological_order(root):
    """Every tensor ``root`` depends on (itself included), each once, parents before children.

    Walk the graph through ``t._parents``. The result must be a list in which every tensor
    comes **after** all of its parents, so ``root`` is last and the leaves come early;
    ``backward`` walks it in reverse. A tensor reached along several paths (a node used more
    than once) appears exactly once. Tensors are compared by identity (``is``), not ``==``.

    Graphs can be deeper than Python's recursion limit (a chain of 1500 operations must
    work), so use an explicit stack rather than recursion.
    """
    # YOUR CODE HERE
    raise NotImplementedError('backprop.py: topological_order is not implemented yet (README.md, part 3: Topological order and the backward pass)')


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
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.backward is not implemented yet (README.md, part 3: Topological order and the backward pass)')

    # ----------------------------------------------------------------------------- part 1: ops
    # Each op returns Tensor._from_op(out_data, parents, vjp, name). `other` may be a Tensor, an
    # array or a Python number: `_as_tensor(other)` makes it a Tensor (a leaf without grad).

    def __add__(self, other):
        """``self + other`` with broadcasting. VJP: ``g -> (g, g)``."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.__add__ is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def __neg__(self):
        """``-self``. VJP: ``g -> (-g,)``."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.__neg__ is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def __sub__(self, other):
        """``self - other`` with broadcasting. VJP: ``g -> (g, -g)``."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.__sub__ is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def __mul__(self, other):
        """``self * other`` (elementwise, broadcasting). VJP: ``g -> (g * other, g * self)``."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.__mul__ is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def __truediv__(self, other):
        """``self / other`` (elementwise, broadcasting). VJP: ``g -> (g / b, -g * a / b**2)``."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.__truediv__ is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def __pow__(self, exponent):
        """``self ** p`` for a constant Python number ``p``. VJP: ``g -> (g * p * self**(p-1),)``."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.__pow__ is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def __matmul__(self, other):
        """``self @ other`` for operands with ``ndim >= 2``: ``(..., n, k) @ (..., k, m) -> (..., n, m)``,
        leading dimensions broadcasting as in ``np.matmul``.

        VJP: ``g -> (g @ other^T, self^T @ g)`` with ``^T`` swapping the last two axes (the
        results have the broadcast leading dimensions; ``backward`` reduces them).
        """
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.__matmul__ is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

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
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.sum is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def mean(self, axis=None, keepdims=False):
        """Mean over ``axis`` (as ``sum``). VJP: as ``sum``'s, divided by the number of entries
        averaged into each output entry."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.mean is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def max(self, axis=None, keepdims=False):
        """Maximum over ``axis`` (as ``sum``). VJP: ``g`` goes to the entries that attain the
        maximum; when several tie, it is **split equally** among them (as ``torch.amax``)."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.max is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def reshape(self, *shape):
        """``reshape(2, 3)`` or ``reshape((2, 3))``; one ``-1`` allowed. VJP: reshape back."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.reshape is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def transpose(self, *axes):
        """Permute axes like ``np.transpose``: no argument reverses them, else a permutation
        (``transpose(1, 0, 2)`` or ``transpose((1, 0, 2))``). VJP: the inverse permutation."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.transpose is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def __getitem__(self, index):
        """NumPy indexing: ints, slices, lists or integer arrays. VJP: a zero array of
        ``self.shape`` with ``g`` **added** at the indexed places. With integer-array indices an
        entry can be picked several times and must then get the sum of its gradients:
        ``z[index] += g`` does not do that, ``np.add.at(z, index, g)`` does."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.__getitem__ is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def exp(self):
        """``e**self``. VJP: ``g -> (g * exp(self),)``."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.exp is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def log(self):
        """Natural logarithm (of positive entries). VJP: ``g -> (g / self,)``."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.log is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def tanh(self):
        """``tanh(self)``. VJP: ``g -> (g * (1 - tanh(self)**2),)``."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.tanh is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def sigmoid(self):
        """``1 / (1 + e**-self)``, without overflow warnings for large ``|self|`` (e.g. via
        ``0.5 * (1 + tanh(self / 2))``). VJP: ``g -> (g * s * (1 - s),)`` with ``s = sigmoid(self)``."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.sigmoid is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')

    def relu(self):
        """``max(self, 0)``. VJP: ``g`` where ``self > 0``, else 0 (the derivative at 0 is taken as 0)."""
        # YOUR CODE HERE
        raise NotImplementedError('backprop.py: Tensor.relu is not implemented yet (README.md, part 1: Tensor operations and their VJPs)')


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
    # YOUR CODE HERE
    raise NotImplementedError('backprop.py: softmax_cross_entropy is not implemented yet (README.md, part 4: Fused, stable softmax cross-entropy)')


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
    # YOUR CODE HERE
    raise NotImplementedError('backprop.py: jvp_rule is not implemented yet (README.md, part 5: Forward mode, Jacobians and Hessian-vector products)')


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
    # YOUR CODE HERE
    raise NotImplementedError('backprop.py: jvp is not implemented yet (README.md, part 5: Forward mode, Jacobians and Hessian-vector products)')


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
    # YOUR CODE HERE
    raise NotImplementedError('backprop.py: jacobian is not implemented yet (README.md, part 5: Forward mode, Jacobians and Hessian-vector products)')


def hvp(f, xs, vs):
    """Hessian-vector product ``H(xs) · vs`` of a scalar function, **reverse over forward**:
    ``H v = grad_x ( grad f(x) · v ) = grad_x jvp(f, x, v)[1]``.

    ``f`` maps ``len(xs)`` Tensors/Duals to a one-element result; ``xs``: list of arrays (the
    point), ``vs``: list of arrays of the same shapes. Make leaves ``Tensor(x, requires_grad=True)``,
    take the tangent of ``jvp`` at them (a one-element Tensor), call its ``backward()`` and return
    the leaves' gradients as a list of arrays, one per input. Where the tangent does not depend
    on an input at all, that input's entry is zeros.
    """
    # YOUR CODE HERE
    raise NotImplementedError('backprop.py: hvp is not implemented yet (README.md, part 5: Forward mode, Jacobians and Hessian-vector products)')


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
    # YOUR CODE HERE
    raise NotImplementedError('backprop.py: grad_check is not implemented yet (README.md, part 6: Gradient checking)')


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
    # YOUR CODE HERE
    raise NotImplementedError('backprop.py: train_mlp is not implemented yet (README.md, part 7: An MLP on handwritten digits)')


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
