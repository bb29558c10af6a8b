"""Table builders: the report's tables as plain data (:class:`Table`), shared by HTML and every export.

Conventions (each table's ``caption`` repeats the ones it uses):

* PSNR/SSIM: whatever protocol the quality record names (paper protocol: Y channel, border = scale).
* Params in the paper-comparison tables: thop's count (``params_thop``, parameters owned by layers thop
  knows, the paper's convention) with the exact ``sum(p.numel())`` shown alongside; multi-adds: thop MACs
  for a 1280x720 HR output (``thop_macs_hr1280x720``), in G (1e9).
* Agreement colours: |measured - published| PSNR <= 0.01 dB green, <= 0.05 dB amber, else red;
  SSIM <= 0.0001 green, <= 0.0005 amber (published SSIM has 4 decimals); params within the paper's
  rounding (0.5 K) green, within 2 % amber; multi-adds within 0.05 G green, within 2 % amber.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .loader import ResultSet

GREEN, AMBER, RED = "agree", "close", "differ"


@dataclass
class Column:
    key: str
    label: str
    fmt: str = "{}"
    better: str | None = None  # "max" | "min": best bold / second underlined within a group
    latex: str | None = None  # LaTeX header (default: escaped label)


@dataclass
class Table:
    id: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    caption: str = ""
    group_by: tuple[str, ...] = ()  # rows sharing these values compete for best / second
    notes: list[str] = field(default_factory=list)

    def cell_text(self, row: dict[str, Any], col: Column) -> str:
        v = row.get(col.key)
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return "–"
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if isinstance(v, float) and abs(v) >= 1e7 and col.fmt.endswith("f}"):
                return f"{v:.3e}"  # e.g. challenge scores of very slow entries
            try:
                return col.fmt.format(v)
            except (ValueError, TypeError):
                return str(v)
        return str(v)

    def mark_best(self) -> None:
        """Fill ``row['_rank'][key]`` with 1 (best) / 2 (second) for columns that have ``better``."""
        for row in self.rows:
            row.setdefault("_rank", {})
        for col in self.columns:
            if not col.better:
                continue
            groups: dict[tuple, list[dict]] = {}
            for row in self.rows:
                if row.get("_no_best") or (row.get("_published_only") and col.key.startswith("m_")):
                    continue
                v = row.get(col.key)
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                    groups.setdefault(tuple(row.get(k) for k in self.group_by), []).append(row)
            for rows in groups.values():
                values = sorted({r[col.key] for r in rows}, reverse=col.better == "max")
                for r in rows:
                    if r[col.key] == values[0]:
                        r["_rank"][col.key] = 1
                    elif len(values) > 1 and r[col.key] == values[1]:
                        r["_rank"][col.key] = 2


def _label(model: str) -> str:
    try:
        from models import get_spec

        return get_spec(model).label
    except Exception:  # noqa: BLE001 - a model not in this zoo (older results) keeps its name
        return model


def _published_name(model: str) -> str | None:
    try:
        from models import get_spec

        return get_spec(model).published_name
    except Exception:  # noqa: BLE001
        return None


def _ok(rec: dict | None) -> bool:
    return bool(rec) and rec.get("status") == "ok"


def classify(diff: float | None, green: float, amber: float) -> str | None:
    """Agreement class of ``|diff|``: ``agree`` (<= green), ``close`` (<= amber) or ``differ``."""
    if diff is None:
        return None
    d = abs(diff)
    if d <= green + 1e-12:
        return GREEN
    if d <= amber + 1e-12:
        return AMBER
    return RED


def _rel_class(measured: float | None, published: float | None, green_abs: float) -> str | None:
    if measured is None or published is None:
        return None
    return classify(measured - published, green_abs, max(green_abs, 0.02 * abs(published)))


def paper_params_k(c: dict | None) -> float | None:
    """Params in K following the paper's (thop) convention; falls back to the exact count."""
    if not _ok(c):
        return None
    v = c.get("params_thop")
    if v is None:
        v = c.get("params")
    return None if v is None else v / 1e3


def paper_madds_g(c: dict | None) -> float | None:
    """Multi-adds in G (thop MACs for a 1280x720 HR output), the paper's convention."""
    if not _ok(c) or c.get("thop_macs_hr1280x720") is None:
        return None
    return c["thop_macs_hr1280x720"] / 1e9


def _dataset_order(ds: str) -> tuple[int, str]:
    from models.published import DATASETS

    return (DATASETS.index(ds) if ds in DATASETS else len(DATASETS), ds)


