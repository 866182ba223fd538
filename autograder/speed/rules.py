"""The manifest's `[[speed]]` entries: which tests are speed or memory tests, and how a
measured ratio to the reference becomes points.

    [[speed]]
    tests = ["test_sdpa_speed"]   # fnmatch patterns of hidden test functions
    kind = "time"                 # time | memory
    device = "cpu"                # cpu | cuda (cuda tests are "not run here: no GPU" without one)
    max_ratio = 3.0               # above this (student / reference), the test scores zero
    bands = [[2.0, 1.0], [3.0, 0.5]]   # optional: ratio <= 2 full points, <= 3 half; default [[max_ratio, 1]]
    repeats = 11                  # paired, interleaved measurements (the median ratio counts)
    warmup = 2                    # unmeasured calls on each side first

Limits below 2x the reference are refused: on a shared machine a correct, efficient solution
must never fail, and timing noise of tens of percent between two runs is common.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

KINDS = ("time", "memory")
DEVICES = ("cpu", "cuda")
MIN_RATIO = 2.0  # the smallest limit a speed or memory test may set (see the module docstring)


class RuleError(ValueError):
    pass


@dataclass(frozen=True)
class SpeedRule:
    tests: tuple[str, ...]
    max_ratio: float
    kind: str = "time"
    device: str = "cpu"
    bands: tuple[tuple[float, float], ...] = ()
    repeats: int = 11
    warmup: int = 2

    def matches(self, test_function: str) -> bool:
        return any(fnmatch.fnmatchcase(test_function, p) for p in self.tests)

    def credit(self, ratio: float) -> float:
        """The fraction of the test's points that `ratio` (student / reference) earns."""
        for bound, fraction in self.bands or ((self.max_ratio, 1.0),):
            if ratio <= bound:
                return fraction
        return 0.0

    def describe(self) -> str:
        """The limits in words, for messages ("full points up to 2x, half up to 3x")."""
        bands = self.bands or ((self.max_ratio, 1.0),)
        words = [("full points" if f == 1.0 else f"{f:.0%} of the points") + f" up to {b:g}x" for b, f in bands]
        return ", ".join(words)


def parse(entries: list, where: str) -> tuple[SpeedRule, ...]:
    """Validate the raw `[[speed]]` tables of a manifest (`where` names the file in errors)."""
    rules = []
    for i, raw in enumerate(entries):
        at = f"{where}: [[speed]] #{i + 1}"
        if not isinstance(raw, dict):
            raise RuleError(f"{at} is not a table")
        unknown = set(raw) - {"tests", "kind", "device", "max_ratio", "bands", "repeats", "warmup"}
        if unknown:
            raise RuleError(f"{at}: unknown keys {sorted(unknown)}")
        tests = raw.get("tests")
        if not isinstance(tests, list) or not tests or not all(isinstance(t, str) for t in tests):
            raise RuleError(f"{at} needs `tests`, a list of test-function patterns")
        kind, device = raw.get("kind", "time"), raw.get("device", "cpu")
        if kind not in KINDS:
            raise RuleError(f"{at}: kind must be one of {KINDS}")
        if device not in DEVICES:
            raise RuleError(f"{at}: device must be one of {DEVICES}")
        max_ratio = raw.get("max_ratio")
        if not isinstance(max_ratio, (int, float)) or isinstance(max_ratio, bool) or max_ratio < MIN_RATIO:
            raise RuleError(f"{at} needs `max_ratio`, a number of at least {MIN_RATIO:g} (a tighter limit "
                            "fails correct solutions on a noisy machine)")
        bands = []
        for band in raw.get("bands", []):
            if (not isinstance(band, list) or len(band) != 2
                    or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in band)):
                raise RuleError(f"{at}: each band is [ratio, fraction of the points]")
            bands.append((float(band[0]), float(band[1])))
        if bands:
            ratios = [b for b, _ in bands]
            fractions = [f for _, f in bands]
            if ratios != sorted(ratios) or len(set(ratios)) != len(ratios):
                raise RuleError(f"{at}: band ratios must increase")
            if ratios[0] < MIN_RATIO or ratios[-1] > max_ratio:
                raise RuleError(f"{at}: band ratios must lie between {MIN_RATIO:g} and max_ratio")
            if fractions[0] != 1.0 or fractions != sorted(fractions, reverse=True) or fractions[-1] <= 0:
                raise RuleError(f"{at}: the first band gives full points (1.0), later ones less, none zero")
        defaults = (11, 2) if kind == "time" else (3, 1)
        repeats, warmup = raw.get("repeats", defaults[0]), raw.get("warmup", defaults[1])
        if not isinstance(repeats, int) or not 1 <= repeats <= 101 or not isinstance(warmup, int) or not 0 <= warmup <= 20:
            raise RuleError(f"{at}: repeats must be 1..101 and warmup 0..20")
        rules.append(SpeedRule(tests=tuple(tests), max_ratio=float(max_ratio), kind=kind, device=device,
                               bands=tuple(bands), repeats=repeats, warmup=warmup))
    return tuple(rules)


NO_GPU = "not run here: no GPU"


def rescale_without_gpu(man, tests: list) -> list[str]:
    """GPU tests that could not run count neither for nor against the student (they are skipped,
    and a part's points go to its other tests). With `gpu_rescale = true` in the manifest, the
    scores are also scaled so the maximum stays the manifest's total, as if the GPU points were
    spread over everything else. Returns a note for the student (none if nothing was skipped)."""
    skipped = [t for t in tests if t.status == "skipped" and t.message.startswith(NO_GPU)]
    if not skipped:
        return []
    note = f"{len(skipped)} GPU test(s) not run here (no GPU): they count neither for nor against you"
    reachable = sum(t.max_score for t in tests)
    if man.gpu_rescale and 0 < reachable < man.points:
        factor = man.points / reachable
        for t in tests:
            t.score *= factor
            t.max_score *= factor
        note += f"; scores are scaled by {factor:.3f} to keep the total at {man.points:g}"
    return [note]
