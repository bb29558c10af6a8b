"""Assemble the self-contained HTML report (jinja2 template, inline SVG and base64 PNG, no network)."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import jinja2

from .challenge import challenge_rows, challenge_tables, results_txt
from .loader import ResultSet, load_results
from .plots import plot_choices, psnr_complexity_svg, runtime_psnr_svg
from .tables import (
    Table,
    ablation_tables,
    complete_distance_table,
    counting_table,
    quality_table,
    runtime_table,
    table5,
)
from .visual import png_data_uri

TEMPLATES = Path(__file__).with_name("templates")


def all_tables(rs: ResultSet, year: int | None = None) -> list[Table]:
    """Every table of the report, in report order (the exports use the same list)."""
    return [table5(rs), quality_table(rs), *ablation_tables(rs), *challenge_tables(rs.of("challenge"), year),
            runtime_table(rs), counting_table(rs), complete_distance_table(rs)]


def _protocols(rs: ResultSet) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind in ("complexity", "runtime", "quality", "challenge"):
        seen: list[str] = []
        for r in rs.of(kind):
            p = r.get("protocol")
            if p:
                text = json.dumps(p, indent=1, sort_keys=True)
                if text not in seen:
                    seen.append(text)
        if seen:
            out[kind] = seen
    return out


def _visuals(rs: ResultSet) -> list[dict[str, str]]:
    if rs.root is None:
        return []
    out = []
    for png in sorted(rs.root.glob("figures/*.png")):
        meta_path = png.with_suffix(".json")
        caption = png.name
        if meta_path.is_file():
            try:
                meta = json.loads(meta_path.read_text())
                caption = (f"{meta.get('image')} x{meta.get('scale')}, box {meta.get('box')} (x, y, w, h); "
                           "PSNR/SSIM of the whole image, paper protocol (Y, border = scale). "
                           + " ".join(meta.get("notes") or []))
            except (OSError, ValueError):
                pass
        out.append({"name": png.stem, "uri": png_data_uri(png.read_bytes()), "caption": caption})
    return out


def render_html(rs: ResultSet, dataset: str = "B100", scale: int = 4, year: int | None = None,
                title: str = "esr-bench report") -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)
    choices = plot_choices(rs)
    if (dataset, scale) in choices or not choices:  # the requested pair first when it has measurements;
        if (dataset, scale) in choices:  # otherwise the first measured pair leads and it stays selectable
            choices.remove((dataset, scale))
        choices.insert(0, (dataset, scale))
    else:
        choices.append((dataset, scale))
    plot_sets = [{"key": f"{d}-x{s}", "dataset": d, "scale": s,
                  "madds_svg": psnr_complexity_svg(rs, "madds_g", d, s),
                  "params_svg": psnr_complexity_svg(rs, "params_k", d, s)} for d, s in choices[:8]]
    tables = all_tables(rs, year)
    by_id = {t.id: t for t in tables}
    challenge = [t for t in tables if t.id.startswith("challenge")]
    crec = rs.of("challenge")
    counts = ", ".join(f"{len(rs.of(k))} {k}" for k in ("complexity", "runtime", "quality", "challenge"))
    ctx: dict[str, Any] = {
        "title": title, "root": str(rs.root or ""), "generated": _dt.datetime.now(_dt.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"), "counts": counts, "errors": rs.errors,
        "table5": by_id["table5"], "quality": by_id["quality"],
        "ablations": [t for t in tables if t.id.startswith("ablation")],
        "challenge": challenge, "challenge_svg": runtime_psnr_svg(challenge_rows(crec, year)) if crec else "",
        "results_txt": results_txt(crec, year) if crec else "",
        "runtime": by_id["runtime"], "counting": by_id["counting"], "plot_sets": plot_sets,
        "visuals": _visuals(rs),
        "environments": [json.dumps(e, indent=1, sort_keys=True) for e in rs.environment()["environments"]],
        "protocols": _protocols(rs),
    }
    return env.get_template("report.html.j2").render(**ctx)


def _readable(path: Path) -> Path:
    """Atomic writes create 0600 files; a report is meant to be shared (0644, or 0755 for a folder)."""
    import os

    os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return path


def build_report(results: str | Path | ResultSet, out: str | Path | None = None, fmt: str = "html",
                 dataset: str = "B100", scale: int = 4, year: int | None = None) -> Path:
    """Write the report of ``results`` as ``fmt`` (html | csv | md | latex | json) and return its path.

    Default ``out``: ``<results>/report.<ext>``; for ``csv`` a folder with one CSV per table.
    """
    from bench.records import atomic_write_text

    from . import export

    rs = results if isinstance(results, ResultSet) else load_results(results)
    base = rs.root or Path(".")
    ext = {"html": "html", "md": "md", "latex": "tex", "json": "json", "csv": "csv"}
    if fmt not in ext:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(ext)}")
    out = Path(out) if out else base / (f"report_{fmt}" if fmt == "csv" else f"report.{ext[fmt]}")
    if fmt == "html":
        return _readable(atomic_write_text(out, render_html(rs, dataset, scale, year)))
    tables = all_tables(rs, year)
    if fmt == "csv":
        out.mkdir(parents=True, exist_ok=True)
        for t in tables:
            _readable(atomic_write_text(out / f"{t.id}.csv", export.to_csv(t)))
        return out
    if fmt == "md":
        return _readable(atomic_write_text(out, "\n".join(export.to_markdown(t) for t in tables)))
    if fmt == "latex":
        return _readable(atomic_write_text(out, export.latex_document(tables)))
    extra = {"environment": rs.environment(), "errors": rs.errors}
    return _readable(atomic_write_text(out, export.tables_json(tables, extra)))
