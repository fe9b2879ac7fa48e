"""Render a :class:`ReportContext` to HTML (self-contained), Markdown or JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jinja2

from iamg_forecast.files import write_atomic
from iamg_forecast.report.context import ReportContext, build_context, pct, pp

__all__ = ["write_html", "to_markdown", "to_json", "render_html", "md_escape",
           "write_text_atomic", "render_template", "write_report", "report_text"]

HTML_SUFFIXES = (".html", ".htm")
MD_SUFFIXES = (".md", ".markdown")
JSON_SUFFIXES = (".json",)
SUFFIXES = {"html": HTML_SUFFIXES, "md": MD_SUFFIXES, "json": JSON_SUFFIXES}
# Characters that can start markup anywhere in a line: emphasis, code, links and images,
# HTML tags and entities, table cells, strikethrough. An underscore inside a word
# (``sudani_return``) cannot start emphasis, so only one at a word boundary is escaped.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|~&])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|(?<=\])\(")
# ... and at the start of a line (headings, lists, quotes, numbered lists).
_MD_LINE_START = re.compile(r"^(\s*)([#+\-=>]|\d+[.)])")


def md_escape(text: Any) -> str:
    r"""Escape analyst text for Markdown, leaving it readable as plain text.

    Only characters that could form markup where they stand are escaped; line breaks become
    spaces (a table cell is one line).

    Examples
    --------
    >>> print(md_escape("[x](y) <b> sudani_return _em_ # not a heading"))
    \[x\]\(y) \<b\> sudani_return \_em\_ # not a heading
    >>> print(md_escape("# title"))
    \# title
    """
    flat = " ".join(str(text).splitlines())
    out = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), flat)
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), out)


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("iamg_forecast.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"),
                                            default_for_string=True),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["md"] = md_escape
    env.filters["pct"] = pct
    env.filters["pp"] = pp
    env.filters["num"] = _num
    return env


def _num(v: Any) -> str:
    """An evidence value as typed: ``1`` rather than ``1.0``, otherwise up to 4 digits."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def render_template(name: str, **context: Any) -> str:
    """Render one of the report layer's templates (analyst text escaped in HTML templates).

    Examples
    --------
    >>> "<style>" in render_template("_style.html.j2")
    True
    """
    return _env().get_template(name).render(**context)


def render_html(ctx: ReportContext) -> str:
    """The self-contained HTML page for ``ctx``."""
    return _env().get_template("report.html.j2").render(c=ctx)


def render_markdown(ctx: ReportContext) -> str:
    """The Markdown report for ``ctx`` (the same sections as the HTML, no charts)."""
    return _env().get_template("report.md.j2").render(c=ctx)


FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".json": "json"}


def report_text(fc, fmt: str = "html", *, ledger: Any = None, log: Any = None,
                language: str | None = None, stale_after_days: int | None = None) -> str:
    """The report of ``fc`` as text in ``fmt`` (``"html"``, ``"md"`` or ``"json"``).

    Parameters
    ----------
    fc : Forecast
    fmt : {"html", "md", "json"}
    ledger, log, language, stale_after_days
        See :func:`~iamg_forecast.report.context.build_context`.
    """
    if fmt not in ("html", "md", "json"):
        raise ValueError(f"report format must be html, md or json, got {fmt!r}")
    ctx = build_context(fc, ledger=ledger, language=language, log=log,
                        stale_after_days=stale_after_days, charts=fmt == "html")
    if fmt == "html":
        return render_html(ctx)
    if fmt == "md":
        return render_markdown(ctx)
    return json.dumps(ctx.to_dict(), indent=1, default=str, ensure_ascii=False)


def write_report(fc, path: str | Path, *, fmt: str | None = None, ledger: Any = None,
                 log: Any = None, language: str | None = None,
                 stale_after_days: int | None = None) -> Path:
    """Write the report of ``fc`` to ``path`` (atomically) in ``fmt`` (default: from the
    suffix, ``.html``/``.md``/``.json``); a suffix that does not match the format is refused.

    Examples
    --------
    >>> write_report(fc, "reports/latest.md", ledger=ledger)  # doctest: +SKIP
    """
    fmt = fmt or FORMATS.get(Path(path).suffix.lower(), "html")
    if fmt not in SUFFIXES:
        raise ValueError(f"report format must be html, md or json, got {fmt!r}")
    # the suffix must match the format: a report never lands on a store or another file
    return write_text_atomic(path, report_text(fc, fmt, ledger=ledger, log=log,
                                               language=language,
                                               stale_after_days=stale_after_days),
                             suffixes=SUFFIXES[fmt])


def write_html(fc, path: str | Path, ledger: Any = None, language: str | None = None, *,
               log: Any = None, stale_after_days: int | None = None) -> Path:
    """Write the report of ``fc`` as one self-contained HTML file (written atomically).

    Examples
    --------
    >>> fc.report("reports/latest.html")  # doctest: +SKIP
    """
    return write_report(fc, path, fmt="html", ledger=ledger, log=log, language=language,
                        stale_after_days=stale_after_days)


def write_text_atomic(path: str | Path, text: str, suffixes: tuple[str, ...] | None = None
                      ) -> Path:
    """Write ``text`` to ``path`` through a unique temporary file renamed at the end
    (:func:`iamg_forecast.files.write_atomic`).

    A reader never sees a half-written report, and a failed write leaves nothing behind. A
    target that exists must be a regular file, and its suffix one of ``suffixes`` (when given).

    Raises
    ------
    IsADirectoryError
        If ``path`` is a directory.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_text_atomic(d / "r.md", "# ok").read_text()
    '# ok'
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write the report to {path}: it is a directory, "
                                "expected a file name such as report.html")
    return write_atomic(path, text, suffixes=suffixes, what="report")


def to_markdown(fc, ledger: Any = None, language: str | None = None, *, log: Any = None,
                stale_after_days: int | None = None) -> str:
    """The report as Markdown (analyst text escaped; no charts are drawn)."""
    return report_text(fc, "md", ledger=ledger, log=log, language=language,
                       stale_after_days=stale_after_days)


def to_json(fc, ledger: Any = None, language: str | None = None, *, log: Any = None,
            stale_after_days: int | None = None) -> str:
    """The report as JSON with ``schema_version`` (see ``docs/report.md``)."""
    return report_text(fc, "json", ledger=ledger, log=log, language=language,
                       stale_after_days=stale_after_days)