def table5(rs: ResultSet, include_published_only: bool = True) -> Table:
    """Paper table 5 reproduced: measured vs published PSNR/SSIM, params and multi-adds."""
    from models.published import DATASETS
    from models.published import table5 as published_table5

    cols = [
        Column("label", "Model"), Column("scale", "Scale", "x{}"), Column("dataset", "Dataset"),
        Column("m_params_k", "Params [K]", "{:.1f}", "min"), Column("p_params_k", "Params [K] (paper)", "{:.0f}"),
        Column("m_madds_g", "Multi-adds [G]", "{:.2f}", "min"), Column("p_madds_g", "Multi-adds [G] (paper)", "{:.1f}"),
        Column("m_psnr", "PSNR", "{:.2f}", "max"), Column("p_psnr", "PSNR (paper)", "{:.2f}", "max"),
        Column("d_psnr", "ΔPSNR", "{:+.3f}", latex=r"$\Delta$PSNR"),
        Column("m_ssim", "SSIM", "{:.4f}", "max"), Column("p_ssim", "SSIM (paper)", "{:.4f}", "max"),
        Column("d_ssim", "ΔSSIM", "{:+.4f}", latex=r"$\Delta$SSIM"),
        Column("status", "Status"),
    ]
    t = Table("table5", "Paper table 5 reproduced", cols, group_by=("scale", "dataset"), caption=(
        "Measured PSNR/SSIM (protocol of each quality record) next to the AGDN paper's table 5. Params: thop "
        "convention (parameters owned by layers thop counts), multi-adds: thop MACs for a 1280x720 HR output. "
        "Δ = measured − published; green within 0.01 dB, amber within 0.05 dB, red beyond. Rows marked "
        "'published only' have no measurement in this results directory (models without public code or "
        "weights in the zoo, or not selected for this run)."))
    measured_pairs: set[tuple[str, int]] = set()
    datasets = sorted(rs.datasets(), key=_dataset_order)
    for model, scale in rs.models():
        c = rs.find("complexity", model, scale)
        pname = _published_name(model)
        from models.published import published_row

        pub = published_row(pname, scale) if pname else {}
        if pub:
            measured_pairs.add((pname, scale))
        quality = [q for q in rs.of("quality") if q.get("model") == model and int(q.get("scale", 0)) == scale
                   and not q.get("variant")]
        if not quality:
            quality = [None]
        for q in sorted(quality, key=lambda q: _dataset_order(q.get("dataset", "")) if q else (0, "")):
            ds = q.get("dataset") if q else None
            row: dict[str, Any] = {"model": model, "label": _label(model), "scale": scale, "dataset": ds or "–",
                                   "_classes": {}}
            row["m_params_k"] = paper_params_k(c)
            row["params_exact"] = c.get("params") if _ok(c) else None
            row["m_madds_g"] = paper_madds_g(c)
            row["p_params_k"] = pub.get("params_k")
            row["p_madds_g"] = pub.get("madds_g")
            row["_classes"]["m_params_k"] = _rel_class(row["m_params_k"], row["p_params_k"], 0.5)
            row["_classes"]["m_madds_g"] = _rel_class(row["m_madds_g"], row["p_madds_g"], 0.05)
            if q is not None:
                row["m_psnr"] = q.get("psnr") if _ok(q) else None
                row["m_ssim"] = q.get("ssim") if _ok(q) else None
                row["protocol"] = (q.get("protocol") or {}).get("name") if isinstance(q.get("protocol"), dict) else None
            row["p_psnr"] = pub.get(f"{ds}_psnr") if ds else None
            row["p_ssim"] = pub.get(f"{ds}_ssim") if ds else None
            if row.get("m_psnr") is not None and row["p_psnr"] is not None:
                row["d_psnr"] = row["m_psnr"] - row["p_psnr"]
                row["_classes"]["d_psnr"] = row["_classes"]["m_psnr"] = classify(row["d_psnr"], 0.01, 0.05)
            if row.get("m_ssim") is not None and row["p_ssim"] is not None:
                row["d_ssim"] = row["m_ssim"] - row["p_ssim"]
                row["_classes"]["d_ssim"] = row["_classes"]["m_ssim"] = classify(row["d_ssim"], 0.0001, 0.0005)
            if q is None:
                row["status"] = "no quality record"
            elif q.get("status") == "ok":
                row["status"] = "measured" + ("" if pub else " (no published row)")
            else:
                row["status"] = f"{q.get('status')}: {q.get('message', '')}".strip()
            t.rows.append(row)
    if include_published_only:
        shown = [d for d in datasets if d in DATASETS] or ["B100"]
        for pub in published_table5():
            if (pub["model"], pub["scale"]) in measured_pairs:
                continue
            for ds in shown:
                t.rows.append({
                    "model": pub["model"], "label": pub["model"], "scale": pub["scale"], "dataset": ds,
                    "p_params_k": pub["params_k"], "p_madds_g": pub["madds_g"], "p_psnr": pub.get(f"{ds}_psnr"),
                    "p_ssim": pub.get(f"{ds}_ssim"), "status": "published only", "_published_only": True,
                    "_classes": {},
                })
    t.rows.sort(key=lambda r: (r["scale"], _dataset_order(r["dataset"]), bool(r.get("_published_only")),
                               -(r.get("m_psnr") or r.get("p_psnr") or 0)))
    t.mark_best()
    return t


