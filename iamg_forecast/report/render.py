"""Render a :class:`ReportContext` to HTML (self-contained), Markdown or JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jinja2

from iamg_forecast.files import write_atomic
from iamg_forecast.report.context import ReportContext, build_context

__all__ = ["write_html", "to_markdown", "to_json", "render_html", "md_escape",
           "write_text_atomic", "render_template"]

HTML_SUFFIXES = (".html", ".htm")
MD_SUFFIXES = (".md", ".markdown")
JSON_SUFFIXES = (".json",)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&])")
# Every character a Markdown renderer (or a text editor) may take as a line break.
_LINE_BREAKS = re.compile("\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")


def md_escape(text: Any) -> str:
    r"""Escape Markdown and HTML-significant characters in analyst text.

    Examples
    --------
    >>> print(md_escape("[x](y) <b>"))
    \[x\]\(y\) \<b\>
    """
    return _LINE_BREAKS.sub(" ", _MD_SPECIAL.sub(r"\\\1", str(text)))


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("iamg_forecast.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"),
                                            default_for_string=True),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["md"] = md_escape
    return env


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


def write_html(fc, path: str | Path, ledger: Any = None, language: str | None = None) -> Path:
    """Write the report of ``fc`` as one self-contained HTML file (written atomically).

    Examples
    --------
    >>> fc.report("reports/latest.html")  # doctest: +SKIP
    """
    return write_text_atomic(path, render_html(build_context(fc, ledger=ledger,
                                                             language=language)),
                             suffixes=HTML_SUFFIXES)


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


def to_markdown(fc, ledger: Any = None, language: str | None = None) -> str:
    """The report as Markdown (analyst text escaped)."""
    ctx = build_context(fc, ledger=ledger, language=language)
    return _env().get_template("report.md.j2").render(c=ctx)


def to_json(fc, ledger: Any = None, language: str | None = None) -> str:
    """The report as JSON with ``schema_version`` (see ``docs/report.md``)."""
    ctx = build_context(fc, ledger=ledger, language=language)
    return json.dumps(ctx.to_dict(), indent=1, default=str, ensure_ascii=False)
