"""The course profile, `course.toml` at the course root: the one place for the term's
calendar and late policies (assignment manifests stay term-independent, so one bank serves
several syllabi).

    [course]
    name = "Advanced Deep Learning, autumn 2026"
    timezone = "Europe/Zurich"        # due dates written without an offset are in this zone

    [late]                            # the default policy of every week (policy.py has the formulas)
    policy = "linear"
    percent_per_day = 10
    grace_minutes = 15

    [[weeks]]
    week = 3
    slug = "attention"
    due = 2026-10-14T23:59:00         # or with an offset: 2026-10-14T23:59:00+02:00
    canvas_id = 4711                  # optional: the Canvas assignment to update on import
    [weeks.late]                      # optional: replaces [late] for this week
    policy = "step"
    steps = [[1, 10], [3, 30]]

An assignment that is not in `[[weeks]]` has no due date and no late penalty.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gradebook.policy import LatePolicy, PolicyError

PROFILE = "course.toml"


class CourseError(ValueError):
    pass


@dataclass(frozen=True)
class Week:
    slug: str
    week: int | None
    due: datetime | None  # naive UTC
    late: LatePolicy
    canvas_id: int | None = None


@dataclass(frozen=True)
class Course:
    name: str
    weeks: dict[str, Week] = field(default_factory=dict)
    path: Path | None = None
    timezone: str = "UTC"  # of due dates and extensions written without an offset

    def to_utc(self, value, where: str) -> datetime:
        return to_utc(value, ZoneInfo(self.timezone), where)

    def week(self, slug: str) -> Week:
        return self.weeks.get(slug) or Week(slug=slug, week=None, due=None, late=LatePolicy())


def to_utc(value, zone: ZoneInfo, where: str) -> datetime:
    """A TOML date/datetime (or ISO string) as naive UTC; a bare date means the end of that day."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise CourseError(f"{where}: {value!r} is not a date and time (e.g. 2026-10-14T23:59:00)") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, 23, 59, 59)
    if not isinstance(value, datetime):
        raise CourseError(f"{where}: {value!r} is not a date and time")
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def load(root: Path) -> Course:
    path = Path(root) / PROFILE
    if not path.exists():
        return Course(name=Path(root).name)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise CourseError(f"{path}: {exc}") from None
    info = data.get("course", {})
    try:
        zone = ZoneInfo(info.get("timezone", "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        raise CourseError(f"{path}: [course] timezone {info.get('timezone')!r} is not a time zone "
                          "(e.g. Europe/Zurich, America/New_York, UTC)") from None
    try:
        default = LatePolicy.from_table(data.get("late", {}), f"{path}: [late]")
        weeks: dict[str, Week] = {}
        for i, raw in enumerate(data.get("weeks", [])):
            where = f"{path}: [[weeks]] #{i + 1}"
            slug = raw.get("slug")
            if not isinstance(slug, str) or not slug:
                raise CourseError(f"{where} needs slug = \"...\"")
            if slug in weeks:
                raise CourseError(f"{where}: {slug} is listed twice (one place per due date)")
            late = LatePolicy.from_table(raw["late"], f"{where} ({slug}) [weeks.late]") if "late" in raw else default
            due = to_utc(raw["due"], zone, f"{where} ({slug}) due") if "due" in raw else None
            weeks[slug] = Week(slug=slug, week=raw.get("week"), due=due, late=late, canvas_id=raw.get("canvas_id"))
    except PolicyError as exc:
        raise CourseError(str(exc)) from None
    return Course(name=info.get("name", Path(root).name), weeks=weeks, path=path, timezone=zone.key)
