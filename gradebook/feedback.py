"""`adl feedback SLUG`: a report per student, and the grade distribution for the instructor.

Each student gets `<id>.md` (for CI summaries and email) and `<id>.html` (self-contained):
score, late penalty, adjustments and final score with how it was computed; points per part;
every test with its result, the grader's message, and its time; the grader's notes; the seed
and grader version, so a regrade can be reproduced. Messages are the grader's own, which
name the property that failed and never the hidden expected values; nothing else from the
hidden tests is shown. `distribution.png` shows the final scores and the mean score per part.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from autograder import manifest as manifest_mod
from gradebook.course import Course
from gradebook.scores import Line, Sheet

MARK = {"passed": "✅ passed", "failed": "❌ failed", "skipped": "➖ skipped", "not run": "❌ not run"}


def md(text: str) -> str:
    """Text for a Markdown table cell or line: no markup (the text may be the student's own
    exception message or name) and no `|` that would end the cell."""
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def facts(line: Line, course: Course) -> list[tuple[str, str]]:
    """(label, value) rows of the score computation."""
    week = course.week(line.slug)
    rows = [("submitted", _when(line.submission.submitted_at) if line.submission else "no submission"),
            ("due", _when(line.due) + (f" (extension: {line.extension.reason})" if line.extension else ""))]
    if line.code is not None:
        rows.append(("tests", f"{line.code:.2f} / {line.code_points:g}"))
    if line.notebook:
        waiting = f" ({line.notebook_ungraded} written answer(s) not graded yet)" if line.notebook_ungraded else ""
        rows.append(("notebook", f"{line.notebook_score:.2f} / {line.notebook_points:g}{waiting}"))
    if line.submission is not None and line.due is not None:
        if line.days_late:
            rows.append(("late", f"{line.days_late} day(s): {week.late.describe()} → −{100 * line.penalty:.0f}%"))
        else:
            rows.append(("late", "on time"))
    for adj in line.adjustments:
        rows.append(("adjustment", f"{adj.points:+g} by {adj.by} on {_when(adj.at)}: {adj.reason}"))
    if line.status == "pending":
        rows.append(("final score", "not graded yet"))
    else:
        rows.append(("final score", f"{line.final:.2f} / {line.points:g}"))
    return rows


def hint(man: manifest_mod.Manifest | None, part_title: str) -> str:
    if man is None:
        return ""
    for i, part in enumerate(man.parts, 1):
        if part.title == part_title:
            return f"see part {i} of the task sheet ({part.title})"
    return ""


def notebook_rows(line: Line) -> list[tuple[str, str, str, str]]:
    """(cell, kind, points, remarks) of the seminar notebook's graded cells, in cell-name order;
    remarks are the grader's comment and what happened to the cell (deleted, duplicated, edited)."""
    rows = []
    for g in line.notebook:
        points = "not graded yet" if g.score is None else f"{g.score:.2f} / {g.max_score:.2f}"
        remarks = " — ".join(text for text in (g.comment, g.notice) if text)
        rows.append((g.cell, "written answer" if g.kind == "manual" else "check cell", points, remarks))
    return rows


def markdown(line: Line, course: Course, title: str, man=None) -> str:
    st = line.student
    out = [f"# {md(title)}: feedback for {md(st.name)} ({md(st.id)})", ""]
    out += ["| | |", "|---|---|", *[f"| {k} | {md(v)} |" for k, v in facts(line, course)], ""]
    run = line.run
    if run is None:
        out.append("No graded submission." if line.submission is None else "Your submission has not been graded yet.")
        return "\n".join(out) + "\n"
    parts: dict[str, list[float]] = {}
    for t in run.tests:
        p = parts.setdefault(t.part, [0.0, 0.0])
        p[0] += t.score
        p[1] += t.max_score
    if parts:
        out += ["## Points per part", "", "| part | points |", "|---|---:|"]
        out += [f"| {md(name)} | {got:.2f} / {total:.2f} |" for name, (got, total) in parts.items()] + [""]
        out += ["## Tests", "", "| test | kind | result | points | time | message |", "|---|---|---|---:|---:|---|"]
        for t in run.tests:
            message = md(t.message[:300])  # may quote the student's own exception text
            if t.status != "passed" and hint(man, t.part):
                message = (message + " — " if message else "") + md(hint(man, t.part))
            out.append(f"| `{md(t.name)}` | {t.kind} | {MARK.get(t.status, t.status)} | {t.score:.2f} / {t.max_score:.2f} "
                       f"| {t.duration:.2f} s | {message} |")
        out.append("")
    if line.notebook:
        out += ["## Seminar notebook", "", "| cell | kind | points | remarks |", "|---|---|---:|---|"]
        out += [f"| `{md(cell)}` | {kind} | {points} | {md(remarks)} |" for cell, kind, points, remarks in notebook_rows(line)]
        out.append("")
    notes = json.loads(run.notes or "[]")
    if notes:
        out += ["## Notes from the grader", "", *[f"- {md(n)}" for n in notes], ""]
    out.append(f"<sub>graded {_when(run.finished_at)} in {run.execution_time or 0:.1f} s · seed {run.seed} · "
               f"grader {run.grader_version} · submission {line.submission.content_hash[:12]}</sub>")
    return "\n".join(out) + "\n"


