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
# colour legend of each compared quantity: (cell keys, name, (green, amber, red) meaning)
LEGENDS: tuple[tuple[tuple[str, ...], str, tuple[str, str, str]], ...] = (
    (("m_psnr", "d_psnr"), "PSNR vs paper", ("|Δ| ≤ 0.01 dB", "≤ 0.05 dB", "> 0.05 dB")),
    (("m_ssim", "d_ssim"), "SSIM vs paper", ("|Δ| ≤ 0.0001", "≤ 0.0005", "> 0.0005")),
    (("m_params_k",), "Params vs paper", ("within the paper's rounding (0.5 K)", "within 2 %", "beyond 2 %")),
    (("m_madds_g",), "Multi-adds vs paper", ("within the paper's rounding (0.05 G)", "within 2 %", "beyond 2 %")),
)


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

    def legends(self) -> list[tuple[str, tuple[str, str, str]]]:
        """(quantity, (green, amber, red) texts) for every agreement colour used in this table's cells."""
        used = {k for r in self.rows for k, v in (r.get("_classes") or {}).items() if v}
        return [(name, texts) for keys, name, texts in LEGENDS if used & set(keys)]

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


def _record_label(r: dict[str, Any]) -> str:
    """Model label of a record, marking a variant (constructor options other than the registry's)."""
    label = _label(str(r.get("model")))
    return f"{label} [variant: {r['variant']}]" if r.get("variant") else label


def _published_name(model: str) -> str | None:
    try:
        from models import get_spec

        return get_spec(model).published_name
    except Exception:  # noqa: BLE001
        return None


def _ok(rec: dict | None) -> bool:
    return bool(rec) and rec.get("status") == "ok"


def _counted(rec: dict | None) -> bool:
    """A complexity record whose figures can be shown: ``ok``, or ``partial`` (its missing figures are None)."""
    return bool(rec) and rec.get("status") in ("ok", "partial")


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
    """Params in K under the paper's (thop) convention; None when thop gave no figure (never the exact count,
    which is another convention: 294,174 vs thop's 292,683 for AGDN x4)."""
    v = c.get("params_thop") if _counted(c) else None
    return None if v is None else v / 1e3


def paper_madds_g(c: dict | None) -> float | None:
    """Multi-adds in G (thop MACs for a 1280x720 HR output), the paper's convention."""
    v = c.get("thop_macs_hr1280x720") if _counted(c) else None
    return None if v is None else v / 1e9


def _dataset_order(ds: str) -> tuple[int, str]:
    from models.published import DATASETS

    return (DATASETS.index(ds) if ds in DATASETS else len(DATASETS), ds)


def brief_message(message: str) -> str:
    """See :func:`reports.leaderboard.brief_message` (the command a message suggests, or its start)."""
    from .leaderboard import brief_message as brief

    return brief(message)


def _proto_name(rec: dict | None) -> str:
    p = (rec or {}).get("protocol")
    return str((p.get("name") if isinstance(p, dict) else p) or "?")


def table5_keys(rs: ResultSet) -> list[tuple[str, str]]:
    """(dataset, protocol) of every table-5 table: each measured pair, paper datasets first; the paper's
    B100 (published rows only) when no paper dataset was measured under the paper protocol."""
    from models.published import DATASETS

    keys = sorted({(str(q["dataset"]), _proto_name(q)) for q in rs.of("quality")
                   if q.get("dataset") and not q.get("variant")},
                  key=lambda k: (_dataset_order(k[0]), k[1] != "paper", k[1]))
    if not any(d in DATASETS and p == "paper" for d, p in keys):
        keys.insert(0, ("B100", "paper"))
    return keys


def table5_tables(rs: ResultSet) -> list[Table]:
    """One :func:`table5` per (dataset, protocol) of :func:`table5_keys`: a table never mixes datasets or
    protocols."""
    return [table5(rs, dataset=d, protocol=p) for d, p in table5_keys(rs)]


def _short_status(rec: dict | None) -> str:
    if rec is None:
        return "no record"
    st = str(rec.get("status") or "?")
    return "measured" if st == "ok" else st


