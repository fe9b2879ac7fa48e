"""Calibrated probability reports: HTML, Markdown and JSON from one context object."""

from iamg_forecast.report.context import SCHEMA_VERSION, ReportContext, build_context
from iamg_forecast.report.render import render_html, to_json, to_markdown, write_html

__all__ = ["SCHEMA_VERSION", "ReportContext", "build_context", "render_html", "to_json",
           "to_markdown", "write_html"]
