"""The notebook commands of `adl`; `autograder/cli.py` registers them with `add_parsers`."""

from __future__ import annotations

import argparse
from pathlib import Path


# ---------------------------------------------------------------------------- registration

def add_parsers(sub) -> None:
    pass


COMMANDS: dict = {}