def table5(rs: ResultSet, include_published_only: bool = True, dataset: str = "B100",
           protocol: str = "paper") -> Table:
    """Paper table 5 for one dataset and quality protocol: measured vs published PSNR/SSIM, params and
    multi-adds. Published values (paper protocol: Y, border = scale) are only shown next to measurements
    made under the paper protocol on one of the paper's datasets; other pairs get a measured-only table."""
    from models.published import DATASETS
    from models.published import table5 as published_table5

    with_pub = protocol == "paper" and dataset in DATASETS
    cols = [
        Column("label", "Model"), Column("scale", "Scale", "x{}"),
        Column("m_params_k", "Params [K]", "{:.1f}", "min"), Column("p_params_k", "Params [K] (paper)", "{:.0f}"),
        Column("m_madds_g", "Multi-adds [G]", "{:.2f}", "min"), Column("p_madds_g", "Multi-adds [G] (paper)", "{:.1f}"),
        Column("m_psnr", "PSNR", "{:.2f}", "max"), Column("p_psnr", "PSNR (paper)", "{:.2f}", "max"),
        Column("d_psnr", "ΔPSNR", "{:+.3f}", latex=r"$\Delta$PSNR"),
        Column("m_ssim", "SSIM", "{:.4f}", "max"), Column("p_ssim", "SSIM (paper)", "{:.4f}", "max"),
        Column("d_ssim", "ΔSSIM", "{:+.4f}", latex=r"$\Delta$SSIM"),
        Column("status", "Status"),
    ]
    if not with_pub:
        cols = [c for c in cols if not c.key.startswith(("p_", "d_"))]
    title = (f"Paper table 5 reproduced: {dataset}" if with_pub else
             f"Measured on {dataset} ({protocol} protocol; no published values to compare)")
    if with_pub and protocol == "paper" and not any(q.get("dataset") == dataset for q in rs.of("quality")):
        title += " (published rows only: not measured here)"
    tid = f"table5-{dataset}" + ("" if protocol == "paper" else f"-{protocol}")
    t = Table(tid, title, cols, group_by=("scale",), caption=(
        f"PSNR/SSIM on {dataset}, {protocol} protocol (paper: Y channel, border = scale, uint8 rounding). "
        "Params: thop convention (parameters owned by layers thop counts), multi-adds: thop MACs for a "
        "1280x720 HR output." + (" Δ = measured − published (AGDN paper, table 5). Rows marked 'published "
                                  "only' have no measurement here." if with_pub else "")))
    t.rows = []
    measured_pairs: set[tuple[str, int]] = set()
    from models.published import published_row

    for model, scale in rs.models():
        quality = [q for q in rs.of("quality") if q.get("model") == model and int(q.get("scale", 0)) == scale
                   and q.get("dataset") == dataset and _proto_name(q) == protocol and not q.get("variant")]
        if not quality:
            continue
        c = rs.find("complexity", model, scale)
        pname = _published_name(model)
        pub = published_row(pname, scale) if pname and with_pub else {}
        if pub and any(not q.get("options") for q in quality):
            measured_pairs.add((pname, scale))
        for q in quality:
            from .leaderboard import variant_of

            variant = variant_of(q)  # a record made with options other than the registry's
            row: dict[str, Any] = {"model": model, "label": _label(model) + (f" [variant: {variant}]" if variant
                                                                             else ""), "scale": scale,
                                   "dataset": dataset, "protocol": protocol, "variant": variant, "_classes": {},
                                   "_titles": {}, "user_model": bool((q or {}).get("user_model"))}
            row["m_params_k"] = paper_params_k(c)
            row["params_exact"] = c.get("params") if _counted(c) else None
            row["m_madds_g"] = paper_madds_g(c)
            row["p_params_k"] = pub.get("params_k")
            row["p_madds_g"] = pub.get("madds_g")
            row["_classes"]["m_params_k"] = _rel_class(row["m_params_k"], row["p_params_k"], 0.5)
            row["_classes"]["m_madds_g"] = _rel_class(row["m_madds_g"], row["p_madds_g"], 0.05)
            row["m_psnr"] = q.get("psnr") if _ok(q) else None
            row["m_ssim"] = q.get("ssim") if _ok(q) else None
            row["p_psnr"] = pub.get(f"{dataset}_psnr")
            row["p_ssim"] = pub.get(f"{dataset}_ssim")
            if row.get("m_psnr") is not None and row["p_psnr"] is not None:
                row["d_psnr"] = row["m_psnr"] - row["p_psnr"]
                row["_classes"]["d_psnr"] = row["_classes"]["m_psnr"] = classify(row["d_psnr"], 0.01, 0.05)
            if row.get("m_ssim") is not None and row["p_ssim"] is not None:
                row["d_ssim"] = row["m_ssim"] - row["p_ssim"]
                row["_classes"]["d_ssim"] = row["_classes"]["m_ssim"] = classify(row["d_ssim"], 0.0001, 0.0005)
            row["status"] = _short_status(q)
            detail = [brief_message(str(q.get("message") or ""))]
            if row["status"] == "measured" and with_pub and not pub:
                detail.append("no published row for this model")
            if c is None or not _ok(c):
                detail.append(f"complexity: {_short_status(c)} {(c or {}).get('message', '')}".strip())
            row["status_detail"] = "; ".join(d for d in detail if d)
            row["_titles"]["status"] = row["status_detail"]
            t.rows.append(row)
    if include_published_only and with_pub:
        for pub in published_table5():
            if (pub["model"], pub["scale"]) in measured_pairs:
                continue
            t.rows.append({
                "model": pub["model"], "label": pub["model"], "scale": pub["scale"], "dataset": dataset,
                "p_params_k": pub["params_k"], "p_madds_g": pub["madds_g"], "p_psnr": pub.get(f"{dataset}_psnr"),
                "p_ssim": pub.get(f"{dataset}_ssim"), "status": "published only", "_published_only": True,
                "_classes": {}, "_titles": {"status": f"{pub['source']} ({pub['venue']}); not measured here"},
            })
    t.rows.sort(key=lambda r: (r["scale"], bool(r.get("_published_only")),
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
                row["status"] = str(c.get("status"))
                row["_titles"] = {"status": str(c.get("message") or "")}
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
        "counts only parameters owned by layers thop knows. 'Skipped' lists, per counter, the operator types it did "
        "not count (aten:: prefix dropped; module: = a module type)."))
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
        unc = {k: list(v) for k, v in (c.get("uncounted") or {}).items() if v}
        row["uncounted"] = "; ".join(f"{k}: {', '.join(str(op).removeprefix('aten::') for op in v)}"
                                     for k, v in unc.items()) or "–"
        row["_summary"] = {}
        if unc:  # the HTML shows the count and folds the list away
            n = len({str(op) for v in unc.values() for op in v})
            row["_summary"]["uncounted"] = f"{n} op type{'s' if n != 1 else ''}"
        warns = list(c.get("warnings") or [])
        if c.get("status") != "ok":
            warns.insert(0, f"{c.get('status')}: {c.get('message', '')}")
        row["warnings"] = "; ".join(warns) or "–"
        if len(row["warnings"]) > 60:
            row["_summary"]["warnings"] = f"{len(warns)} warning{'s' if len(warns) != 1 else ''}"
        t.rows.append(row)
    return t


