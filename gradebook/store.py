"""The submission store: write-once files named by their SHA-256.

A submission is kept as one zip: a student's zip as it came (after `collect` checked it), a
folder or cloned repository packed deterministically (sorted names, fixed timestamps, no
`.git`), so the same content always has the same hash and a second collection of unchanged
work is recognised. `put` returns only once the bytes are on disk:

    write to a temporary file in the store -> fsync it -> rename to <hash[:2]>/<hash>.zip
    -> fsync the folder (the rename itself is durable) -> make the file read-only

and only then does `collect` record the submission in the database, so a crash at any point
leaves either nothing recorded (a stray temporary file at worst) or a complete, hashed file.
A stored file is never opened for writing again.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from pathlib import Path

SKIPPED_DIRS = {".git", "__pycache__", ".ipynb_checkpoints", "__MACOSX", ".venv", "node_modules"}
MAX_FOLDER_BYTES = 50 * 2**20  # the grader would not unpack more than this either
ENV_STORE = "ADL_STORE"
DEFAULT_FOLDER = "submission-store"


class StoreError(Exception):
    pass


def default_location(root: Path) -> Path:
    return Path(os.environ.get(ENV_STORE) or Path(root) / DEFAULT_FOLDER)


def pack_folder(folder: Path) -> bytes:
    """The regular files under `folder` as a deterministic zip (links and SKIPPED_DIRS left out)."""
    folder = Path(folder)
    files = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):  # follows no symbolic links
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            total += path.stat().st_size
            if total > MAX_FOLDER_BYTES:
                raise StoreError(f"{folder}: more than {MAX_FOLDER_BYTES // 2**20} MB of files; "
                                 "is a data set or an environment inside the submission?")
            files.append(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(files, key=lambda p: p.relative_to(folder).as_posix()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return buffer.getvalue()


class Store:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, digest: str) -> Path:
        return self.folder / digest[:2] / f"{digest}.zip"

    def put(self, data: bytes) -> str:
        """Store `data` durably (see the module docstring); return its SHA-256 (hex)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            if hashlib.sha256(target.read_bytes()).hexdigest() != digest:
                raise StoreError(f"{target} does not hold what its name says (disk corruption?); "
                                 "move it aside and collect again")
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for folder in (target.parent, self.folder):  # the new name, and a new subfolder's name
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        return digest

    def get(self, digest: str) -> Path:
        """The stored file, checked against its hash."""
        path = self.path(digest)
        if not path.exists():
            raise StoreError(f"submission {digest[:12]} is missing from the store {self.folder}")
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise StoreError(f"{path} no longer matches its hash: it was modified or corrupted")
        return path
