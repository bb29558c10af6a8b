"""Performance-complexity figures (matplotlib): the AGDN paper's figure 1 and the challenge plot.

Figure 1 (:func:`figure1`): PSNR against multi-adds (thop MACs for a 1280x720 HR output, in G), bubble
area proportional to params (thop, K), AGDN family in red. Published points are the rows of the paper's
table 5 that have both multi-adds and a PSNR for the dataset/scale (hollow bubbles); measured points
are drawn on top, filled, with a black edge. The same :class:`matplotlib.figure.Figure` is inlined in
the HTML report as SVG and written as vector PDF/SVG plus a 300 dpi PNG for LaTeX
(:func:`save_figure`), so every output has the same styling.

SVG group ids make the points checkable: ``published-<name>`` for published points and
``point-<model>`` for measured ones (one scatter collection each).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("svg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .loader import ResultSet  # noqa: E402
from .tables import _label, paper_madds_g, paper_params_k  # noqa: E402

HIGHLIGHT = "#d62728"  # AGDN family (as in the paper's figure 1)
OTHER = "#1f77b4"  # other measured models
PUBLISHED = "#8c8c8c"  # published-only points
USER = "#2ca02c"  # the researcher's own model (records with user_model: true): green star
BUBBLE_PER_K = 1 / 3  # marker area [pt^2] per K params
STYLE = {"font.family": "DejaVu Sans", "font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8,
         "legend.fontsize": 7, "xtick.labelsize": 7, "ytick.labelsize": 7, "svg.fonttype": "none",
         "pdf.fonttype": 42, "svg.hashsalt": "esr-bench", "path.simplify": True}
FIGSIZE = (5.6, 3.8)  # inches: one column of a two-column paper at full width


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s)


def _highlight(model: str) -> bool:
    return model.lower().startswith("agdn")


def inline_svg(fig: Figure) -> str:
    """``fig`` as compact SVG text for inlining in HTML (see :func:`_compact`); closes the figure."""
    return _svg(fig)


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    with plt.rc_context(STYLE):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return _compact(text[text.index("<svg"):])  # no XML prolog/doctype: the SVG is inlined in HTML


_AUTO_ID = re.compile(r' id="(?:patch|line2d|text|xtick|ytick|PathCollection|legend|axes|figure|matplotlib\.axis)'
                      r'_?[\w.]*"')


def _compact(svg: str) -> str:
    """Shrink an inline SVG without changing what it draws: no metadata, coordinates to 0.1 pt, no
    matplotlib auto-generated group ids (``published-*`` / ``point-*`` / clip and marker ids are kept)."""
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = _AUTO_ID.sub("", svg)
    # coordinates inside tags only: text content (tick labels, names) must stay exactly as drawn
    svg = re.sub(r"<[^<>]+>", lambda m: re.sub(r"(\d+\.\d)\d+", r"\1", m.group(0)), svg)
    svg = re.sub(r" transform=\"rotate\(-0 [\d.]+ [\d.]+\)\"", "", svg)
    svg = re.sub(r"\s*\n\s*", "\n", svg)
    return re.sub(r"<g>\n(<use [^>]*/>)\n</g>", r"\1", svg)


def measured_points(rs: ResultSet, dataset: str, scale: int) -> list[dict[str, Any]]:
    """Measured (model, label, PSNR dB, params K, multi-adds G) for ``dataset``/``scale``, quality ``ok``.

    Only records of the official model form (no variant/options) under the paper protocol when the
    dataset is one of the paper's (its published points use that protocol). A point whose complexity is
    missing has ``madds_g``/``params_k`` ``None`` and cannot be placed.
    """
    from models.published import DATASETS

    pts = []
    for q in rs.of("quality"):
        if q.get("dataset") != dataset or int(q.get("scale") or 0) != scale or q.get("status") != "ok":
            continue
        if q.get("variant") or q.get("options") or q.get("psnr") is None:
            continue
        proto = q.get("protocol")
        if dataset in DATASETS and isinstance(proto, dict) and proto.get("name") not in (None, "paper"):
            continue
        c = rs.find("complexity", q["model"], scale)
        label = _label(q["model"])
        pts.append({"model": q["model"], "label": label, "short": label.split(" (")[0], "psnr": float(q["psnr"]),
                    "params_k": paper_params_k(c), "madds_g": paper_madds_g(c),
                    "user_model": bool(q.get("user_model") or (c or {}).get("user_model"))})
    return sorted(pts, key=lambda p: p["model"])


def published_points(dataset: str, scale: int) -> list[dict[str, Any]]:
    """Rows of the paper's table 5 at ``scale`` with multi-adds and a ``dataset`` PSNR (B100 x4: 16 rows)."""
    from models.published import table5

    return [{"model": r["model"], "psnr": r[f"{dataset}_psnr"], "params_k": r["params_k"], "madds_g": r["madds_g"]}
            for r in table5() if r["scale"] == scale and r.get("madds_g") is not None
            and r.get(f"{dataset}_psnr") is not None]


