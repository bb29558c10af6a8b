"""Assemble the self-contained HTML report (jinja2 template, inline SVG and base64 PNG, no network)."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import jinja2

from .challenge import challenge_rows, challenge_tables, results_txt
from .leaderboard import leaderboard_json
from .loader import ResultSet, load_results
from .plots import _slug, figure1, figure_pairs, inline_svg, runtime_psnr_svg, save_figure, write_figures
from .tables import (
    Table,
    ablation_tables,
    complete_distance_table,
    counting_table,
    profile_table,
    runtime_table,
    table5_tables,
)
from .visual import image_data_uri

TEMPLATES = Path(__file__).with_name("templates")
FIGURES_DIR = "paper_figures"  # figure files beside the HTML report
VOLATILE = {"seconds", "seconds_by_counter", "elapsed_s", "created"}  # per-run protocol fields


def _gzip_b64(text: str) -> str:
    """gzip (mtime 0: reproducible) + base64: figures not shown first are inflated by the page on demand."""
    import base64
    import gzip

    return base64.b64encode(gzip.compress(text.encode("utf-8"), 9, mtime=0)).decode("ascii")


def all_tables(rs: ResultSet, year: int | None = None) -> list[Table]:
    """Every table of the report, in report order (the exports use the same list). Rows of the user's own
    model (records with ``user_model: true``) get ``user_model`` too, so every table highlights them."""
    tables = [*table5_tables(rs), *ablation_tables(rs), *challenge_tables(rs.of("challenge"), year),
              runtime_table(rs), profile_table(rs), counting_table(rs), complete_distance_table(rs)]
    own = {r.get("model") for k in ("complexity", "runtime", "quality") for r in rs.of(k) if r.get("user_model")}
    for row in (row for t in tables for row in t.rows if own and row.get("model") in own):
        row["user_model"] = True
    return tables


def _protocols(rs: ResultSet) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind in ("complexity", "runtime", "quality", "challenge"):
        seen: list[str] = []
        for r in rs.of(kind):
            p = r.get("protocol")
            if isinstance(p, dict):  # timings of one run are not part of the convention
                p = {k: v for k, v in p.items() if k not in VOLATILE}
            if p:
                text = json.dumps(p, separators=(",", ": "), sort_keys=True)
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
        out.append({"name": png.stem, "uri": image_data_uri(png.read_bytes()), "caption": caption})
    return out


ENV_SUMMARY_KEYS = ("device_name", "device", "torch", "cuda", "cudnn", "driver", "python", "numpy", "esr_bench",
                    "cpu_model", "cpu_count", "threads", "platform")


def environment_summary(rs: ResultSet) -> list[tuple[str, str]]:
    """(key, values) for the headline keys of the records' environments; distinct values joined by ' / '."""
    envs = rs.environment()["environments"]
    out = []
    for key in ENV_SUMMARY_KEYS:
        values = []
        for e in envs:
            v = e.get(key)
            if v is not None and str(v) not in values:
                values.append(str(v))
        if values:
            out.append((key, " / ".join(values)))
    return out


def render_html(rs: ResultSet, dataset: str = "B100", scale: int = 4, year: int | None = None,
                title: str = "esr-bench report", figures_dir: str | None = None,
                save_to: str | Path | None = None) -> str:
    """The report as one self-contained HTML page (inline CSS, JS, SVG and PNG; nothing fetched at view time).

    ``dataset``/``scale``: the figure 1 shown first (the paper's B100 x4 by default; drawn from the
    published rows alone when not measured). ``figures_dir``: relative folder holding the PDF/SVG/PNG
    figure files, linked from each figure when given; ``save_to``: folder where those files are written.
    """
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)
    figures = []
    for d, s in figure_pairs(rs, dataset, scale):
        fig, info = figure1(rs, d, s)
        if save_to is not None:  # the same figure as PDF/SVG/PNG files: drawn once, identical styling
            save_figure(fig, Path(save_to) / f"figure1_{_slug(d)}_x{s}")
        svg = inline_svg(fig)
        first = not figures
        figures.append({"key": f"{d}-x{s}", "svg": svg if first else "", "gz": "" if first else _gzip_b64(svg),
                        "stem": f"figure1_{_slug(d)}_x{s}", **info})
    tables = all_tables(rs, year)
    challenge = [t for t in tables if t.id.startswith("challenge")]
    crec = rs.of("challenge")
    counts = ", ".join(f"{len(rs.of(k))} {k}" for k in ("complexity", "runtime", "quality", "challenge"))
    envs = rs.environment()["environments"]
    ctx: dict[str, Any] = {
        "title": title, "root": str(rs.root or ""), "generated": _dt.datetime.now(_dt.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"), "counts": counts, "errors": rs.errors,
        "legacy": rs.legacy, "superseded": rs.superseded,
        "leaderboard_json": leaderboard_json(rs),
        # the page's table 5 is the paper's: its datasets under its protocol (other datasets/protocols are
        # leaderboard views and export tables)
        "table5": [t for t in tables if t.id.startswith("table5") and any(c.key.startswith("p_") for c in t.columns)],
        "ablations": [t for t in tables if t.id.startswith("ablation")],
        "challenge": challenge, "challenge_svg": runtime_psnr_svg(challenge_rows(crec, year)) if crec else "",
        "results_txt": results_txt(crec) if crec else "",
        "runtime": next(t for t in tables if t.id == "runtime"),
        "profile": next(t for t in tables if t.id == "profile"),
        "counting": next(t for t in tables if t.id == "counting"),
        "complete": next(t for t in tables if t.id == "complete"), "figures": figures,
        "figures_dir": figures_dir, "visuals": _visuals(rs), "env_summary": environment_summary(rs),
        "environments": [json.dumps(e, separators=(",", ":"), sort_keys=True) for e in envs],
        "protocols": _protocols(rs),
    }
    return env.get_template("report.html.j2").render(**ctx)


def _readable(path: Path) -> Path:
    """Atomic writes create 0600 files; a report is meant to be shared (0644, or 0755 for a folder)."""
    import os

    os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return path


def build_report(results: str | Path | ResultSet, out: str | Path | None = None, fmt: str = "html",
                 dataset: str = "B100", scale: int = 4, year: int | None = None, figures: bool = True) -> Path:
    """Write the report of ``results`` as ``fmt`` (html | csv | md | latex | json | figures), return its path.

    Default ``out``: ``<results>/report.<ext>``; for ``csv`` a folder with one CSV per table; for
    ``figures`` a folder ``<results>/paper_figures`` with figure 1 of every dataset/scale as PDF, SVG and
    PNG. With ``figures`` (default) an HTML report also writes that folder beside itself and links it.
    Raises ``ValueError`` for an unknown format, ``FileNotFoundError`` for a missing results directory.
    """
    from bench.records import atomic_write_text

    from . import export

    rs = results if isinstance(results, ResultSet) else load_results(results)
    base = rs.root or Path(".")
    ext = {"html": "html", "md": "md", "latex": "tex", "json": "json", "csv": "csv", "figures": ""}
    if fmt not in ext:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(ext)}")
    default = {"csv": "report_csv", "figures": FIGURES_DIR}.get(fmt, f"report.{ext[fmt]}")
    out = Path(out) if out else base / default
    if fmt == "figures":
        write_figures(rs, out, dataset, scale)
        return _readable(out)
    if fmt == "html":
        folder = out.parent / FIGURES_DIR if figures else None
        html = render_html(rs, dataset, scale, year, figures_dir=FIGURES_DIR if figures else None, save_to=folder)
        if folder is not None:
            _readable(folder)
        return _readable(atomic_write_text(out, html))
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
