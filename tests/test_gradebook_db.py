"""The gradebook's schema comes from its Alembic migrations, and the models match them."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import IntegrityError

from gradebook import db
from gradebook.models import Assignment, Base, GradingRun, Student, Submission


def test_a_fresh_database_is_built_by_the_migrations_and_matches_the_models(tmp_path):
    gb = db.open_gradebook(tmp_path)  # the default: gradebook.db in the course root
    head = ScriptDirectory.from_config(db.alembic_config()).get_current_head()
    with sqlite3.connect(tmp_path / "gradebook.db") as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head
    with gb.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == [], f"the models differ from the migrations; write a revision: {diff}"
    gb.close()
    db.open_gradebook(tmp_path).close()  # opening an up-to-date gradebook changes nothing


def test_downgrade_and_upgrade_round_trip(tmp_path):
    gb = db.open_gradebook(tmp_path, str(tmp_path / "g.db"))
    cfg = db.alembic_config()
    with gb.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with sqlite3.connect(tmp_path / "g.db") as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"alembic_version"}
    db.upgrade(gb.engine)
    with gb.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_the_url_comes_from_the_option_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ADL_GRADEBOOK", f"sqlite:///{tmp_path}/env.db")
    assert db.resolve_url(tmp_path) == f"sqlite:///{tmp_path}/env.db"
    assert db.resolve_url(tmp_path, str(tmp_path / "opt.db")) == f"sqlite:///{tmp_path / 'opt.db'}"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        db.open_gradebook(tmp_path, str(tmp_path / "no" / "such" / "folder.db"))


def test_at_most_one_counted_run_per_submission(tmp_path):
    gb = db.open_gradebook(tmp_path)
    now = datetime(2026, 10, 1)

    def run(counted: bool) -> GradingRun:
        return GradingRun(submission_id=1, status="done", counted=counted, started_at=now, host="h", pid=1,
                          grader_version="v", hidden_tests_hash="x", notes="[]", error="")

    with gb.session() as s:
        s.add(Student(id="s1", name="A", email="a@b.c", section="", added_at=now))
        s.add(Assignment(slug="toy", title="Toy", points=10))
        s.flush()
        s.add(Submission(id=1, student_id="s1", slug="toy", submitted_at=now, collected_at=now, source="x",
                         source_kind="folder", time_source="t", content_hash="0" * 64, size=1))
        s.flush()
        s.add_all([run(True), run(False), run(False)])
    with pytest.raises(IntegrityError):
        with gb.session() as s:
            s.add(run(True))
