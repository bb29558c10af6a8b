"""``esr-bench models``: list the zoo (name, family, scales, params, data range, weights present, origin:
``esr-bench`` or the ``<distribution> <version>`` of a plugin registered through the ``esr_bench.models``
entry-point group)."""

from __future__ import annotations

import argparse
import json
import sys

from bench.quality import is_weight_free
from models import create_model, get_spec, list_models
from models.plugins import PLUGIN_ERRORS, origin
from models.weights import default_weights_dir


def zoo_table(weights_dir: str | None = None) -> list[dict]:
    """One row per zoo model; ``params`` is the exact ``sum(p.numel())`` per scale (random init)."""
    directory = default_weights_dir() if weights_dir is None else weights_dir
    from pathlib import Path

    rows = []
    for name in list_models():
        spec = get_spec(name)
        params = {}
        weight_free = False
        for s in spec.scales:
            model = create_model(name, s)
            params[s] = sum(p.numel() for p in model.parameters())
            weight_free = is_weight_free(model)
        weights = {
            s: (Path(directory) / c.file).is_file() for s, c in sorted(spec.checkpoints.items())
        }
        rows.append(
            {
                "name": spec.name,
                "display_name": spec.label,
                "family": spec.family,
                "scales": list(spec.scales),
                "params": params,
                "data_range": spec.data_range,
                "has_checkpoint": spec.has_checkpoint,
                "weight_free": weight_free,
                "weights_present": weights,
                "paper": spec.paper,
                "notes": spec.notes,
                "origin": origin(spec.name),
            }
        )
    return rows


def _run(args: argparse.Namespace) -> int:
    rows = zoo_table(args.weights_dir)
    for err in PLUGIN_ERRORS:
        print(f"esr-bench: warning: {err}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'model':<16}{'family':<14}{'scales':<10}{'params':<30}{'range':<7}{'weights':<24}origin")
    for r in rows:
        params = "/".join(f"{v:,}" for v in r["params"].values())
        scales = ",".join(f"x{s}" for s in r["scales"])
        if r["weight_free"]:
            weights = "none needed (weight-free)"
        elif not r["has_checkpoint"]:
            weights = "no public checkpoint"
        else:
            weights = " ".join(f"x{s}:{'yes' if ok else 'missing'}" for s, ok in r["weights_present"].items())
        print(f"{r['name']:<16}{r['family']:<14}{scales:<10}{params:<30}{r['data_range']:<7g}{weights:<24}"
              f"{r['origin']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the model zoo", description=__doc__)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--weights-dir", default=None, help="weights folder (default: $ESR_BENCH_WEIGHTS or cache)")
    p.set_defaults(func=_run)
