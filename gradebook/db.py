"""Open a gradebook: find its URL, bring its schema up to date, hand out sessions.

The URL is, first that is given: `--db` (a SQLAlchemy URL or a plain file path), the
environment variable ADL_GRADEBOOK, else `sqlite:///<course root>/gradebook.db`. Opening
runs every Alembic migration the database has not had yet, so an old gradebook survives an
upgrade of the toolkit and a new one is created by the same migrations (never by
`create_all`, which would let the models and the migrations drift apart).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ENV_URL = "ADL_GRADEBOOK"
DEFAULT_FILE = "gradebook.db"


def resolve_url(root: Path, given: str | None = None) -> str:
    value = given or os.environ.get(ENV_URL) or str(Path(root) / DEFAULT_FILE)
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).resolve()}"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every migration the database lacks (a fresh database gets them all)."""
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: `adl gradebook show` can read while a batch writes; synchronous=FULL: a commit is
    # on disk when it returns, so a result reported graded survives a power cut
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@dataclass
class Gradebook:
    url: str
    engine: Engine
    sessions: sessionmaker

    @contextmanager
    def session(self):
        """A session whose work is committed at the end of the block, or rolled back."""
        with self.sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def close(self) -> None:
        self.engine.dispose()


def open_gradebook(root: Path, url: str | None = None) -> Gradebook:
    url = resolve_url(root, url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            raise FileNotFoundError(f"{parsed.database}: the folder {folder} does not exist")
    engine = create_engine(url)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    upgrade(engine)
    return Gradebook(url, engine, sessionmaker(engine, expire_on_commit=False))


__all__ = ["Gradebook", "Session", "open_gradebook", "resolve_url", "upgrade"]
