"""Performance-complexity figures as inline SVG (matplotlib, svg backend, no fonts or files fetched).

Each model is one scatter collection whose SVG group id is ``point-<model>`` (published-only points:
``published-<name>``), so the figure can be checked and styled. Bubble area grows with params; AGDN
family models are drawn in red with a black edge, as in the paper's figure 1.
"""

from __future__ import annotations

import io
import re
from typing import Any

import matplotlib

matplotlib.use("svg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .loader import ResultSet  # noqa: E402
from .tables import _label, _published_name, paper_madds_g, paper_params_k  # noqa: E402

HIGHLIGHT = "#d62728"
OTHER = "#1f77b4"
PUBLISHED = "#9e9e9e"
USER = "#2ca02c"  # the researcher's own model (records with user_model: true): green star


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: small, searchable
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog/doctype: the SVG is inlined in HTML


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", s)


def _highlight(model: str) -> bool:
    return model.lower().startswith("agdn")


def performance_points(rs: ResultSet, dataset: str = "B100", scale: int = 4) -> list[dict[str, Any]]:
    """Measured (model, PSNR, params K, multi-adds G) for ``dataset``/``scale`` (quality status ok only)."""
    pts = []
    for q in rs.of("quality"):
        if q.get("dataset") != dataset or int(q.get("scale") or 0) != scale or q.get("status") != "ok":
            continue
        if q.get("variant") or q.get("psnr") is None:
            continue
        c = rs.find("complexity", q["model"], scale)
        pts.append({"model": q["model"], "label": _label(q["model"]), "psnr": q["psnr"],
                    "params_k": paper_params_k(c), "madds_g": paper_madds_g(c),
                    "user_model": bool(q.get("user_model") or (c or {}).get("user_model"))})
    return sorted(pts, key=lambda p: p["model"])


def psnr_complexity_svg(rs: ResultSet, x: str = "madds_g", dataset: str = "B100", scale: int = 4,
                        include_published: bool = True) -> str:
    """PSNR against multi-adds (``x="madds_g"``) or params (``x="params_k"``); one point per model."""
    from models.published import table5

    pts = [p for p in performance_points(rs, dataset, scale) if p[x] is not None and p["params_k"] is not None]
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    measured_pub = {_published_name(p["model"]) for p in pts}
    if include_published:
        for row in table5():
            if row["scale"] != scale or row["model"] in measured_pub or row.get(f"{dataset}_psnr") is None:
                continue
            xv = row["madds_g"] if x == "madds_g" else row["params_k"]
            coll = ax.scatter([xv], [row[f"{dataset}_psnr"]], s=row["params_k"] / 3, facecolors="none",
                              edgecolors=PUBLISHED, linewidths=0.8)
            coll.set_gid(f"published-{_slug(row['model'])}")
            ax.annotate(row["model"], (xv, row[f"{dataset}_psnr"]), fontsize=6, color=PUBLISHED,
                        xytext=(3, 3), textcoords="offset points")
    for p in pts:
        hi = _highlight(p["model"]) or p["user_model"]
        coll = ax.scatter([p[x]], [p["psnr"]], s=max(p["params_k"], 1) / 3, alpha=0.75,
                          color=USER if p["user_model"] else HIGHLIGHT if hi else OTHER,
                          marker="*" if p["user_model"] else "o", edgecolors="black" if hi else "none", zorder=3)
        coll.set_gid(f"{'user' if p['user_model'] else 'point'}-{_slug(p['model'])}")
        ax.annotate(p["label"], (p[x], p["psnr"]), fontsize=8, fontweight="bold" if hi else "normal",
                    xytext=(4, 4), textcoords="offset points", zorder=4)
    ax.set_xlabel("Multi-adds [G] (thop MACs, 1280x720 HR)" if x == "madds_g" else "Params [K] (thop)")
    ax.set_ylabel(f"PSNR [dB] ({dataset} x{scale}, Y)")
    ax.set_title(f"PSNR vs {'multi-adds' if x == 'madds_g' else 'params'} — {dataset} x{scale}"
                 + ("" if pts else " (no measured points)"), fontsize=10)
    ax.grid(True, alpha=0.3)
    if include_published:
        ax.scatter([], [], facecolors="none", edgecolors=PUBLISHED, label="published only (paper table 5)")
    ax.scatter([], [], color=OTHER, label="measured")
    ax.scatter([], [], color=HIGHLIGHT, edgecolors="black", label="AGDN (measured)")
    if any(p["user_model"] for p in pts):
        ax.scatter([], [], color=USER, marker="*", edgecolors="black", label="your model (measured)")
    ax.legend(fontsize=7, loc="lower right")
    return _svg(fig)


def runtime_psnr_svg(rows: list[dict[str, Any]]) -> str:
    """Challenge: test PSNR (valid when absent) against average runtime, one point per team."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    n = 0
    for r in rows:
        y = r.get("test_psnr") if r.get("test_psnr") is not None else r.get("val_psnr")
        if r.get("ave_time") is None or y is None:
            continue
        size = (r.get("params_m") or 0.05) * 1000 / 3
        hi = "agdn" in r["team"].lower()
        coll = ax.scatter([r["ave_time"]], [y], s=size, alpha=0.75, zorder=3,
                          color=HIGHLIGHT if hi else (OTHER if r.get("passes", True) else PUBLISHED),
                          edgecolors="black" if hi else "none")
        coll.set_gid(f"point-{_slug(r['team'])}")
        ax.annotate(r["team"], (r["ave_time"], y), fontsize=6, xytext=(3, 3), textcoords="offset points")
        n += 1
    ax.set_xlabel("Average runtime [ms] (mean of valid and test)")
    ax.set_ylabel("Test PSNR [dB]")
    ax.set_title("Challenge: runtime vs PSNR" + ("" if n else " (no results)"), fontsize=10)
    ax.grid(True, alpha=0.3)
    return _svg(fig)


def plot_choices(rs: ResultSet) -> list[tuple[str, int]]:
    """(dataset, scale) pairs with at least one measured PSNR; B100 x4 first when present."""
    pairs = sorted({(q["dataset"], int(q["scale"])) for q in rs.of("quality")
                    if q.get("status") == "ok" and q.get("dataset") and not q.get("variant")})
    pairs.sort(key=lambda p: (p != ("B100", 4), p[1] != 4, p))
    return pairs
