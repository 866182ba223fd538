"""Late policies and the course profile. Expected penalties are the formulas of the policy
docstring evaluated by hand on chosen delays."""

from __future__ import annotations

from datetime import datetime

import pytest

from gradebook import course as course_mod
from gradebook.policy import LatePolicy, PolicyError

DAY = 86400
MIN = 60


def pol(**table) -> LatePolicy:
    return LatePolicy.from_table(table, "test")


@pytest.mark.parametrize("table, late_s, penalty", [
    ({"policy": "none"}, 30 * DAY, 0.0),
    ({"policy": "zero"}, 0, 0.0),
    ({"policy": "zero"}, 1, 1.0),
    ({"policy": "linear", "percent_per_day": 10}, 1, 0.10),  # 1 second late: day 1 started
    ({"policy": "linear", "percent_per_day": 10}, DAY, 0.10),
    ({"policy": "linear", "percent_per_day": 10}, DAY + 1, 0.20),
    ({"policy": "linear", "percent_per_day": 10}, 10.5 * DAY, 1.0),  # 11 days * 10 % capped at all
    ({"policy": "linear", "percent_per_day": 10, "grace_minutes": 15}, 14 * MIN, 0.0),
    ({"policy": "linear", "percent_per_day": 10, "grace_minutes": 15}, 16 * MIN, 0.10),
    ({"policy": "capped", "percent_per_day": 20, "cap_percent": 50}, DAY, 0.20),
    ({"policy": "capped", "percent_per_day": 20, "cap_percent": 50}, 1.5 * DAY, 0.40),
    ({"policy": "capped", "percent_per_day": 20, "cap_percent": 50}, 9 * DAY, 0.50),
    ({"policy": "step", "steps": [[1, 10], [3, 30]]}, 0.5 * DAY, 0.10),
    ({"policy": "step", "steps": [[1, 10], [3, 30]]}, 2 * DAY, 0.30),
    ({"policy": "step", "steps": [[1, 10], [3, 30]]}, 3 * DAY, 0.30),
    ({"policy": "step", "steps": [[1, 10], [3, 30]]}, 3 * DAY + 1, 1.0),
])
def test_penalties(table, late_s, penalty):
    assert pol(**table).penalty(late_s) == pytest.approx(penalty)


@pytest.mark.parametrize("table, message", [
    ({"policy": "weekly"}, "not one of"),
    ({"policy": "linear"}, "percent_per_day > 0"),
    ({"policy": "capped", "percent_per_day": 10}, "needs cap_percent"),
    ({"policy": "step", "steps": [[3, 30], [1, 10]]}, "increasing"),
    ({"policy": "step", "steps": "1:10"}, "steps = "),
    ({"policy": "linear", "percent_per_day": 150}, "from 0 to 100"),
    ({"policy": "linear", "per_day": 10}, "unknown key"),
])
def test_bad_policies_are_named(table, message):
    with pytest.raises(PolicyError, match=message):
        pol(**table)


def test_course_profile_converts_due_dates_to_utc(tmp_path):
    (tmp_path / "course.toml").write_text("""
[course]
timezone = "Europe/Zurich"
[late]
policy = "zero"
[[weeks]]
slug = "attention"
due = 2026-10-14T23:59:00          # CEST, UTC+2
[[weeks]]
slug = "em"
due = 2026-11-20T23:59:00          # CET, UTC+1
[weeks.late]
policy = "linear"
percent_per_day = 5
[[weeks]]
slug = "ppo"
due = 2026-12-01T12:00:00-05:00    # an explicit offset wins
""")
    c = course_mod.load(tmp_path)
    assert c.week("attention").due == datetime(2026, 10, 14, 21, 59)
    assert c.week("em").due == datetime(2026, 11, 20, 22, 59)
    assert c.week("ppo").due == datetime(2026, 12, 1, 17, 0)
    assert c.week("attention").late.kind == "zero" and c.week("em").late.percent_per_day == 5
    assert c.week("backprop").due is None and c.week("backprop").late.penalty(10 * DAY) == 0.0


@pytest.mark.parametrize("text, message", [
    ('[course]\ntimezone = "Mars/Olympus"\n', "not a time zone"),
    ('[[weeks]]\nslug = "a"\n[[weeks]]\nslug = "a"\n', "listed twice"),
    ('[[weeks]]\nslug = "a"\ndue = "next friday"\n', "not a date"),
    ('[[weeks]]\nslug = "a"\n[weeks.late]\npolicy = "linear"\n', "percent_per_day"),
    ("[[weeks]\n", "course.toml"),
])
def test_bad_profiles_are_named(tmp_path, text, message):
    (tmp_path / "course.toml").write_text(text)
    with pytest.raises(course_mod.CourseError, match=message):
        course_mod.load(tmp_path)
