"""Public tests for the backprop assignment: small cases you can check by hand.

Run them with `adl test backprop` or `pytest` in the assignment folder. They build expressions
with the test harness at the end of backprop.py (`run_program`, `run_op`, ...), exactly as the
hidden tests do, because in the grader your Tensors live in a separate process. Passing them is
a good sign but not a guarantee: the hidden tests draw fresh random expressions that reuse
nodes and broadcast, and compare with PyTorch in float64.
"""

import math

import numpy as np
import pytest


def close(actual, expected, tol=1e-9):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- part 1: ops


def test_ops_mul_vjp_by_hand(submission):
    """z = x * y: the VJP sends g*y to x and g*x to y."""
    x, y, g = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]), np.array([1.0, 10.0, 100.0])
    out = submission.call("run_op", "mul", [x, y], {}, g)
    close(out["value"], [4.0, 10.0, 18.0])
    close(out["grads"][0], [4.0, 50.0, 600.0])
    close(out["grads"][1], [1.0, 20.0, 300.0])


def test_ops_matmul_vjp_by_hand(submission):
    """C = A @ B with g = ones: dA = g @ B^T (row sums of B), dB = A^T @ g (column sums of A)."""
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    B = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]])
    out = submission.call("run_op", "matmul", [A, B], {}, np.ones((2, 3)))
    close(out["value"], A @ B)
    close(out["grads"][0], [[3.0, 4.0], [3.0, 4.0]])
    close(out["grads"][1], [[4.0, 4.0, 4.0], [6.0, 6.0, 6.0]])


def test_ops_unary_derivatives_at_known_points(submission):
    """exp'(0)=1, log'(2)=1/2, tanh'(0)=1, sigmoid'(0)=1/4, relu'(-1)=0, relu'(3)=1."""
    x = np.array([0.0])
    for op, point, slope in [("exp", 0.0, 1.0), ("log", 2.0, 0.5), ("tanh", 0.0, 1.0),
                             ("sigmoid", 0.0, 0.25), ("relu", -1.0, 0.0), ("relu", 3.0, 1.0)]:
        out = submission.call("run_op", op, [x + point], {}, np.ones(1))
        close(out["grads"][0], [slope])


def test_ops_getitem_repeated_index_adds(submission):
    """x[[0, 0, 2]]: entry 0 is picked twice, so its gradient is the sum of two."""
    out = submission.call("run_op", "getitem", [np.array([5.0, 6.0, 7.0])], {"index": [[0, 0, 2]]},
                          np.array([1.0, 2.0, 4.0]))
    close(out["value"], [5.0, 5.0, 7.0])
    close(out["grads"][0], [3.0, 0.0, 4.0])


def test_ops_sum_and_max_over_an_axis(submission):
    """sum over axis 1 gives every entry the row's gradient; max gives it to the row's maximum."""
    x = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    g = np.array([2.0, 3.0])
    out = submission.call("run_op", "sum", [x], {"axis": 1}, g)
    close(out["value"], [8.0, 10.0])
    close(out["grads"][0], [[2.0, 2.0, 2.0], [3.0, 3.0, 3.0]])
    out = submission.call("run_op", "max", [x], {"axis": 1}, g)
    close(out["value"], [5.0, 7.0])
    close(out["grads"][0], [[0.0, 2.0, 0.0], [3.0, 0.0, 0.0]])


# ----------------------------------------------------------------------------- part 2: broadcasting


def test_broadcast_docstring_example(submission):
    """unbroadcast(ones((4, 2, 3)), (2, 1)) == full((2, 1), 12)."""
    close(submission.call("unbroadcast", np.ones((4, 2, 3)), (2, 1)), np.full((2, 1), 12.0))
    close(submission.call("unbroadcast", np.arange(6.0).reshape(2, 3), (3,)), [3.0, 5.0, 7.0])


def test_broadcast_bias_gradient(submission):
    """sum(x + b) with x (3, 2) and b (2,): each b entry is used 3 times, so db = 3."""
    program = [["add", [0, 1], {}], ["sum", [2], {}]]
    out = submission.call("run_program", program, [np.zeros((3, 2)), np.zeros(2)])
    close(out["grads"][0], np.ones((3, 2)))
    close(out["grads"][1], [3.0, 3.0])


# ----------------------------------------------------------------------------- part 3: backward


def test_backward_reused_node(submission):
    """f = x*x + x at x = 3: df/dx = 2x + 1 = 7 (x is used three times)."""
    program = [["mul", [0, 0], {}], ["add", [1, 0], {}], ["sum", [2], {}]]
    out = submission.call("run_program", program, [np.array([3.0])])
    close(out["value"], 12.0)
    close(out["grads"][0], [7.0])


def test_backward_diamond(submission):
    """x -> a = 2x, b = 3x -> f = a*b = 6x^2: df/dx = 12x (the diamond needs a correct order)."""
    program = [["mul", [0, {"const": 2.0}], {}], ["mul", [0, {"const": 3.0}], {}],
               ["mul", [1, 2], {}], ["sum", [3], {}]]
    out = submission.call("run_program", program, [np.array([0.5, -1.0])])
    close(out["grads"][0], [6.0, -12.0])


