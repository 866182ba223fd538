"""The Gradescope autograder bundle of one assignment (`adl gradescope SLUG`).

    setup.sh          installs Python 3.11, bubblewrap and the pinned environment
    run_autograder    grades /autograder/submission into /autograder/results/results.json
    course/           the grader and this assignment's instructor folder: manifest, reference,
                      public and hidden tests (the bundle is the instructor's; Gradescope
                      never shows it to students)

The zip is reproducible: sorted entries, fixed timestamps, fixed permissions.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from autograder import manifest as manifest_mod

TEMPLATES = Path(__file__).parent / "templates" / "gradescope"
EPOCH = (2020, 1, 1, 0, 0, 0)
SKIP = {"__pycache__", ".ipynb_checkpoints"}


def bundle_files(root: Path, slug: str) -> dict[str, tuple[bytes, int]]:
    """{path in the zip: (content, mode)}."""
    root = Path(root)
    solution = root / "solutions" / slug
    man = manifest_mod.load(solution)
    files: dict[str, tuple[bytes, int]] = {
        "setup.sh": ((TEMPLATES / "setup.sh").read_bytes(), 0o755),
        "run_autograder": ((TEMPLATES / "run_autograder").read_text().replace("__SLUG__", slug).encode(), 0o755),
        "course/pyproject.toml": ((root / "pyproject.toml").read_bytes(), 0o644),
    }
    for package in ("autograder", "source_utils", "gradebook"):
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and not SKIP & set(path.parts):
                files[f"course/{path.relative_to(root).as_posix()}"] = (path.read_bytes(), 0o644)
    wanted = [manifest_mod.MANIFEST, f"{man.module}.py"]
    for name in wanted:
        files[f"course/solutions/{slug}/{name}"] = ((solution / name).read_bytes(), 0o644)
    for kind in ("public", "hidden"):
        # every file, not only *.py: hidden tests may read committed data beside them (weights)
        folder = solution / "tests" / kind
        for test in sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []:
            files[f"course/solutions/{slug}/tests/{kind}/{test.name}"] = (test.read_bytes(), 0o644)
    return files


def build(root: Path, slug: str, out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, (content, mode) in sorted(bundle_files(root, slug).items()):
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return out
