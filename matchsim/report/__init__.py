"""Reports of scenario runs (the engines never import this package)."""

from __future__ import annotations

from matchsim.report.html import render_report

__all__ = ["render_report"]