def complete_distance_table(rs: ResultSet, model: str = "agdn", scale: int = 4) -> Table:
    """How far each official counting convention is from the complete count (issue 13), for one model.

    One row per convention (``bench.complexity.crosscheck.distances``): its figure in MACs (torch's FLOPs
    halved), the complete count at the same input size and the signed distance in percent.
    """
    from bench.complexity.crosscheck import distances

    t = Table("complete", f"Distance from the complete count ({_label(model)} x{scale})", [
        Column("convention", "Convention"), Column("g", "Figure [G MACs]", "{:.4f}"),
        Column("complete_g", "Complete [G MACs]", "{:.4f}"), Column("distance", "Distance [%]", "{:+.2f}")],
        caption="The complete count counts every operator that does arithmetic (convolutions in every padding "
        "mode, matmuls, attention, interpolation, normalisation, elementwise ops 1 per output element; rule in "
        "bench/complexity/complete.py). Official figures stay as the official tools give them.")
    c = rs.find("complexity", model, scale)
    if c is None or not c.get("complete_macs_lr256"):
        t.notes.append(f"no complexity record with a complete count for {model} x{scale}")
        return t
    labels = {key: label for key, label, _ in COUNTERS}
    for d in distances(c):
        t.rows.append({"convention": labels.get(d["field"], d["field"]), "g": d["macs"] / 1e9,
                       "complete_g": d["complete"] / 1e9, "distance": 100 * d["rel"]})
    return t


def runtime_table(rs: ResultSet) -> Table:
    """Measured runtime and peak memory per model (protocol of each runtime record)."""
    cols = [Column("label", "Model"), Column("scale", "Scale", "x{}"), Column("device_name", "Device"),
            Column("input", "LR input"), Column("mode", "Mode"), Column("time_ms", "Time [ms]", "{:.2f}", "min"),
            Column("statistic", "Statistic"), Column("iqr_ms", "IQR [ms]", "{:.2f}"),
            Column("peak_mem_forward_mib", "Peak mem [MiB]", "{:.1f}", "min"), Column("status", "Status")]
    # timings are only compared within one device (by name: two GPU models never share a group), one timing
    # mode and one input size
    t = Table("runtime", "Runtime", cols, group_by=("device_name", "mode", "input"), caption=(
        "Per-forward time (synchronised on GPU). Robust rows: median of the timed forwards after warm-up. "
        "NTIRE rows: the official Ave Time (mean of the valid and test per-image means; no warm-up, first "
        "image included). Best values are marked only among rows of the same device, mode and input."))
    for model, scale in rs.models():
        for r in rs.of("runtime"):  # one row per identity (device, input size, ...): superseded ones are gone
            if r.get("model") != model or r.get("scale") != scale or r.get("variant"):
                continue
            _runtime_row(t, r, model, scale)
    t.mark_best()
    return t


