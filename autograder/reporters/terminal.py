"""Tables in the terminal (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autograder.grading import GradeResult

MARK = {"passed": "[green]✓ pass[/]", "failed": "[red]✗ fail[/]", "skipped": "[yellow]– skipped[/]",
        "not run": "[red]✗ not run[/]"}


def make_console() -> Console:
    """A console that stays wide enough for the tables when output goes to a file or CI log."""
    import shutil

    width = shutil.get_terminal_size((140, 40)).columns
    return Console(highlight=False, width=max(width, 120))


def short(message: str, width: int = 90) -> str:
    first = message.strip().splitlines()[0] if message.strip() else ""
    return first if len(first) <= width else first[: width - 1] + "…"


def grade_table(result: GradeResult, verbose: bool = False) -> Table:
    table = Table(title=escape(f"{result.slug}: {result.submission}"), title_justify="left")
    table.add_column("test")
    table.add_column("kind", style="dim")
    table.add_column("result", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("why it failed", overflow="fold", ratio=1)
    parts = result.by_part()
    previous = None
    for t in result.tests:
        if t.part != previous:
            got, out_of = parts[t.part]
            if previous is not None:
                table.add_section()
            table.add_row(f"[bold]{escape(t.part)}[/]", "", "", f"[bold]{got:.2f}/{out_of:.2f}[/]", "")
            previous = t.part
        why = t.message if verbose else short(t.message)
        table.add_row(f"  {escape(t.name)}", t.kind, MARK.get(t.status, t.status),
                      f"{t.score:.2f}/{t.max_score:.2f}",
                      escape(why) if t.status != "passed" or t.score < t.max_score - 1e-9 else "")  # partial: a speed band
    table.add_section()
    table.add_row("[bold]total[/]", "", "", f"[bold]{result.score:.2f}/{result.max_score:.2f}[/]", "")
    return table


def print_grade(result: GradeResult, console: Console | None = None, verbose: bool = False) -> None:
    console = console or Console()
    console.print(grade_table(result, verbose))
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    console.print(f"[dim]seed {result.seed} · {result.execution_time:.1f} s · sandbox: {result.sandbox}[/]")


def comparison_table(results: dict[str, GradeResult]) -> Table:
    """One row per test, one column per submission (the demo's view)."""
    labels = list(results)
    table = Table(title="per-test results", title_justify="left")
    table.add_column("part")
    table.add_column("test")
    for label in labels:
        table.add_column(label, justify="right", no_wrap=True)
    first = results[labels[0]]
    index = {label: {(t.part, t.name): t for t in r.tests} for label, r in results.items()}
    previous = None
    for t in first.tests:
        cells = []
        for label in labels:
            other = index[label].get((t.part, t.name))
            if other is None:
                cells.append("")
            else:
                colour = "green" if other.status == "passed" else "yellow" if other.status == "skipped" else "red"
                cells.append(f"[{colour}]{other.score:.2f}[/]")
        table.add_row(escape(t.part) if t.part != previous else "", f"{escape(t.name)} [dim]({t.kind})[/]", *cells)
        previous = t.part
    table.add_section()
    table.add_row("[bold]total[/]", f"out of {first.max_score:.0f}",
                  *[f"[bold]{r.score:.2f}[/]" for r in results.values()])
    return table
