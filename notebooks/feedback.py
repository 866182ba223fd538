"""nbgrader's feedback without the hidden tests.

`nbgrader generate_feedback` turns the autograded notebook into the HTML a student gets back;
the autograded notebook holds the hidden tests that nbgrader put back into the check cells, so
stock nbgrader shows them to the student (a known weakness). `HideHiddenTests` runs first in
`GenerateFeedback.preprocessors` (adl's nbgrader_config.py sets it): it cuts every
`### BEGIN HIDDEN TESTS` ... `### END HIDDEN TESTS` block out of the cells, and shortens the error
of a check cell to its type and message, since a traceback quotes the failing hidden line.
The assertion messages of hidden tests are written for students: they say which property
failed, never the expected numbers.
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from source_utils import markers

REPLACEMENT = "# (hidden tests ran here; they are not shown)"


def hide(source: str) -> str:
    out, hiding = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == markers.BEGIN_HIDDEN:
            hiding = True
            out.append(line[: len(line) - len(line.lstrip())] + REPLACEMENT)
        elif stripped == markers.END_HIDDEN:
            hiding = False
        elif not hiding:
            out.append(line)
    return "\n".join(out)


class HideHiddenTests(Preprocessor):
    enabled = Bool(True).tag(config=True)  # nbconvert's preprocessors are off unless enabled

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or markers.BEGIN_HIDDEN not in cell.source:
            return cell, resources
        cell.source = hide(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
