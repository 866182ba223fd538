"""`adl export-pdf`: a student's seminar notebook as a PDF, for grading by hand (Gradescope
wants one PDF per student).

The notebook goes through nbconvert's HTML exporter (the "lab" template: outputs, plots as
embedded data URIs, highlighted code) and WeasyPrint lays the HTML out on A4 pages. HTML, not
LaTeX, because it needs no TeX installation, renders whatever a student's outputs hold
(HTML tables, Unicode, odd Markdown) instead of failing on it, and lets print CSS wrap long
code lines and scale images to the page rather than cutting them at the edge. Nothing is
fetched from the network or the disk while rendering: the URL fetcher allows `data:` URLs
only (a student's HTML could otherwise make WeasyPrint read, or attach, local files), so
MathJax never runs and LaTeX math stays as its readable source. Every page carries the
student's id, the assignment, and the submission's time and SHA-256 when known, so a PDF
found on its own says whose work it is and which version. When WeasyPrint cannot be imported
(not installed, or Pango missing) nbconvert's LaTeX exporter is used if `xelatex` is on
PATH; otherwise the error says what to install.

A submission is read, never unpacked: an `.ipynb`, a folder holding `seminar.ipynb`, a zip
holding it (the entry is read in memory; a zip with `..` or absolute entries is refused) or,
through the gradebook, the student's latest collected submission (`gradebook/store.py`).
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import logging
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

NOTEBOOK = "seminar.ipynb"
MAX_NOTEBOOK_BYTES = 64 * 2**20  # a notebook with many plots is a few MB; more is a mistake or a zip bomb
INSTALL_HINT = ("install WeasyPrint (`pip install weasyprint`; it needs Pango: on Debian/Ubuntu "
                "`apt-get install libpango-1.0-0 libpangoft2-1.0-0`), or a TeX distribution with xelatex")


class PdfError(ValueError):
    """A notebook that cannot be exported, with the reason in one line."""


@dataclass
class Source:
    """A notebook to export and what is known about it."""

    data: bytes  # the notebook file's bytes
    label: str  # where it came from, for messages: "alice.zip:alice/seminar.ipynb"
    stem: str  # the default name of the PDF (the student's id when known)
    student: str | None = None
    submitted_at: datetime | None = None  # naive UTC
    content_hash: str | None = None  # the stored submission's SHA-256, else the file's
    folder: Path | None = None  # where relative images of Markdown cells may be read from


@dataclass
class Exported:
    path: Path
    pages: int
    engine: str  # weasyprint | latex


# ---------------------------------------------------------------------------- reading submissions

def _unsafe(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return name.startswith(("/", "\\")) or ".." in path.parts or bool(re.match(r"^[A-Za-z]:", name))


def _choose(names: list[str], where: str) -> str:
    """The notebook among `names` (posix paths): `seminar.ipynb` at the top or inside one
    folder, else the only notebook there is."""
    names = [n for n in names if "__MACOSX" not in n.split("/") and not n.split("/")[-1].startswith("._")
             and ".ipynb_checkpoints" not in n.split("/")]
    seminars = sorted((n for n in names if n.split("/")[-1] == NOTEBOOK), key=lambda n: (n.count("/"), n))
    if seminars:
        return seminars[0]
    notebooks = sorted(n for n in names if n.lower().endswith(".ipynb"))
    if len(notebooks) == 1:
        return notebooks[0]
    if notebooks:
        raise PdfError(f"{where}: no {NOTEBOOK}, and several notebooks ({', '.join(notebooks[:4])}); "
                       "give the path of the one to export")
    raise PdfError(f"{where}: no {NOTEBOOK} in it")


def notebook_from_zip(data: bytes, where: str) -> tuple[bytes, str]:
    """(the notebook's bytes, its entry name), read from the zip `data` in memory."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise PdfError(f"{where}: not a readable zip file") from None
    with zf:
        infos = zf.infolist()
        unsafe = [i.filename for i in infos if _unsafe(i.filename)]
        if unsafe:
            raise PdfError(f"{where}: refused: the zip holds unsafe entries ({', '.join(unsafe[:3])}: "
                           "absolute paths or '..'); the student must zip the files again")
        name = _choose([i.filename for i in infos if not i.is_dir()], where)
        info = zf.getinfo(name)
        if info.file_size > MAX_NOTEBOOK_BYTES:
            raise PdfError(f"{where}: {name} is {info.file_size / 2**20:.0f} MB, over the "
                           f"{MAX_NOTEBOOK_BYTES // 2**20} MB a notebook may have")
        try:
            with zf.open(info) as f:
                content = f.read(MAX_NOTEBOOK_BYTES + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
            raise PdfError(f"{where}: cannot read {name} from the zip ({exc})") from None
        if len(content) > MAX_NOTEBOOK_BYTES:
            raise PdfError(f"{where}: {name} is over the {MAX_NOTEBOOK_BYTES // 2**20} MB a notebook may have")
    return content, name


def _read_file(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise PdfError(f"{path}: {size / 2**20:.0f} MB, over the {MAX_NOTEBOOK_BYTES // 2**20} MB a notebook may have")
    return path.read_bytes()


def from_path(path: Path, student: str | None = None) -> Source:
    """A notebook file, a folder holding `seminar.ipynb`, or a zip holding it."""
    path = Path(path)
    if path.is_dir():
        names = [p.relative_to(path).as_posix() for p in path.rglob("*.ipynb")
                 if p.is_file() and not p.is_symlink()]
        chosen = path / _choose(names, str(path))
        data = _read_file(chosen)
        return Source(data, str(chosen), student or path.resolve().name, student,
                      content_hash=hashlib.sha256(data).hexdigest(), folder=chosen.parent)
    if not path.is_file():
        raise PdfError(f"{path}: no such file or folder")
    if zipfile.is_zipfile(path):
        raw = path.read_bytes()  # the zip (the notebook inside it is size-checked)
        data, name = notebook_from_zip(raw, str(path))
        return Source(data, f"{path}:{name}", student or path.stem, student,
                      content_hash=hashlib.sha256(raw).hexdigest())
    data = _read_file(path)
    return Source(data, str(path), student or path.stem, student,
                  content_hash=hashlib.sha256(data).hexdigest(), folder=path.resolve().parent)


def latest_submissions(session, slug: str, students: list[str] | None = None) -> dict:
    """student id -> that student's latest submission of `slug` (by submission time, as the
    grades count it: gradebook/scores.py)."""
    from sqlalchemy import select

    from gradebook.models import Submission

    query = select(Submission).where(Submission.slug == slug)
    if students is not None:
        query = query.where(Submission.student_id.in_(students))
    latest = {}
    for sub in session.scalars(query.order_by(Submission.submitted_at, Submission.id)):
        latest[sub.student_id] = sub
    return latest


def from_submission(submission, store) -> Source:
    """A collected submission: its zip from the store (checked against its hash), read in memory."""
    from gradebook.store import StoreError

    try:
        raw = store.get(submission.content_hash).read_bytes()
    except StoreError as exc:
        raise PdfError(str(exc)) from None
    where = f"{submission.student_id}'s submission {submission.content_hash[:12]}"
    data, name = notebook_from_zip(raw, where)
    return Source(data, f"{where}:{name}", submission.student_id, submission.student_id,
                  submitted_at=submission.submitted_at, content_hash=submission.content_hash)


# ---------------------------------------------------------------------------- the notebook

def read_notebook(source: Source):
    """The parsed notebook (nbformat 4), or PdfError naming why it is not one."""
    import nbformat

    try:
        text = source.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PdfError(f"{source.label}: not a notebook (not UTF-8 text)") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PdfError(f"{source.label}: not a notebook (invalid JSON: {exc})") from None
    if not isinstance(raw, dict) or "nbformat" not in raw or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        raise PdfError(f"{source.label}: not a Jupyter notebook (JSON without nbformat and cells)")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises many kinds for malformed notebooks
        raise PdfError(f"{source.label}: not a valid notebook ({type(exc).__name__}: {exc})") from None
    return nb


def _css_string(text: str) -> str:
    """`text` as a CSS string literal, safe inside <style>."""
    out = []
    for ch in text:
        if ch in '"\\<>' or ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def describe(source: Source, slug: str) -> tuple[str, str]:
    """(who and what, which version): the two lines of every page's header and footer."""
    who = f"{source.student or source.stem} · {slug}"
    version = []
    if source.submitted_at is not None:
        version.append(f"submitted {source.submitted_at:%Y-%m-%d %H:%M:%S} UTC")
    if source.content_hash:
        version.append(f"sha256 {source.content_hash[:16]}")
    return who, " · ".join(version)


PRINT_CSS = """
@page {
  size: A4;
  margin: 16mm 12mm 16mm 12mm;
  @top-left { content: %(who)s; font: 8pt sans-serif; color: #444; }
  @top-right { content: "page " counter(page) " of " counter(pages); font: 8pt sans-serif; color: #444; }
  @bottom-left { content: %(version)s; font: 7pt monospace; color: #666; }
}
html, body { background: white !important; }
body { margin: 0 !important; padding: 0 !important; font-size: 10pt; }
.jp-Notebook { padding: 0 !important; overflow: visible !important; }
.adl-title { border: 1px solid #999; padding: 6pt 9pt; margin: 0 0 10pt 0; font-family: sans-serif; }
.adl-title h1 { font-size: 14pt; margin: 0 0 3pt 0; }
.adl-title table { font-size: 9pt; border-collapse: collapse; }
.adl-title td { padding: 1pt 8pt 1pt 0; vertical-align: top; border: none; }
.adl-title td.key { color: #555; }
.adl-title code { font-size: 8.5pt; overflow-wrap: anywhere; }
/* wide code and outputs wrap instead of running off the page */
pre, code, .highlight pre, .jp-OutputArea-output pre, .jp-RenderedText pre {
  white-space: pre-wrap !important; overflow-wrap: anywhere !important; word-break: break-all;
  overflow: visible !important; max-width: 100%%;
}
pre { font-size: 8.5pt; }
.jp-OutputArea-output, .jp-InputArea-editor, .jp-Cell, .jp-RenderedHTMLCommon {
  overflow: visible !important; max-width: 100%%;
}
.jp-RenderedHTMLCommon p, .jp-RenderedHTMLCommon li, .jp-RenderedMarkdown { overflow-wrap: anywhere; }
img, svg, canvas, video { max-width: 100%% !important; height: auto !important; }
table { max-width: 100%%; font-size: 8pt; }
td, th { overflow-wrap: anywhere; }
/* the lab template lays prompts and content out as a table whose content cell is 100%% wide
   on top of the prompt; WeasyPrint then runs it off the page. Blocks with a floated prompt
   keep it within the page and split long outputs across pages cleanly. */
.jp-InputArea, .jp-OutputArea-child, .jp-Placeholder { display: block !important; width: auto !important; }
.jp-InputArea::after, .jp-OutputArea-child::after { content: ""; display: block; clear: both; }
.jp-InputPrompt, .jp-OutputPrompt, .jp-OutputArea-prompt {
  display: block !important; float: left; width: 44px !important; box-sizing: border-box;
  padding: 3px 4px 0 0 !important; font-size: 7pt !important; overflow: hidden;
}
.jp-InputArea-editor, .jp-OutputArea-output, .jp-InputArea > .jp-RenderedHTMLCommon {
  display: block !important; margin-left: 48px !important; width: auto !important;
}
.jp-Collapser { display: none !important; }
.anchor-link { display: none !important; }
"""


def to_html(nb, source: Source, slug: str, title: str | None = None) -> str:
    """The notebook as one self-contained HTML page, with the title block and print CSS."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", embed_images=True)
    resources = {"metadata": {"name": f"{source.student or source.stem} – {slug}"}}
    if source.folder is not None:
        resources["metadata"]["path"] = str(source.folder)  # nbconvert reads no image outside it
    try:
        body, _ = exporter.from_notebook_node(nb, resources=resources)
    except Exception as exc:  # a malformed cell or output that nbformat let through
        raise PdfError(f"{source.label}: cannot be rendered ({type(exc).__name__}: {exc})") from None
    who, version = describe(source, slug)
    rows = [("student", source.student or "unknown (exported from a file)"), ("assignment", slug + (f": {title}" if title else ""))]
    rows.append(("submitted", f"{source.submitted_at:%Y-%m-%d %H:%M:%S} UTC" if source.submitted_at else "unknown"))
    if source.content_hash:
        rows.append(("sha256", source.content_hash))
    rows.append(("source", source.label))
    block = ('<div class="adl-title"><h1>' + html.escape(who) + "</h1><table>"
             + "".join(f'<tr><td class="key">{html.escape(k)}</td><td>'
                       + (f"<code>{html.escape(v)}</code>" if k in ("sha256", "source") else html.escape(v))
                       + "</td></tr>" for k, v in rows)
             + "</table></div>")
    css = "<style>" + PRINT_CSS % {"who": _css_string(who), "version": _css_string(version or source.label)} + "</style>"
    body = body.replace("</head>", css + "</head>", 1) if "</head>" in body else css + body
    match = re.search(r"<body[^>]*>", body)
    if match:
        body = body[:match.end()] + block + body[match.end():]
    else:
        body = block + body
    return body


# ---------------------------------------------------------------------------- rendering

def weasyprint_module():
    """WeasyPrint, or None when it is not installed or cannot load Pango."""
    try:
        import weasyprint
    except (ImportError, OSError):
        return None
    return weasyprint


def _offline_fetcher(weasyprint):
    """A URL fetcher that serves `data:` URLs only: nothing from the network or the disk."""
    fetcher_class = getattr(weasyprint, "URLFetcher", None)
    if fetcher_class is not None:  # WeasyPrint >= 66
        return fetcher_class(allowed_protocols={"data"}, timeout=1)

    def fetch(url, *args, **kwargs):  # older WeasyPrint: a function returning a dict
        if not url.startswith("data:"):
            raise ValueError(f"not fetched (offline export): {url[:80]}")
        return weasyprint.default_url_fetcher(url, *args, **kwargs)
    return fetch


def render_document(html_text: str):
    """WeasyPrint's laid-out document of `html_text` (pages, text), fetching nothing."""
    weasyprint = weasyprint_module()
    if weasyprint is None:
        raise PdfError("WeasyPrint cannot be imported; " + INSTALL_HINT)
    quiet = [logging.getLogger(name) for name in ("weasyprint", "fontTools")]
    levels = [log.level for log in quiet]
    for log in quiet:  # the lab CSS has many properties WeasyPrint ignores, each with a warning
        log.setLevel(logging.ERROR)
    try:
        return weasyprint.HTML(string=html_text, url_fetcher=_offline_fetcher(weasyprint)).render()
    finally:
        for log, level in zip(quiet, levels):
            log.setLevel(level)


def _latex_pdf(nb, source: Source, slug: str) -> tuple[bytes, int]:
    from nbconvert import PDFExporter

    who, version = describe(source, slug)
    nb.metadata["title"] = who
    nb.metadata["authors"] = [{"name": version or source.label}]
    try:
        data, _ = PDFExporter().from_notebook_node(nb)
    except Exception as exc:
        raise PdfError(f"{source.label}: LaTeX could not typeset it ({type(exc).__name__}: "
                       f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}); {INSTALL_HINT}") from None
    return data, len(re.findall(rb"/Type\s*/Page\b", data))


def _write(path: Path, data: bytes) -> None:
    """Write `data` whole or not at all (no half PDF after a crash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".pdf", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export(source: Source, slug: str, out: Path, title: str | None = None) -> Exported:
    """Render `source` to the PDF `out`."""
    nb = read_notebook(source)
    if weasyprint_module() is not None:
        document = render_document(to_html(nb, source, slug, title))
        data = document.write_pdf()
        _write(Path(out), data)
        return Exported(Path(out), len(document.pages), "weasyprint")
    if shutil.which("xelatex"):
        data, pages = _latex_pdf(nb, source, slug)
        _write(Path(out), data)
        return Exported(Path(out), pages, "latex")
    raise PdfError("no PDF engine: WeasyPrint cannot be imported and xelatex is not on PATH; " + INSTALL_HINT)


def file_name(stem: str) -> str:
    """A safe file name for a student id or a file's stem."""
    return (re.sub(r"[^\w.@+-]", "_", stem).lstrip(".") or "notebook") + ".pdf"
