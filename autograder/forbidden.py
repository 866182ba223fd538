"""Static detection of forbidden library calls in a submission.

The worker traps forbidden calls at run time (`autograder.worker`); this scan reads the
source so that a forbidden call costs points even where the hidden tests would not reach it,
and so the student is told exactly where it is. A use counts when a dotted name, after
following import aliases (`import torch.nn.functional as F` then
`F.scaled_dot_product_attention`), starts in the forbidden name's package and ends with its
last part, so re-exports (`torch.nn.modules.activation.MultiheadAttention`) count too.
Names built at run time (`getattr(F, "scaled_" + ...)`) escape the scan; the trap catches them.

An entry `pkg.*` forbids a whole package (`torch.*` in a NumPy-only week): any import of `pkg`
or of a submodule, and any use of a name bound to one, counts; the worker refuses such imports
from the student's module at run time.
"""

from __future__ import annotations

import ast
import threading
from dataclasses import dataclass
from pathlib import Path

# CPython 3.11's AST builder keeps its recursion-depth counter per interpreter, not per thread;
# two threads parsing at once (the validator grades variants in a thread pool) can trip
# "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905). Parsing
# is milliseconds, so every parse in the grader goes through one lock.
_PARSE_LOCK = threading.Lock()


def parse(source: str | bytes, filename: str = "<submission>") -> ast.Module:
    """`ast.parse`, serialised across threads; raises what `ast.parse` raises."""
    with _PARSE_LOCK:
        return ast.parse(source, filename)


@dataclass(frozen=True)
class Use:
    line: int
    name: str  # the forbidden name, as the manifest writes it
    function: str  # qualified name of the enclosing def ("" at module level)

    def __str__(self) -> str:
        where = f"in {self.function}" if self.function else "at module level"
        return f"line {self.line} ({where}): {self.name}"


def scan(path: Path, forbidden: tuple[str, ...] | list[str]) -> list[Use]:
    if not forbidden:
        return []
    try:
        tree = parse(Path(path).read_text(errors="replace"), str(path))
    except (SyntaxError, ValueError, OSError, RecursionError, MemoryError, SystemError):
        return []
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def dotted(node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def banned(name: str) -> str | None:
        parts = name.split(".")
        for f in forbidden:
            if f.endswith(".*"):  # the whole package
                if name == f[:-2] or name.startswith(f[:-1]):
                    return f
                continue
            fparts = f.split(".")
            if parts[0] == fparts[0] and parts[-1] == fparts[-1]:
                return f
        return None

    found: set[Use] = set()

    def visit(node: ast.AST, scope: list[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope = [*scope, node.name]
        names = []
        if isinstance(node, (ast.Name, ast.Attribute)):
            names.append(dotted(node))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        for name in filter(None, names):
            hit = banned(name)
            if hit:
                found.add(Use(node.lineno, hit, ".".join(scope)))
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    try:
        visit(tree, [])
    except RecursionError:  # an expression thousands deep: the run-time trap still holds
        pass
    return sorted(found, key=lambda u: (u.line, u.name))
