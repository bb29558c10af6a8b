"""The report's leaderboard: one row per model x scale x dataset view, as compact JSON for the page's script.

A *view* is one dataset under one quality protocol (``Set5 · paper``); the page shows one view at a time,
so a table never mixes datasets or protocols. Every view also lists the zoo models that have no quality
record for it (status ``not measured``) and, for the datasets of the AGDN paper under the paper
protocol, the published-only rows of its table 5 (status ``published``), which the page can hide.

Counting conventions (the page's selector; the params/FLOPs columns follow it, multi-adds stay thop at
1280x720 HR as the paper prints them):

* ``ntire``: exact ``sum(p.numel())`` params, fvcore "FLOPs" (one per multiply-add) at a 256x256 LR input
  (NTIRE ESR 2024-2026 ``test_demo.py``);
* ``ntire22``: exact params, the NTIRE 2022/2023 hook counter at 256x256 LR;
* ``torch``: exact params, true FLOPs (2 per multiply-add) from ``torch.utils.flop_counter``;
* ``paper``: thop params and thop MACs for a 1280x720 HR output (the AGDN paper's table 5);
* ``ptflops``: exact params, ptflops MACs at 1280x720 HR.

Each row's status is a short word (``ok``, ``no_checkpoint``, ``failed``, ``not measured``,
``published``, ...) and a tooltip holding the detail: the record's message (e.g. the fetch command),
the protocol, the record's identity/file and its creation time.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .loader import ResultSet
from .tables import _counted, _dataset_order, _label, _published_name

CONVENTIONS: tuple[dict[str, str], ...] = (
    {"key": "ntire", "label": "NTIRE 2024-26 (fvcore, 256² LR)", "params": "params",
     "flops": "fvcore_flops_lr256", "flops_label": "FLOPs [G] (fvcore = MACs, 256² LR)"},
    {"key": "ntire22", "label": "NTIRE 2022-23 (hook counter, 256² LR)", "params": "params",
     "flops": "ntire22_hook_flops_lr256", "flops_label": "FLOPs [G] (NTIRE22 hooks, 256² LR)"},
    {"key": "torch", "label": "true FLOPs (torch, 2 per MAC, 256² LR)", "params": "params",
     "flops": "torch_flops_lr256", "flops_label": "FLOPs [G] (torch, 256² LR)"},
    {"key": "paper", "label": "AGDN paper (thop, 1280x720 HR)", "params": "params_thop",
     "flops": "thop_macs_hr1280x720", "flops_label": "MACs [G] (thop, 720p HR)"},
    {"key": "ptflops", "label": "ptflops (1280x720 HR)", "params": "params",
     "flops": "ptflops_macs_hr1280x720", "flops_label": "MACs [G] (ptflops, 720p HR)"},
)

# (key, header, kind of value for the page: t = text, n<d> = number with d decimals, d = signed delta)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("label", "Model", "t"), ("scale", "Scale", "x"), ("params_k", "Params [K]", "n1"),
    ("flops_g", "FLOPs [G]", "n2"), ("madds_g", "Multi-adds [G] (thop, 720p)", "n2"),
    ("runtime_ms", "Runtime [ms]", "n1"), ("mem_mib", "Peak mem [MiB]", "n1"),
    ("psnr", "PSNR [dB]", "n2"), ("ssim", "SSIM", "n4"), ("d_psnr", "ΔPSNR vs paper", "d3"),
    ("status", "Status", "s"),
)


def _num(v: Any, digits: int = 6) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return round(float(v), digits)


def _proto_name(rec: dict[str, Any] | None) -> str:
    p = (rec or {}).get("protocol")
    if isinstance(p, dict):
        return str(p.get("name") or "?")
    return str(p or "?")


def variant_of(rec: dict[str, Any] | None) -> str:
    """A short marker for a record made with options other than the registry's ('' for the official form)."""
    if not rec:
        return ""
    for key in ("options", "variant", "variant_options"):
        v = rec.get(key)
        if isinstance(v, dict) and v:
            return ", ".join(f"{k}={v[k]}" for k in sorted(v))
        if v and not isinstance(v, dict):
            return str(v)
    return ""


def _identity(rec: dict[str, Any]) -> str:
    ident = rec.get("identity_hash") or rec.get("_identity") or rec.get("identity") or rec.get("id")
    if isinstance(ident, dict):
        ident = ident.get("key") or ident.get("hash") or json.dumps(ident, sort_keys=True)[:160]
    ident = str(ident or "")
    if re.fullmatch(r"[0-9a-f]{20,}", ident):
        ident = ident[:12]  # a content hash: its first 12 hex digits identify it
    return " · ".join(x for x in (ident, str(rec.get("_file") or "")) if x)