def test_backward_twice_accumulates(submission):
    """Two backward calls add up: d(2x)/dx = 2, twice = 4."""
    program = [["mul", [0, {"const": 2.0}], {}], ["sum", [1], {}]]
    out = submission.call("run_program", program, [np.array([1.0])], None, 2)
    close(out["grads"][0], [4.0])


def test_backward_topological_order_of_a_chain(submission):
    """For x -> exp -> tanh -> sum the order is [x, exp, tanh, sum]."""
    program = [["exp", [0], {}], ["tanh", [1], {}], ["sum", [2], {}]]
    assert submission.call("run_order", program, [np.array([0.1])]) == [0, 1, 2, 3]


# ----------------------------------------------------------------------------- part 4: loss


def test_loss_uniform_logits(submission):
    """All logits equal: loss = log C, gradient (1/C - onehot) / N."""
    z = np.zeros((2, 4))
    out = submission.call("run_op", "softmax_cross_entropy", [z], {"targets": [1, 3]}, np.array(1.0))
    close(out["value"], math.log(4))
    expected = np.full((2, 4), 0.25 / 2)
    expected[0, 1] -= 0.5
    expected[1, 3] -= 0.5
    close(out["grads"][0], expected)


def test_loss_large_logits_are_finite(submission):
    """Logits [1000, 0]: the loss of class 0 is ~0 and of class 1 is ~1000, no overflow."""
    z = np.array([[1000.0, 0.0], [1000.0, 0.0]])
    out = submission.call("run_op", "softmax_cross_entropy", [z], {"targets": [0, 1]}, np.array(1.0))
    close(out["value"], 500.0, tol=1e-6)


# ----------------------------------------------------------------------------- part 5: forward mode


def test_forward_jvp_of_square(submission):
    """f(x) = x*x: the tangent in direction v is 2 x v."""
    x, v = np.array([1.0, -2.0]), np.array([3.0, 0.5])
    value, tangent = submission.call("run_forward", "jvp", [["mul", [0, 0], {}]], [x], [v])
    close(value, x * x)
    close(tangent, 2 * x * v)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_forward_jacobian_of_elementwise_square(submission, mode):
    """f(x) = x*x on (3,) has the diagonal Jacobian diag(2x)."""
    x = np.array([1.0, 2.0, -1.0])
    jac = submission.call("run_forward", "jacobian", [["mul", [0, 0], {}]], [x], None, mode)
    close(jac, np.diag(2 * x))


def test_forward_hvp_of_cubic(submission):
    """f(x) = sum(x**3): H = diag(6x), so H v = 6 x v."""
    x, v = np.array([1.0, -2.0, 0.5]), np.array([1.0, 1.0, 2.0])
    program = [["pow", [0], {"p": 3.0}], ["sum", [1], {}]]
    (hv,) = submission.call("run_forward", "hvp", program, [x], [v])
    close(hv, 6 * x * v, tol=1e-8)


# ----------------------------------------------------------------------------- part 6: grad_check


def test_gradcheck_on_a_correct_function(submission):
    """For f = sum(tanh(x) * x) the numeric and analytic gradients agree (tiny relative error)."""
    program = [["tanh", [0], {}], ["mul", [1, 0], {}], ["sum", [2], {}]]
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    out = submission.call("run_forward", "grad_check", program, [x])
    assert out["max_rel_error"] < 1e-7
    close(out["numeric"][0], np.tanh(x) + x * (1 - np.tanh(x) ** 2), tol=1e-7)


# ----------------------------------------------------------------------------- part 7: MLP


def test_mlp_shapes_and_losses(submission):
    """A tiny run returns weights of the documented shapes and one finite loss per epoch."""
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 64)), rng.integers(0, 10, 40)
    out = submission.call("train_mlp", X, y, hidden=8, epochs=2, seed=0)
    assert out["W1"].shape == (64, 8) and out["b1"].shape == (8,)
    assert out["W2"].shape == (8, 10) and out["b2"].shape == (10,)
    assert len(out["losses"]) == 2 and all(math.isfinite(v) for v in out["losses"])


# ----------------------------------------------------------------------------- part 8: engine


def test_engine_small_network_by_hand(submission):
    """f = sum(relu(x @ W) * 2): with x = [[1, -1]] and W = I, only the first unit is active."""
    program = [["matmul", [0, 1], {}], ["relu", [2], {}], ["mul", [3, {"const": 2.0}], {}], ["sum", [4], {}]]
    out = submission.call("run_program", program, [np.array([[1.0, -1.0]]), np.eye(2)])
    close(out["value"], 2.0)
    close(out["grads"][0], [[2.0, 0.0]])
    close(out["grads"][1], [[2.0, 0.0], [-2.0, 0.0]])
