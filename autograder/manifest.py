"""The assignment manifest, `assignment.toml`: what is submitted, what each test is worth.

See docs/authoring.md for the format. Loading validates it; errors name the file and key.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from autograder.sandbox import Limits
from autograder.speed import rules as speed_rules

MANIFEST = "assignment.toml"
VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}  # Gradescope's values


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class Part:
    id: str
    title: str
    points: float
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()
    # Its tests take long (training a policy, say): `adl validate` runs them on a mutant only
    # when the other tests did not already catch it (grading always runs them).
    expensive: bool = False

    def matches(self, test_function: str) -> bool:
        return any(fnmatch.fnmatchcase(test_function, pattern) for pattern in self.tests)


@dataclass(frozen=True)
class Manifest:
    root: Path
    slug: str
    title: str
    module: str
    parts: tuple[Part, ...]
    topics: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    test_timeout_s: float = 60.0
    submission_timeout_s: float = 1200.0
    limits: Limits = field(default_factory=Limits)
    hidden_visibility: str = "visible"  # Gradescope visibility of hidden tests' results
    release: dict = field(default_factory=dict)  # written by `adl release` into the student copy
    speed: tuple[speed_rules.SpeedRule, ...] = ()  # [[speed]]: speed and memory tests (autograder/speed)
    gpu_rescale: bool = False  # without a GPU, scale the score up to the full total (GPU tests skipped)

    @property
    def files(self) -> list[str]:
        """The files a student submits."""
        return [f"{self.module}.py"]

    @property
    def points(self) -> float:
        return sum(p.points for p in self.parts)

    def part_for(self, test_function: str) -> Part | None:
        """The one part whose patterns match `test_function` (None if none or several do)."""
        found = [p for p in self.parts if p.matches(test_function)]
        return found[0] if len(found) == 1 else None

    def part_of_function(self, qualname: str) -> Part | None:
        for part in self.parts:
            if qualname in part.functions:
                return part
        return None

    def speed_rule(self, test_function: str) -> speed_rules.SpeedRule | None:
        """The first `[[speed]]` entry whose patterns match `test_function`."""
        return next((r for r in self.speed if r.matches(test_function)), None)

    def part_number(self, part: Part) -> int:
        return self.parts.index(part) + 1


def load(folder: Path | str) -> Manifest:
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"{path}: not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: {exc}") from None

    def need(table: dict, key: str, kind: type, where: str):
        if key not in table:
            raise ManifestError(f"{path}: {where} needs `{key}`")
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind):
            raise ManifestError(f"{path}: {where}`{key}` should be {kind.__name__}")
        return value

    parts = []
    for i, raw in enumerate(data.get("parts", [])):
        where = f"[[parts]] #{i + 1} "
        parts.append(Part(
            id=need(raw, "id", str, where),
            title=need(raw, "title", str, where),
            points=need(raw, "points", float, where),
            tests=tuple(need(raw, "tests", list, where)),
            functions=tuple(raw.get("functions", [])),
            expensive=bool(raw.get("expensive", False)),
        ))
    if not parts:
        raise ManifestError(f"{path}: no [[parts]]")
    if len({p.id for p in parts}) != len(parts):
        raise ManifestError(f"{path}: part ids must be unique")
    limits = data.get("limits", {})
    visibility = data.get("hidden_visibility", "visible")
    if visibility not in VISIBILITIES:
        raise ManifestError(f"{path}: hidden_visibility must be one of {sorted(VISIBILITIES)}")
    try:
        speed = speed_rules.parse(data.get("speed", []), str(path))
    except speed_rules.RuleError as exc:
        raise ManifestError(str(exc)) from None
    if not isinstance(data.get("gpu_rescale", False), bool):
        raise ManifestError(f"{path}: gpu_rescale must be true or false")
    slug = need(data, "slug", str, "")
    if slug != folder.name:
        raise ManifestError(f"{path}: slug {slug!r} differs from the folder name {folder.name!r}")
    return Manifest(
        root=folder,
        slug=slug,
        title=need(data, "title", str, ""),
        module=need(data, "module", str, ""),
        parts=tuple(parts),
        topics=tuple(data.get("topics", [])),
        forbidden=tuple(data.get("forbidden", [])),
        test_timeout_s=float(limits.get("test_timeout_s", 60)),
        submission_timeout_s=float(limits.get("submission_timeout_s", 1200)),
        limits=Limits(**{k: limits[k] for k in ("memory_mb", "cpu_s", "open_files", "file_size_mb") if k in limits}),
        hidden_visibility=visibility,
        release=data.get("release", {}),
        speed=speed,
        gpu_rescale=data.get("gpu_rescale", False),
    )
