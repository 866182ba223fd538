"""Solution regions in Python source: find them, and replace them by loud stubs.

The markers are nbgrader's, so one convention serves modules and notebooks:

    ### BEGIN SOLUTION
    ...reference code...
    ### END SOLUTION

A region must sit inside a `def`; the enclosing definitions give it its qualified name
(`MultiHeadAttention.forward`), which the stub's message and `adl validate` use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
_DEF = re.compile(r"^(\s*)(?:async\s+)?(def|class)\s+([A-Za-z_]\w*)")


class MarkerError(ValueError):
    pass


@dataclass(frozen=True)
class Region:
    begin: int  # line index of the BEGIN marker
    end: int  # line index of the END marker
    indent: str
    qualname: str  # enclosing definitions, e.g. "KVCache.update"; "" at module level


def find_regions(text: str, where: str = "<source>") -> list[Region]:
    lines = text.splitlines()
    regions: list[Region] = []
    open_at: int | None = None
    for i, line in enumerate(lines):
        marker = line.strip()
        if marker == BEGIN:
            if open_at is not None:
                raise MarkerError(f"{where}:{i + 1}: {BEGIN} inside another solution region")
            open_at = i
        elif marker == END:
            if open_at is None:
                raise MarkerError(f"{where}:{i + 1}: {END} without {BEGIN}")
            indent = lines[open_at][: len(lines[open_at]) - len(lines[open_at].lstrip())]
            regions.append(Region(open_at, i, indent, _qualname(lines, open_at)))
            open_at = None
    if open_at is not None:
        raise MarkerError(f"{where}:{open_at + 1}: {BEGIN} is never closed")
    return regions


def _qualname(lines: list[str], at: int) -> str:
    """Names of the definitions enclosing line `at`, outermost first."""
    names: list[str] = []
    depth = len(lines[at]) - len(lines[at].lstrip())
    for line in reversed(lines[:at]):
        m = _DEF.match(line)
        if m and len(m.group(1)) < depth:
            names.append(m.group(3))
            depth = len(m.group(1))
            if depth == 0:
                break
    return ".".join(reversed(names))


def strip(text: str, stub: Callable[[Region], list[str]], keep: Callable[[Region], bool] = lambda r: False,
          where: str = "<source>") -> str:
    """Replace each region by `stub(region)` lines (already indented), except regions for which
    `keep` is true, whose code stays and whose marker lines go. Line endings become "\\n"."""
    lines = text.splitlines()
    out: list[str] = []
    cursor = 0
    for region in find_regions(text, where):
        out.extend(lines[cursor:region.begin])
        if keep(region):
            out.extend(lines[region.begin + 1:region.end])
        else:
            out.extend(stub(region))
        cursor = region.end + 1
    out.extend(lines[cursor:])
    return "\n".join(out) + "\n"


def module_stub(filename: str, where_to_read: Callable[[str], str]) -> Callable[[Region], list[str]]:
    """The stub for a region of a released module: a comment and a NotImplementedError that
    names the function and where the task sheet explains it."""

    def stub(region: Region) -> list[str]:
        if not region.qualname:
            raise MarkerError(f"{filename}:{region.begin + 1}: a solution region must be inside a def")
        message = f"{filename}: {region.qualname} is not implemented yet ({where_to_read(region.qualname)})"
        return [f"{region.indent}# YOUR CODE HERE", f"{region.indent}raise NotImplementedError({message!r})"]

    return stub


def remove_solution_markers(text: str, where: str = "<source>") -> str:
    """The reference itself, without the marker lines (for mutants and full-solution variants)."""
    return strip(text, stub=lambda r: [], keep=lambda r: True, where=where)
