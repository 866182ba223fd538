"""Public checks of naive_ce (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "naive_ce"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def equal_logits_give_log_c(naive_softmax_cross_entropy, Tensor, np):
    """With all logits equal every class has probability 1/C, so the loss is log(C) whatever the targets."""
    loss = naive_softmax_cross_entropy(Tensor(np.zeros((4, 5))), np.array([0, 1, 4, 2]))
    assert isinstance(loss, Tensor), f"return a Tensor (built from Tensor operations), got {type(loss).__name__}"
    assert np.size(loss.data) == 1, f"the loss is one number (the mean over rows), got shape {np.shape(loss.data)}"
    assert abs(float(loss.data) - np.log(5.0)) < 1e-12, f"expected log(5) = {np.log(5.0):.6f}, got {float(loss.data)}"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def one_row_by_hand(naive_softmax_cross_entropy, Tensor, np):
    """Logits (0, log 3), target 1: softmax is (1/4, 3/4), so the loss is -log(3/4)."""
    loss = naive_softmax_cross_entropy(Tensor(np.array([[0.0, np.log(3.0)]])), np.array([1]))
    assert abs(float(loss.data) - np.log(4.0 / 3.0)) < 1e-12, f"expected log(4/3), got {float(loss.data)}"
