"""Calibrated probability reports: HTML, Markdown and JSON from one context object."""

from iamg_forecast.report.context import SCHEMA_VERSION, ReportContext, build_context
from iamg_forecast.report.render import (
    render_html,
    render_markdown,
    report_text,
    to_json,
    to_markdown,
    write_html,
    write_report,
)

__all__ = ["SCHEMA_VERSION", "ReportContext", "build_context", "render_html", "render_markdown",
           "report_text", "to_json", "to_markdown", "write_html", "write_report"]