ABLATION_TITLES = {
    1: "Table 1: MVSA / RCCA / SGSA components (x4)",
    2: "Table 2: MVSA+RCCA vs ESA+CCA (x4)",
    3: "Table 3: TLC at inference (x4)",
    4: "Table 4: number of AGDBs (x4)",
}


def ablation_tables(rs: ResultSet) -> list[Table]:
    """Tables 1-4: measured complexity of each AGDN variant next to the published params/multi-adds/PSNR."""
    from models.published import DATASETS, ablations

    out = []
    for number, title in ABLATION_TITLES.items():
        cols = [Column("variant", "Variant"), Column("mvsa", "Spatial"), Column("rcca", "Channel"),
                Column("sgsa", "SGSA"), Column("tlc", "TLC"), Column("blocks", "Blocks"),
                Column("m_params_k", "Params [K]", "{:.1f}", "min"),
                Column("p_params_k", "Params [K] (paper)", "{:.0f}"),
                Column("m_madds_g", "Multi-adds [G]", "{:.2f}", "min"),
                Column("p_madds_g", "Multi-adds [G] (paper)", "{:.1f}")]
        cols += [Column(f"{ds}_psnr", f"{ds} PSNR (paper)", "{:.2f}", "max") for ds in DATASETS]
        t = Table(f"ablation{number}", title, cols, caption=(
            "Complexity measured on the AGDN variant built with the ablation switches (thop params, thop MACs "
            "at 1280x720 HR); PSNR as published (no official checkpoints exist for the variants)."))
        rows = [p for p in ablations() if p["table"] == number]
        if number > 1:  # tables 2-4 compare against the full AGDN (table 1's last row)
            rows.insert(0, next(p for p in ablations() if p["variant"] == "agdn"))
        for pub in rows:
            c = rs.find("complexity", "agdn", 4, variant=pub["variant"])
            row = {k: pub[k] for k in ("variant", "mvsa", "rcca", "sgsa", "tlc", "blocks")}
            row.update({f"{ds}_psnr": pub.get(f"{ds}_psnr") for ds in DATASETS})
            row["p_params_k"], row["p_madds_g"] = pub["params_k"], pub["madds_g"]
            row["m_params_k"], row["m_madds_g"] = paper_params_k(c), paper_madds_g(c)
            row["_classes"] = {"m_params_k": _rel_class(row["m_params_k"], row["p_params_k"], 0.5),
                               "m_madds_g": _rel_class(row["m_madds_g"], row["p_madds_g"], 0.05)}
            if c is None:
                row["status"] = "not measured"
            elif c.get("status") != "ok":
                row["status"] = f"{c.get('status')}: {c.get('message', '')}"
            t.rows.append(row)
        if any(r.get("status") for r in t.rows):
            t.columns.append(Column("status", "Status"))
        t.mark_best()
        out.append(t)
    return out


COUNTERS = (
    ("params", "params (exact)", "{:,}"),
    ("params_thop", "params (thop)", "{:,}"),
    ("params_before_forward", "params before forward", "{:,}"),
    ("fvcore_flops_lr256", "fvcore FLOPs, 256² LR [G]", "g"),
    ("ntire22_hook_flops_lr256", "NTIRE22 hook FLOPs, 256² LR [G]", "g"),
    ("torch_flops_lr256", "torch FLOPs, 256² LR [G]", "g"),
    ("thop_macs_hr1280x720", "thop MACs, 720p HR [G]", "g"),
    ("ptflops_macs_hr1280x720", "ptflops MACs, 720p HR [G]", "g"),
    ("fvcore_flops_hr1280x720", "fvcore FLOPs, 720p HR [G]", "g"),
    ("ntire_activations_lr256", "activations, 256² LR [M]", "m"),
    ("ntire_convs_lr256", "convs", "{}"),
)


