"""``esr-bench report RESULTS_DIR``: the report of a results directory as HTML (self-contained: leaderboard,
figure 1, tables; no network at view time; figure 1 also as PDF/SVG/PNG in ``paper_figures/``), CSV
(one file per table), Markdown, LaTeX (booktabs; best bold, second underlined), JSON, or ``figures``
(only the PDF/SVG/PNG files of figure 1 for every dataset/scale)."""

from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench.errors import UserError
    from reports import build_report

    if not Path(args.results).is_dir():
        raise UserError(f"results directory {args.results} not found (run `esr-bench bench --out {args.results}`)")
    path = build_report(args.results, args.out, fmt=args.format, dataset=args.dataset, scale=args.scale,
                        year=args.year)
    print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write the report of a results directory", description=__doc__)
    p.add_argument("results", metavar="RESULTS_DIR")
    p.add_argument("--out", default=None, help="output file (csv, figures: a folder); default "
                   "RESULTS_DIR/report.<ext>, RESULTS_DIR/report_csv, RESULTS_DIR/paper_figures")
    p.add_argument("--format", choices=("html", "csv", "md", "latex", "json", "figures"), default="html")
    p.add_argument("--dataset", default="B100", help="dataset of the figure 1 shown first (the paper's B100)")
    p.add_argument("--scale", type=int, default=4, help="scale of the figure 1 shown first (4)")
    p.add_argument("--year", type=int, default=None, help="challenge year for scores/thresholds (2024-2026)")
    p.set_defaults(func=_run)