def _place_labels(fig: Figure, ax: Any, labels: list[tuple[float, float, str, dict]], size: float = 6.5) -> None:
    """Annotate each point, choosing per label the first of a few offsets whose (estimated) text box does
    not overlap a label already placed: a cheap, deterministic de-cluttering."""
    ax.autoscale_view()
    to_pt = 72.0 / fig.dpi
    taken: list[tuple[float, float, float, float]] = []
    offsets = ((4, 3, "left"), (4, -9, "left"), (-4, 3, "right"), (-4, -9, "right"), (4, 10, "left"),
               (4, -16, "left"))
    for x, y, text, style in labels:
        px, py = (v * to_pt for v in ax.transData.transform((x, y)))
        w, h = 0.56 * size * len(text), size
        choice = offsets[0]
        for dx, dy, ha in offsets:
            x0 = px + dx if ha == "left" else px + dx - w
            box = (x0, py + dy, x0 + w, py + dy + h)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in taken):
                choice = (dx, dy, ha)
                break
        dx, dy, ha = choice
        x0 = px + dx if ha == "left" else px + dx - w
        taken.append((x0, py + dy, x0 + w, py + dy + h))
        ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, fontsize=size, zorder=4,
                    **style)


def figure1(rs: ResultSet, dataset: str = "B100", scale: int = 4) -> tuple[Figure, dict[str, Any]]:
    """The paper's figure 1 for ``dataset``/``scale`` and a summary (``n_published``, ``n_measured``,
    ``unplaced`` models, ``note``). Axes: multi-adds [G] (thop, 1280x720 HR) vs PSNR [dB] (Y channel)."""
    pub = published_points(dataset, scale)
    meas = measured_points(rs, dataset, scale)
    placed = [p for p in meas if p["madds_g"] is not None and p["params_k"]]
    unplaced = [p["short"] for p in meas if p not in placed]
    notes = []
    if not meas:
        notes.append(f"{dataset} x{scale} not measured in this results directory: published points only")
    if not pub:
        notes.append(f"no published values for {dataset} x{scale}")
    if unplaced:
        notes.append("not drawn (no parameters or no multi-adds measured): " + ", ".join(unplaced))
    with plt.rc_context(STYLE):
        fig = Figure(figsize=FIGSIZE)
        ax = fig.add_subplot()
        labels = []  # (x, y, text, style) placed after the limits are known
        for p in pub:
            hi = _highlight(p["model"])
            coll = ax.scatter([p["madds_g"]], [p["psnr"]], s=p["params_k"] * BUBBLE_PER_K, facecolors="none",
                              edgecolors=HIGHLIGHT if hi else PUBLISHED, linewidths=1.2 if hi else 0.8, zorder=2)
            coll.set_gid(f"published-{_slug(p['model'])}")
            labels.append((p["madds_g"], p["psnr"], p["model"], {"color": HIGHLIGHT if hi else "#555555",
                                                                   "fontweight": "bold" if hi else "normal"}))
        for p in placed:
            hi, own = _highlight(p["model"]), p.get("user_model")
            coll = ax.scatter([p["madds_g"]], [p["psnr"]], s=max(p["params_k"], 1) * BUBBLE_PER_K, alpha=0.85,
                              color=USER if own else HIGHLIGHT if hi else OTHER, marker="*" if own else "o",
                              edgecolors="black", linewidths=0.8, zorder=3)
            coll.set_gid(f"{'user' if own else 'point'}-{_slug(p['model'])}")
            labels.append((p["madds_g"], p["psnr"], p["short"], {"color": "black", "fontweight": "bold"}))
        ax.margins(0.08, 0.12)
        _place_labels(fig, ax, labels)
        ax.set_xlabel("Multi-adds [G] (thop MACs, 1280×720 HR output)")
        ax.set_ylabel(f"PSNR [dB] ({dataset} ×{scale}, Y channel)")
        ax.set_title(f"PSNR vs multi-adds, {dataset} ×{scale} (bubble area ∝ params)")
        ax.grid(True, alpha=0.3, linewidth=0.5)
        handles = [ax.scatter([], [], s=30, facecolors="none", edgecolors=PUBLISHED, label="published (paper table 5)"),
                   ax.scatter([], [], s=30, color=OTHER, edgecolors="black", label="measured here"),
                   ax.scatter([], [], s=30, color=HIGHLIGHT, edgecolors="black", label="AGDN family")]
        if any(p.get("user_model") for p in placed):
            handles.append(ax.scatter([], [], s=60, color=USER, marker="*", edgecolors="black", label="your model"))
        ax.legend(handles=handles, loc="best", frameon=True)
        if notes:
            ax.text(0.01, 0.99, "\n".join(notes), transform=ax.transAxes, va="top", ha="left", fontsize=6.5,
                    color="#a04000", gid="figure-note")
        fig.set_layout_engine("tight")
    info = {"dataset": dataset, "scale": scale, "n_published": len(pub), "n_measured": len(placed),
            "unplaced": unplaced, "note": "; ".join(notes)}
    return fig, info