def status_tooltip(rec: dict[str, Any] | None, extra: str = "") -> str:
    """The detail behind a status badge: message, record identity (or file) and creation time (the
    protocol is the view's and is added by the page)."""
    if rec is None:
        return extra
    parts = [str(rec["message"])] if rec.get("message") else []
    if extra:
        parts.append(extra)
    ident = _identity(rec)
    if ident:
        parts.append(f"record: {ident}")
    if rec.get("created"):
        parts.append(f"created: {rec['created']}")
    return "\n".join(parts)


def brief_message(message: str, limit: int = 140) -> str:
    """A short form of a record's message for a table cell's tooltip: the command it suggests (e.g.
    ``esr-bench weights fetch carn``) when there is one, else the first ``limit`` characters."""
    m = re.search(r"`(esr-bench [^`]+)`", message or "")
    if m:
        return f"{message.split(':')[0]}; run `{m.group(1)}`"
    return message if len(message) <= limit else message[:limit - 1] + "…"


def _protocol_brief(rec: dict[str, Any] | None) -> str:
    p = (rec or {}).get("protocol")
    if not isinstance(p, dict) or not p:
        return ""
    brief = [f"{k}={v}" for k, v in p.items() if isinstance(v, (str, int, float, bool)) and len(str(v)) < 40]
    return "protocol: " + ", ".join(brief[:8])


def _complexity_cells(c: dict[str, Any] | None) -> dict[str, Any]:
    """params/FLOPs per convention (K, G) and thop multi-adds (G) of a complexity record.

    A figure the record lacks (a ``partial`` record's failed counter) stays None: never another
    convention's figure in its place.
    """
    if not _counted(c):
        return {"params": {}, "flops": {}, "madds_g": None}
    params, flops = {}, {}
    for conv in CONVENTIONS:
        p = c.get(conv["params"])
        params[conv["key"]] = _num(p / 1e3, 3) if isinstance(p, (int, float)) else None
        f = c.get(conv["flops"])
        flops[conv["key"]] = _num(f / 1e9, 4) if isinstance(f, (int, float)) else None
    m = c.get("thop_macs_hr1280x720")
    return {"params": params, "flops": flops, "madds_g": _num(m / 1e9, 4) if isinstance(m, (int, float)) else None}


def _model_entry(rs: ResultSet, model: str, scale: int) -> dict[str, Any]:
    """Per model x scale: label, params/FLOPs per convention (lists in :data:`CONVENTIONS` order, K / G),
    thop multi-adds (G), runtime median (ms), device, peak forward memory (MiB) and their problems."""
    c = rs.find("complexity", model, scale)
    r = rs.find("runtime", model, scale)
    cells = _complexity_cells(c)
    ok_r = bool(r) and r.get("status") == "ok"
    problems = [f"{kind}: {rec.get('status')}: {rec.get('message', '')}".rstrip(": ")
                for kind, rec in (("complexity", c), ("runtime", r)) if rec is not None and rec.get("status") != "ok"]
    return {"model": model, "label": _label(model), "scale": scale,
            "params": [cells["params"].get(cv["key"]) for cv in CONVENTIONS],
            "flops": [cells["flops"].get(cv["key"]) for cv in CONVENTIONS], "madds_g": cells["madds_g"],
            "runtime_ms": _num(r.get("median_ms"), 3) if ok_r else None,
            "device": str(r.get("device") or "") if r else "",
            "mem_mib": _num(r.get("peak_mem_forward_mib"), 2) if ok_r else None, "problems": "\n".join(problems),
            "user": any(bool((rec or {}).get("user_model")) for rec in (c, r))}


def views(rs: ResultSet) -> list[dict[str, str]]:
    """(dataset, protocol) views with at least one quality record, paper datasets first."""
    seen: dict[tuple[str, str], str] = {}
    for q in rs.of("quality"):
        if q.get("dataset"):
            key = (str(q.get("dataset")), _proto_name(q))
            if not seen.get(key):
                seen[key] = _protocol_brief(q)
    ordered = sorted(seen, key=lambda v: (_dataset_order(v[0]), v[1] != "paper", v[1]))
    return [{"key": f"{d}|{p}", "dataset": d, "protocol": p, "label": f"{d} · {p} protocol", "tip": seen[(d, p)]}
            for d, p in ordered]