def to_html(line: Line, course: Course, title: str, man=None) -> str:
    e = html.escape
    st = line.student
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts(line, course))
    body = [f"<h1>{e(title)}</h1><p>Feedback for <b>{e(st.name)}</b> ({e(st.id)})</p><table class=facts>{rows}</table>"]
    run = line.run
    if run is None:
        body.append("<p>" + ("No graded submission." if line.submission is None else "Not graded yet.") + "</p>")
    else:
        tests = []
        for t in run.tests:
            message = t.message
            if t.status != "passed" and hint(man, t.part):
                message = (message + "\n" if message else "") + hint(man, t.part)
            tests.append(f"<tr class={'ok' if t.status == 'passed' else 'bad'}><td><code>{e(t.name)}</code></td>"
                         f"<td>{e(t.part)}</td><td>{e(t.kind)}</td><td>{e(MARK.get(t.status, t.status))}</td>"
                         f"<td>{t.score:.2f} / {t.max_score:.2f}</td><td>{t.duration:.2f} s</td>"
                         f"<td><pre>{e(message)}</pre></td></tr>")
        if tests:
            body.append("<h2>Tests</h2><table><tr><th>test</th><th>part</th><th>kind</th><th>result</th><th>points</th>"
                        "<th>time</th><th>message</th></tr>" + "".join(tests) + "</table>")
        if line.notebook:
            body.append("<h2>Seminar notebook</h2><table><tr><th>cell</th><th>kind</th><th>points</th><th>remarks</th></tr>"
                        + "".join(f"<tr><td><code>{e(c)}</code></td><td>{e(k)}</td><td>{e(p)}</td><td>{e(r)}</td></tr>"
                                  for c, k, p, r in notebook_rows(line)) + "</table>")
        notes = json.loads(run.notes or "[]")
        if notes:
            body.append("<h2>Notes from the grader</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
        body.append(f"<p class=meta>graded {e(_when(run.finished_at))} · seed {run.seed} · grader "
                    f"{e(run.grader_version)} · submission {e(line.submission.content_hash[:12])}</p>")
    style = ("body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}"
             "tr.ok{background:#eefbea}tr.bad{background:#fdeceb}pre{white-space:pre-wrap;margin:0}"
             ".facts th{background:#f4f4f4}.meta{color:#777;font-size:.85em}")
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{e(title)}: {e(st.id)}</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")


def distribution(sheet: Sheet, slug: str, title: str, out: Path) -> dict:
    """Write the instructor's plot: final scores (histogram, mean and median) and the mean
    fraction of points per part. Returns the numbers it drew."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.ticker
    import matplotlib.pyplot as plt
    import numpy as np

    lines = [sheet.lines[(st.id, slug)] for st in sheet.students]
    finals = np.array([l.final for l in lines if l.status == "graded"], dtype=float)
    points = lines[0].points if lines else 0.0
    parts: dict[str, list[float]] = {}
    for l in lines:
        if l.run is not None:
            per: dict[str, list[float]] = {}
            for t in l.run.tests:
                p = per.setdefault(t.part, [0.0, 0.0])
                p[0] += t.score
                p[1] += t.max_score
            for name, (got, total) in per.items():
                if total:
                    parts.setdefault(name, []).append(got / total)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    missing = sum(l.status == "missing" for l in lines)
    if finals.size:
        ax1.hist(finals, bins=np.linspace(0, points or 1, 11), color="#4c72b0", edgecolor="white")
        ax1.axvline(finals.mean(), color="#dd8452", label=f"mean {finals.mean():.1f}")
        ax1.axvline(np.median(finals), color="#55a868", linestyle="--", label=f"median {np.median(finals):.1f}")
        ax1.legend()
    ax1.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax1.set(xlabel=f"final score (of {points:g})", ylabel="students",
            title=f"{slug}: {finals.size} graded, {missing} without a submission")
    names = list(parts)
    means = [100 * float(np.mean(parts[n])) for n in names]
    ax2.barh(range(len(names)), means, color="#8172b2")
    ax2.set_yticks(range(len(names)), [n if len(n) < 32 else n[:30] + "…" for n in names])
    ax2.invert_yaxis()
    ax2.set(xlim=(0, 100), xlabel="mean % of the part's points earned (before late penalty)",
            title="which parts students got right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return {"graded": int(finals.size), "missing": missing,
            "mean": float(finals.mean()) if finals.size else None,
            "median": float(np.median(finals)) if finals.size else None,
            "parts": dict(zip(names, means))}


def write(sheet: Sheet, course: Course, slug: str, title: str, out_dir: Path, man=None) -> dict:
    """Write every student's reports and the distribution plot into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for st in sheet.students:
        line = sheet.lines[(st.id, slug)]
        (out_dir / f"{st.id}.md").write_text(markdown(line, course, title, man))
        (out_dir / f"{st.id}.html").write_text(to_html(line, course, title, man))
        written += 1
    stats = distribution(sheet, slug, title, out_dir / "distribution.png")
    return {"reports": written, **stats}
