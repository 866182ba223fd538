"""fact fills /tmp (and $TMPDIR) with 32 MB files until the disk is full.

Must happen (bwrap): /tmp is the sandbox's own size-limited tmpfs, gone with the worker; the
host's /tmp gets none of these files; the fact tests fail; add is graded. Not run in process
mode: there /tmp is the host's (each file is capped at 64 MB, but not their number)."""
import os


def add(a, b):
    return a + b


def fact(n):
    written = 0
    block = b"x" * (32 * 2**20)
    for folder in ("/tmp", os.environ.get("TMPDIR", "/tmp")):
        for i in range(64):
            try:
                with open(os.path.join(folder, f"adl-attack-fill-{n}-{i}"), "wb") as f:
                    f.write(block)
                written += 1
            except OSError:
                break
    return -written