def figure1_svg(rs: ResultSet, dataset: str = "B100", scale: int = 4) -> tuple[str, dict[str, Any]]:
    """:func:`figure1` as inline SVG text (no XML prolog, text kept as text) and its summary."""
    fig, info = figure1(rs, dataset, scale)
    return _svg(fig), info


def save_figure(fig: Figure, base: str | Path) -> list[Path]:
    """Write ``fig`` as ``<base>.pdf`` and ``<base>.svg`` (vector, fonts embedded as TrueType / text) and
    ``<base>.png`` (300 dpi); returns the paths. Files are written atomically (temporary name, rename)."""
    import os

    base = Path(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    out = []
    with plt.rc_context(STYLE):
        for ext in ("pdf", "svg", "png"):
            path = base.with_suffix(f".{ext}")
            tmp = path.with_name(f".{path.name}.tmp")
            fig.savefig(tmp, format=ext, bbox_inches="tight", dpi=300,
                        metadata={"CreationDate": None} if ext == "pdf" else {"Date": None} if ext == "svg" else None)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
            out.append(path)
    return out


def figure_pairs(rs: ResultSet, dataset: str = "B100", scale: int = 4) -> list[tuple[str, int]]:
    """(dataset, scale) pairs that get a figure 1: ``dataset``/``scale`` (the paper's B100 x4 by default,
    drawable from published rows alone) first, then every pair with a quality record, paper datasets first."""
    from .tables import _dataset_order

    pairs = sorted({(str(q["dataset"]), int(q["scale"])) for q in rs.of("quality")
                    if q.get("dataset") and q.get("scale") is not None and not q.get("variant")},
                   key=lambda p: (_dataset_order(p[0]), p[1]))
    return [(dataset, int(scale))] + [p for p in pairs if p != (dataset, int(scale))]


def write_figures(rs: ResultSet, folder: str | Path, dataset: str = "B100", scale: int = 4) -> list[Path]:
    """Figure 1 for every pair of :func:`figure_pairs` as ``figure1_<dataset>_x<scale>.{pdf,svg,png}``."""
    paths = []
    for d, s in figure_pairs(rs, dataset, scale):
        fig, _ = figure1(rs, d, s)
        paths += save_figure(fig, Path(folder) / f"figure1_{_slug(d)}_x{s}")
    return paths


def runtime_psnr_svg(rows: list[dict[str, Any]]) -> str:
    """Challenge: test PSNR (valid when absent) against average runtime, one point per team."""
    with plt.rc_context(STYLE):
        fig = Figure(figsize=FIGSIZE)
        ax = fig.add_subplot()
        n = 0
        for r in rows:
            y = r.get("test_psnr") if r.get("test_psnr") is not None else r.get("val_psnr")
            if r.get("ave_time") is None or y is None:
                continue
            size = (r.get("params_m") or 0.05) * 1000 * BUBBLE_PER_K
            hi = "agdn" in r["team"].lower()
            coll = ax.scatter([r["ave_time"]], [y], s=size, alpha=0.75, zorder=3,
                              color=HIGHLIGHT if hi else (OTHER if r.get("passes") else PUBLISHED),
                              edgecolors="black" if hi else "none")
            coll.set_gid(f"point-{_slug(r['team'])}")
            ax.annotate(r["team"], (r["ave_time"], y), fontsize=6, xytext=(3, 3), textcoords="offset points")
            n += 1
        ax.set_xlabel("Average runtime [ms] (mean of valid and test)")
        ax.set_ylabel("Test PSNR [dB]")
        ax.set_title("Challenge: runtime vs PSNR" + ("" if n else " (no results)"))
        ax.grid(True, alpha=0.3, linewidth=0.5)
        fig.set_layout_engine("tight")
    return _svg(fig)
