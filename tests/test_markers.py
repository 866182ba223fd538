"""Solution regions: found with their qualified names, stripped into loud stubs."""

import pytest

from source_utils import markers

SOURCE = '''import math


class Box:
    def area(self):
        """Area."""
        ### BEGIN SOLUTION
        return self.w * self.h
        ### END SOLUTION


def outer(x):
    def inner(y):
        ### BEGIN SOLUTION
        return y + 1
        ### END SOLUTION
    return inner(x)
'''


def test_regions_are_named_by_enclosing_definitions():
    regions = markers.find_regions(SOURCE)
    assert [r.qualname for r in regions] == ["Box.area", "outer.inner"]
    assert regions[0].indent == " " * 8


def test_strip_replaces_regions_with_named_stubs_that_compile():
    stub = markers.module_stub("box.py", lambda name: "README, part 1")
    out = markers.strip(SOURCE, stub)
    assert "BEGIN SOLUTION" not in out and "self.w * self.h" not in out
    assert "raise NotImplementedError('box.py: Box.area is not implemented yet (README, part 1)')" in out
    namespace = {}
    exec(compile(out, "box.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="Box.area"):
        namespace["Box"]().area()


def test_keep_selects_regions_and_drops_their_markers():
    regions = markers.find_regions(SOURCE)
    out = markers.strip(SOURCE, markers.module_stub("box.py", lambda n: ""), keep=lambda r: r == regions[0])
    assert "return self.w * self.h" in out and "return y + 1" not in out
    assert "###" not in out


@pytest.mark.parametrize("bad, message", [
    ("def f():\n    ### BEGIN SOLUTION\n    pass\n", "never closed"),
    ("def f():\n    ### END SOLUTION\n", "without"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n", "inside another"),
])
def test_unbalanced_markers_are_errors(bad, message):
    with pytest.raises(markers.MarkerError, match=message):
        markers.find_regions(bad)


def test_module_level_region_is_an_error():
    with pytest.raises(markers.MarkerError, match="inside a def"):
        markers.strip("### BEGIN SOLUTION\nX = 1\n### END SOLUTION\n", markers.module_stub("m.py", lambda n: ""))
