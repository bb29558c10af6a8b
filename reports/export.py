"""Exports of the report tables: CSV, Markdown, LaTeX (booktabs; best bold, second underlined), JSON.

All exports show the same figures as the HTML, formatted with each column's format. CSV keeps the raw
(unformatted) value so nothing is lost to rounding; Markdown/LaTeX show the formatted text.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from bench.records import to_jsonable

from .tables import Table

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
    "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "Δ": r"$\Delta$", "–": "--",
    "²": r"\textsuperscript{2}", "−": "-",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _visible(table: Table) -> list:
    return list(table.columns)


def to_csv(table: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = _visible(table)
    w.writerow([c.label for c in cols])
    for row in table.rows:
        w.writerow(["" if row.get(c.key) is None else row.get(c.key) for c in cols])
    return buf.getvalue()


def to_markdown(table: Table) -> str:
    cols = _visible(table)

    def cell(row: dict[str, Any], c) -> str:
        text = table.cell_text(row, c).replace("|", r"\|")
        rank = row.get("_rank", {}).get(c.key)
        return f"**{text}**" if rank == 1 else f"<u>{text}</u>" if rank == 2 else text

    lines = [f"### {table.title}", "", "| " + " | ".join(c.label for c in cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(cell(r, c) for c in cols) + " |" for r in table.rows]
    if table.caption:
        lines += ["", table.caption]
    return "\n".join(lines) + "\n"


def to_latex(table: Table) -> str:
    """A ``table`` environment with a booktabs ``tabular``: one row per table row, best \\textbf, second
    \\underline (within the table's groups); needs ``\\usepackage{booktabs}``."""
    cols = _visible(table)
    align = "".join("l" if i == 0 or not any(isinstance(r.get(c.key), (int, float)) for r in table.rows) else "r"
                    for i, c in enumerate(cols))
    out = [r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{latex_escape(table.title)}}}",
           rf"\label{{tab:{table.id}}}", rf"\begin{{tabular}}{{{align}}}", r"\toprule",
           " & ".join(c.latex or latex_escape(c.label) for c in cols) + r" \\", r"\midrule"]
    prev_group = None
    for row in table.rows:
        group = tuple(row.get(k) for k in table.group_by)
        if table.group_by and prev_group is not None and group != prev_group:
            out.append(r"\midrule")
        prev_group = group
        cells = []
        for c in cols:
            text = latex_escape(table.cell_text(row, c))
            rank = row.get("_rank", {}).get(c.key)
            cells.append(rf"\textbf{{{text}}}" if rank == 1 else rf"\underline{{{text}}}" if rank == 2 else text)
        out.append(" & ".join(cells) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"


def latex_document(tables: list[Table]) -> str:
    """A standalone document around the tables (compiles with pdflatex + booktabs + ulem-free \\underline)."""
    body = "\n".join(to_latex(t) for t in tables if t.rows)
    return ("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage[margin=1cm,landscape]{geometry}\n"
            "\\usepackage{booktabs}\n\\usepackage{graphicx}\n\\begin{document}\n" + body + "\\end{document}\n")


def tables_json(tables: list[Table], extra: dict[str, Any] | None = None) -> str:
    payload = {
        "tables": [{"id": t.id, "title": t.title, "caption": t.caption,
                    "columns": [{"key": c.key, "label": c.label} for c in t.columns],
                    "rows": [{k: v for k, v in r.items() if not k.startswith("_")} | {
                        "published_only": bool(r.get("_published_only"))} for r in t.rows]}
                   for t in tables],
    }
    if extra:
        payload.update(extra)
    return json.dumps(to_jsonable(payload), indent=2) + "\n"
