"""Variants of a reference module that `adl validate` grades: the full reference, the
released stubs, the reference with one region stubbed, and the mutants of `mutants.toml`.

A mutant is a single text substitution in the reference (a plausible mistake: a missing
`sqrt(d_k)`, a softmax over the wrong axis). Keeping mutants as substitutions rather than
copies of the module means they cannot drift from the reference unnoticed: a `replace` text
that no longer occurs exactly once is an error.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from autograder import manifest as manifest_mod
from source_utils import markers, release

MUTANTS = "mutants.toml"


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str  # reference | stubs | stub | mutant
    source: str  # module text
    why: str = ""


class MutantError(ValueError):
    pass


def load_mutants(solution: Path) -> list[dict]:
    path = Path(solution) / MUTANTS
    if not path.exists():
        return []
    mutants = tomllib.loads(path.read_text()).get("mutants", [])
    for m in mutants:
        missing = {"name", "why", "replace", "with"} - set(m)
        if missing:
            raise MutantError(f"{path}: mutant {m.get('name', '?')} lacks {sorted(missing)}")
    return mutants


def apply_mutant(text: str, mutant: dict, where: str) -> str:
    count = text.count(mutant["replace"])
    if count != 1:
        raise MutantError(f"mutant {mutant['name']}: its `replace` text occurs {count} times in {where} (must be once)")
    return text.replace(mutant["replace"], mutant["with"])


def variants(solution: Path) -> list[Variant]:
    solution = Path(solution)
    man = manifest_mod.load(solution)
    filename = f"{man.module}.py"
    text = (solution / filename).read_text()
    regions = markers.find_regions(text, filename)
    out = [
        Variant("reference", "reference", markers.remove_solution_markers(text, filename)),
        Variant("stubs", "stubs", release.stub_module(man, text)),
    ]
    for region in regions:
        out.append(Variant(f"stub:{region.qualname}", "stub",
                           release.stub_module(man, text, keep=lambda r, target=region: r != target),
                           why=f"{region.qualname} left as the stub"))
    for mutant in load_mutants(solution):
        mutated = apply_mutant(text, mutant, filename)
        out.append(Variant(f"mutant:{mutant['name']}", "mutant",
                           markers.remove_solution_markers(mutated, filename), why=mutant["why"]))
    return out


def examples(solution: Path) -> dict[str, Variant]:
    """The demo's example submissions: the reference, a partly wrong one (the mutants that
    mutants.toml lists under `demo`) and the untouched stubs."""
    solution = Path(solution)
    man = manifest_mod.load(solution)
    filename = f"{man.module}.py"
    text = (solution / filename).read_text()
    chosen = tomllib.loads((solution / MUTANTS).read_text()).get("demo", []) if (solution / MUTANTS).exists() else []
    by_name = {m["name"]: m for m in load_mutants(solution)}
    wrong = text
    for name in chosen:
        wrong = apply_mutant(wrong, by_name[name], filename)
    out = {"reference": Variant("reference", "reference", markers.remove_solution_markers(text, filename),
                                why="the reference solution")}
    if chosen:
        out["partly_wrong"] = Variant("partly_wrong", "mutant", markers.remove_solution_markers(wrong, filename),
                                      why="; ".join(by_name[n]["why"] for n in chosen))
    out["stubs"] = Variant("stubs", "stubs", release.stub_module(man, text), why="the untouched stubs")
    return out
