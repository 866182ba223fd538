"""Public checks of fgsm_accuracy_curve (otter-grader's exception-based format). Hidden tests also grade it after you submit."""
from otter.test_files import test_case

OK_FORMAT = False
name = "fgsm_accuracy_curve"
points = 1
SUCCESS = "public check passed; hidden tests also grade this exercise after you submit, and did not run here"


@test_case(points=None, hidden=False, success_message=SUCCESS)
def a_model_that_ignores_its_input(fgsm_accuracy_curve, torch):
    """A model that always says 0 cannot be attacked: on labels (0, 0, 1, 2) its accuracy is 0.5 at every eps."""
    model = torch.nn.Linear(64, 10)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
        model.bias[0] = 1.0
    x = torch.rand(4, 64, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 0, 1, 2])
    curve = fgsm_accuracy_curve(model, x, y, [0.0, 0.1, 0.3])
    assert len(curve) == 3, f"one accuracy per epsilon, 3 expected, got {len(curve)}"
    assert all(isinstance(a, float) for a in curve), "return a list of Python floats"
    assert all(abs(a - 0.5) < 1e-12 for a in curve), f"expected [0.5, 0.5, 0.5], got {curve}"