def leaderboard(rs: ResultSet) -> dict[str, Any]:
    """The page's data (JSON-ready, numbers rounded): ``conventions``, ``columns``, ``views``,
    ``models`` (key ``"<model>|<scale>"`` -> :func:`_model_entry`, published-only models included with
    their paper figures under the ``paper`` convention) and ``rows``.

    Each row: ``view`` (index into ``views``), ``m`` (key into ``models``), ``variant`` ('' or the
    options), ``psnr`` (dB), ``ssim``, ``d_psnr`` (measured - published, dB, paper protocol and paper
    datasets only), ``status`` (``ok``, ``no_checkpoint``, ``failed``, ``not measured``, ``published``
    ...) and ``tip`` (the badge's tooltip).
    """
    from models.published import DATASETS, published_row
    from models.published import table5 as published_table5

    vs = views(rs) or [{"key": "–|–", "dataset": "–", "protocol": "–", "label": "no quality records", "tip": ""}]
    pairs = rs.models()
    models = {f"{m}|{s}": _model_entry(rs, m, s) for m, s in pairs}
    rows: list[dict[str, Any]] = []
    paper_idx = [i for i, cv in enumerate(CONVENTIONS) if cv["key"] == "paper"][0]
    for vi, view in enumerate(vs):
        ds, proto = view["dataset"], view["protocol"]
        shown_pub: set[tuple[str, int]] = set()
        for model, scale in pairs:
            qs = [q for q in rs.of("quality") if q.get("model") == model and int(q.get("scale") or 0) == scale
                  and q.get("dataset") == ds and _proto_name(q) == proto]
            pname = _published_name(model)
            pub = published_row(pname, scale) if pname and proto == "paper" and ds in DATASETS else {}
            if pub:
                shown_pub.add((pname, scale))
            for q in qs or [None]:
                ok_q = bool(q) and q.get("status") == "ok"
                row: dict[str, Any] = {"view": vi, "m": f"{model}|{scale}", "variant": variant_of(q),
                                       "psnr": _num(q.get("psnr"), 4) if ok_q else None,
                                       "ssim": _num(q.get("ssim"), 5) if ok_q else None}
                p_psnr = pub.get(f"{ds}_psnr") if pub else None
                row["d_psnr"] = _num(row["psnr"] - p_psnr, 4) if row["psnr"] is not None and p_psnr else None
                if q is None:
                    row["status"], row["tip"] = "not measured", f"no quality record for {ds} in this directory"
                else:
                    row["status"] = str(q.get("status") or "?")
                    row["tip"] = status_tooltip(q, "" if pub or not ok_q else "no published value to compare")
                rows.append(row)
        if proto != "paper" or ds not in DATASETS:
            continue
        for pub in published_table5():
            if (pub["model"], pub["scale"]) in shown_pub:
                continue
            key = f"{pub['model']}|{pub['scale']}|paper"
            if key not in models:
                params = [None] * len(CONVENTIONS)
                flops = [None] * len(CONVENTIONS)
                params[paper_idx], flops[paper_idx] = pub["params_k"], pub["madds_g"]
                models[key] = {"model": pub["model"], "label": pub["model"], "scale": pub["scale"],
                               "params": params, "flops": flops, "madds_g": pub["madds_g"], "runtime_ms": None,
                               "device": "", "mem_mib": None,
                               "problems": f"published only: {pub['source']} ({pub['venue']}), thop figures"}
            rows.append({"view": vi, "m": key, "variant": "", "psnr": pub.get(f"{ds}_psnr"),
                         "ssim": pub.get(f"{ds}_ssim"), "d_psnr": None, "status": "published", "tip": ""})
    return {"conventions": list(CONVENTIONS), "columns": [list(c) for c in COLUMNS], "views": vs,
            "models": models, "row_fields": list(ROW_FIELDS), "rows": rows}


ROW_FIELDS = ("view", "m", "variant", "psnr", "ssim", "d_psnr", "status", "tip")


def _intern(data: dict[str, Any]) -> dict[str, Any]:
    """Rows as arrays in :data:`ROW_FIELDS` order; each tooltip line stored once in ``strings`` and rows
    holding the line indexes (the same fetch command repeats in every dataset view)."""
    strings: list[str] = []
    index: dict[str, int] = {}

    def ids(text: str) -> list[int]:
        out = []
        for line in text.split("\n") if text else []:
            if line not in index:
                index[line] = len(strings)
                strings.append(line)
            out.append(index[line])
        return out

    rows = [[ids(r[k]) if k == "tip" else r[k] for k in ROW_FIELDS] for r in data["rows"]]
    return {**data, "rows": rows, "strings": strings}


def leaderboard_json(rs: ResultSet) -> str:
    """:func:`leaderboard` as compact JSON safe to embed in a ``<script type="application/json">``; rows
    are arrays in :data:`ROW_FIELDS` order (the page turns them back into objects)."""
    text = json.dumps(_intern(leaderboard(rs)), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("</", "<\\/")
