"""Whole-package bans (`forbidden = ["torch.*"]`): the static scan finds every import and use of
the package, and the worker refuses the student's own imports of it at run time, while the
libraries the student may use (NumPy) keep importing what they need."""

import textwrap

import pytest

from autograder import forbidden, remote, sandbox

SOURCE = textwrap.dedent('''
    import numpy as np
    import torch.nn as nn                  # line 3
    from jax import numpy as jnp           # line 4

    def ok(x):
        return np.tanh(x)

    def uses_torch(x):
        import torch                       # line 10
        return torch.tanh(torch.as_tensor(x))

    def uses_alias(x):
        return nn.functional.relu(x)       # line 14
''')


def test_scan_finds_imports_and_uses_of_a_banned_package(tmp_path):
    path = tmp_path / "student.py"
    path.write_text(SOURCE)
    uses = forbidden.scan(path, ["torch.*", "jax.*", "autograd.*"])
    found = {(u.line, u.name, u.function) for u in uses}
    assert (3, "torch.*", "") in found
    assert (4, "jax.*", "") in found
    assert (10, "torch.*", "uses_torch") in found and (11, "torch.*", "uses_torch") in found
    assert (14, "torch.*", "uses_alias") in found
    assert not any(u.function == "ok" for u in uses)


def test_scan_of_a_package_ban_ignores_other_packages_and_prefixes(tmp_path):
    path = tmp_path / "student.py"
    path.write_text("import numpy\nimport torchvision\nimport autograder\n\ndef f():\n    return numpy.ones(1)\n")
    assert forbidden.scan(path, ["torch.*", "autograd.*"]) == []


def test_dotted_entries_keep_their_meaning(tmp_path):
    path = tmp_path / "student.py"
    path.write_text("import torch\n\ndef f(x):\n    return torch.softmax(x, -1)\n")
    assert forbidden.scan(path, ["torch.nn.functional.scaled_dot_product_attention"]) == []


@pytest.mark.parametrize("line", ["import torch", "from torch import nn", "import jax.numpy as jnp"])
def test_worker_refuses_the_students_import_of_a_banned_package(tmp_path, line):
    (tmp_path / "student.py").write_text(f"import numpy as np\n\ndef f():\n    {line}\n    return 1\n\ndef g():\n    return float(np.ones(2).sum())\n")
    w = remote.Worker(tmp_path, "student", ["torch.*", "jax.*"], sandbox.Limits())
    try:
        sub = remote.RemoteSubmission(w)
        assert sub.call("g") == 2.0  # NumPy (and its own imports) still work
        with pytest.raises(remote.ForbiddenCall, match="forbidden"):
            sub.call("f")
    finally:
        w.stop()


def test_worker_refuses_a_module_level_import(tmp_path):
    (tmp_path / "student.py").write_text("import torch\n\ndef f():\n    return 1\n")
    w = remote.Worker(tmp_path, "student", ["torch.*"], sandbox.Limits())
    try:
        with pytest.raises(Exception, match="forbidden"):
            remote.RemoteSubmission(w).call("f")
    finally:
        w.stop()
