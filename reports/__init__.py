"""esr-bench reports: tables, figures and exports built from a results directory of JSON records.

``load_results(dir)`` -> :class:`ResultSet`; ``build_report(dir, out, fmt)`` writes HTML (self-contained,
inline SVG), CSV, Markdown, LaTeX (booktabs) or JSON. Table builders live in :mod:`reports.tables` and
:mod:`reports.challenge`, figures in :mod:`reports.plots` and :mod:`reports.visual`.
"""

from .html import all_tables, build_report, render_html
from .loader import ResultSet, load_results

__all__ = ["ResultSet", "load_results", "build_report", "render_html", "all_tables"]