def _runtime_row(t: Table, r: dict[str, Any], model: str, scale: int) -> None:
    from bench.stats import runtime_headline

    size = r.get("input_size")
    time_ms, statistic = runtime_headline(r)
    t.rows.append({
        "model": model, "label": _record_label(r), "scale": scale,
        "device_name": r.get("device_name") or r.get("device"),
        "input": f"{size[0]}x{size[1]}" if isinstance(size, (list, tuple)) and len(size) == 2 else r.get("dataset"),
        "mode": r.get("mode"), "time_ms": time_ms, "statistic": statistic,
        "iqr_ms": r.get("iqr_ms"), "peak_mem_forward_mib": r.get("peak_mem_forward_mib"),
        "status": str(r.get("status")), "_titles": {"status": brief_message(str(r.get("message") or ""))},
    })


def _top_shares(entries: list[dict[str, Any]], name_key: str, time_key: str, n: int) -> str:
    """``"B1 31.2%, B2 30.9%, ..."``: the ``n`` largest entries by ``time_key`` with their share."""
    top = sorted(entries, key=lambda e: -(e.get(time_key) or 0))[:n]
    return ", ".join(f"{e.get(name_key)} {100 * e['share']:.1f}%" if isinstance(e.get("share"), (int, float))
                     else str(e.get(name_key)) for e in top) or "–"


def profile_table(rs: ResultSet, top: int = 5) -> Table:
    """Where each profiled forward's time goes (``esr-bench profile --out``, records of kind ``profile``).

    One row per profile record: the un-profiled forward median (ms), the forward peak memory (MiB) and
    the ``top`` first-level modules by inclusive time and operators by self time, each with its share
    (modules: of the whole network's time; operators: of all operators' self time), as
    :mod:`bench.profile` measured them with ``torch.profiler``.
    """
    cols = [Column("label", "Model"), Column("scale", "Scale", "x{}"), Column("device_name", "Device"),
            Column("input", "LR input"), Column("threads", "Threads", "{}"),
            Column("forward_ms", "Forward [ms]", "{:.2f}"), Column("peak_mem_forward_mib", "Peak mem [MiB]", "{:.1f}"),
            Column("modules", "Top modules (share of time)"), Column("operators", "Top operators (share of self time)")]
    t = Table("profile", "Where the time goes", cols, caption=(
        "One profiled forward per row (torch.profiler, after warm-up): module shares are inclusive (sub-modules "
        "and operators inside) and of the whole network's time; operator shares are of all operators' self "
        "time. Forward [ms] is the median of un-profiled forwards."))
    for r in sorted(rs.of("profile"), key=lambda r: (str(r.get("model")), r.get("scale") or 0)):
        if r.get("status") != "ok":
            continue
        size = r.get("input_size") or []
        first_level = [m for m in r.get("modules") or [] if m.get("module") != "<root>" and "." not in m["module"]]
        t.rows.append({
            "model": r.get("model"), "label": _label(str(r.get("model"))), "scale": r.get("scale"),
            "device_name": (r.get("env") or {}).get("device_name") or r.get("device"),
            "input": "x".join(map(str, size)), "threads": r.get("threads"), "forward_ms": r.get("forward_ms"),
            "peak_mem_forward_mib": r.get("peak_mem_forward_mib"),
            "modules": _top_shares(first_level, "module", "time_ms", top),
            "operators": _top_shares(r.get("operators") or [], "operator", "self_time_ms", top),
        })
    return t


def quality_table(rs: ResultSet) -> Table:
    """Every quality record (any dataset, including ones the paper has no row for)."""
    cols = [Column("label", "Model"), Column("scale", "Scale", "x{}"), Column("dataset", "Dataset"),
            Column("protocol", "Protocol"), Column("n_images", "Images"), Column("psnr", "PSNR", "{:.4f}", "max"),
            Column("ssim", "SSIM", "{:.4f}", "max"), Column("status", "Status")]
    t = Table("quality", "Quality (all datasets)", cols, group_by=("scale", "dataset", "protocol"), caption=(
        "Mean per-image PSNR/SSIM of each quality record; the protocol column names the convention "
        "(paper: Y channel, border = scale, uint8 rounding); best values are marked within one scale, dataset "
        "and protocol."))
    for q in sorted(rs.of("quality"), key=lambda q: (q.get("scale", 0), _dataset_order(q.get("dataset", "")),
                                                     q.get("model", ""))):
        proto = q.get("protocol")
        ok = q.get("status") == "ok"
        t.rows.append({
            "model": q.get("model"), "label": _record_label(q), "scale": q.get("scale"),
            "dataset": q.get("dataset"),
            "protocol": proto.get("name") if isinstance(proto, dict) else proto, "n_images": q.get("n_images"),
            "psnr": q.get("psnr") if ok else None, "ssim": q.get("ssim") if ok else None,
            "status": "ok" if ok else f"{q.get('status')}: {q.get('message', '')}",
        })
    t.mark_best()
    return t