def counting_table(rs: ResultSet) -> Table:
    """One row per model with every counter's figure and what each counter skipped."""
    cols = [Column("label", "Model"), Column("scale", "Scale", "x{}")]
    for key, label, fmt in COUNTERS:
        cols.append(Column(key, label, {"g": "{:.3f}", "m": "{:.2f}"}.get(fmt, fmt)))
    cols += [Column("uncounted", "Skipped by counters"), Column("warnings", "Warnings")]
    t = Table("counting", "Counting conventions", cols, caption=(
        "Every counter on the same model: fvcore counts one FLOP per multiply-add (a MAC), at a 256x256 LR "
        "input as NTIRE does; thop/ptflops MACs for a 1280x720 HR output as the paper does; params (thop) "
        "counts only parameters owned by layers thop knows. 'Skipped' lists what each counter did not see."))
    for model, scale in rs.models():
        c = rs.find("complexity", model, scale)
        if c is None:
            continue
        row: dict[str, Any] = {"model": model, "label": _label(model), "scale": scale}
        for key, _, fmt in COUNTERS:
            v = c.get(key)
            if v is not None and fmt == "g":
                v = v / 1e9
            elif v is not None and fmt == "m":
                v = v / 1e6
            row[key] = v
        unc = c.get("uncounted") or {}
        row["uncounted"] = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in unc.items() if v) or "–"
        warns = list(c.get("warnings") or [])
        if c.get("status") != "ok":
            warns.insert(0, f"{c.get('status')}: {c.get('message', '')}")
        row["warnings"] = "; ".join(warns) or "–"
        t.rows.append(row)
    return t


def runtime_table(rs: ResultSet) -> Table:
    """Measured runtime and peak memory per model (protocol of each runtime record)."""
    from bench.stats import runtime_headline

    cols = [Column("label", "Model"), Column("scale", "Scale", "x{}"), Column("device", "Device"),
            Column("input", "LR input"), Column("mode", "Mode"), Column("time_ms", "Time [ms]", "{:.2f}", "min"),
            Column("statistic", "Statistic"), Column("iqr_ms", "IQR [ms]", "{:.2f}"),
            Column("peak_mem_forward_mib", "Peak mem [MiB]", "{:.1f}", "min"), Column("status", "Status")]
    t = Table("runtime", "Runtime", cols, group_by=("device", "mode", "input"), caption=(
        "Per-forward time (synchronised on GPU). Robust rows: median of the timed forwards after warm-up. "
        "NTIRE rows: the official Ave Time (mean of the valid and test per-image means; no warm-up, first "
        "image included). Best values are marked only among rows of the same device, mode and input."))
    for model, scale in rs.models():
        r = rs.find("runtime", model, scale)
        if r is None:
            continue
        size = r.get("input_size")
        t.rows.append({
            "model": model, "label": _label(model), "scale": scale, "device": r.get("device"),
            "input": f"{size[0]}x{size[1]}" if isinstance(size, (list, tuple)) and len(size) == 2 else r.get("dataset"),
            "mode": r.get("mode"), "time_ms": runtime_headline(r)[0], "statistic": runtime_headline(r)[1],
            "iqr_ms": r.get("iqr_ms"), "peak_mem_forward_mib": r.get("peak_mem_forward_mib"),
            "status": "ok" if r.get("status") == "ok" else f"{r.get('status')}: {r.get('message', '')}",
        })
    t.mark_best()
    return t


def quality_table(rs: ResultSet) -> Table:
    """Every quality record (any dataset, including ones the paper has no row for)."""
    cols = [Column("label", "Model"), Column("scale", "Scale", "x{}"), Column("dataset", "Dataset"),
            Column("protocol", "Protocol"), Column("n_images", "Images"), Column("psnr", "PSNR", "{:.4f}", "max"),
            Column("ssim", "SSIM", "{:.4f}", "max"), Column("status", "Status")]
    t = Table("quality", "Quality (all datasets)", cols, group_by=("scale", "dataset"), caption=(
        "Mean per-image PSNR/SSIM of each quality record; the protocol column names the convention "
        "(paper: Y channel, border = scale, uint8 rounding)."))
    for q in sorted(rs.of("quality"), key=lambda q: (q.get("scale", 0), _dataset_order(q.get("dataset", "")),
                                                     q.get("model", ""))):
        if q.get("variant"):
            continue
        proto = q.get("protocol")
        ok = q.get("status") == "ok"
        t.rows.append({
            "model": q.get("model"), "label": _label(str(q.get("model"))), "scale": q.get("scale"),
            "dataset": q.get("dataset"),
            "protocol": proto.get("name") if isinstance(proto, dict) else proto, "n_images": q.get("n_images"),
            "psnr": q.get("psnr") if ok else None, "ssim": q.get("ssim") if ok else None,
            "status": "ok" if ok else f"{q.get('status')}: {q.get('message', '')}",
        })
    t.mark_best()
    return t
