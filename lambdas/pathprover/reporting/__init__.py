"""Reports people open: the static HTML report (`pathprover report html`)."""

from pathprover.reporting.html import build_report_data, render_html_report, write_html_report

__all__ = ["build_report_data", "render_html_report", "write_html_report"]
