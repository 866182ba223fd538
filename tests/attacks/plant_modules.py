"""At import, write random.py, numpy.py, torch.py, conftest.py and sitecustomize.py into the
submission folder, the folder above it and the working directory, hoping the grading pytest
(which runs in that folder above, and imports `random` for the hidden tests) picks them up.
Each planted module writes a marker outside the grading folder (the test supplies the path).

Must happen: in bwrap mode the submission is read-only and nothing else of the grader's is
visible; in process mode the files can be written, but the grading pytest never imports from
its working directory (`python -P`, --noconftest); the marker is never written; the fact
tests fail; add is graded."""
import os

MARKER = "__MARKER__"
PLANT = f"open({MARKER!r}, 'w').write('planted module imported')\n"

here = os.path.dirname(os.path.abspath(__file__))
for folder in {here, os.path.dirname(here), os.getcwd()}:
    for name in ("random.py", "numpy.py", "torch.py", "conftest.py", "sitecustomize.py"):
        try:
            with open(os.path.join(folder, name), "w") as f:
                f.write(PLANT)
        except OSError:
            pass


def add(a, b):
    return a + b


def fact(n):
    return 0
