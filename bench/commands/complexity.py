"""``esr-bench complexity``: parameters, FLOPs/MACs, activations and convs under every convention."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable

_FIELDS = (
    ("params", "params (sum numel, after forward)", 1),
    ("params_before_forward", "params before forward", 1),
    ("params_thop", "params (thop)", 1),
    ("fvcore_flops_lr256", "fvcore FLOPs, LR 256x256 (NTIRE 24-26)", 1e9),
    ("ntire22_hook_flops_lr256", "NTIRE 22/23 hook FLOPs, LR 256x256", 1e9),
    ("torch_flops_lr256", "torch FlopCounterMode, LR 256x256", 1e9),
    ("thop_macs_hr1280x720", "thop Multi-Adds, HR 1280x720 (papers)", 1e9),
    ("ptflops_macs_hr1280x720", "ptflops MACs, HR 1280x720", 1e9),
    ("fvcore_flops_hr1280x720", "fvcore FLOPs, HR 1280x720", 1e9),
    ("ntire_activations_lr256", "NTIRE activations, LR 256x256", 1e6),
    ("ntire_convs_lr256", "NTIRE conv calls", 1),
    ("complete_macs_lr256", "complete MACs, LR 256x256 (every op)", 1e9),
    ("complete_macs_hr1280x720", "complete MACs, HR 1280x720 (every op)", 1e9),
)


def _fmt(value: int | None, unit: float) -> str:
    if value is None:
        return "failed"
    if unit == 1e9:
        return f"{value / 1e9:.4f} G  ({value:,})"
    if unit == 1e6:
        return f"{value / 1e6:.4f} M  ({value:,})"
    return f"{value:,}"


def _print_record(rec: dict) -> None:
    print(f"{rec['model']} x{rec['scale']}  (status {rec['status']})")
    for key, label, unit in _FIELDS:
        print(f"  {label:<42}{_fmt(rec.get(key), unit)}")
    if rec.get("fvcore_by_operator"):
        ops = ", ".join(f"{k}={v:,}" for k, v in rec["fvcore_by_operator"].items())
        print(f"  {'fvcore by operator':<42}{ops}")
    for counter, kinds in rec.get("uncounted", {}).items():
        if kinds:
            print(f"  {'uncounted by ' + counter:<42}{', '.join(kinds)}")
    for w in rec.get("warnings", []):
        print(f"  WARNING: {w}")
    if rec.get("foreign_state"):
        print(f"  {'cleaned copy (foreign counter state)':<42}{'; '.join(rec['foreign_state'])}")
    if rec.get("by_module"):
        print(f"  {'module':<20}{'params':>10}{'fvcore G':>12}{'hook G':>12}{'acts M':>10}{'convs':>7}")
        for name, row in rec["by_module"].items():
            fv = (row["fvcore_flops_lr256"] or 0) / 1e9
            hook = row["ntire22_hook_flops_lr256"] / 1e9
            print(f"  {name:<20}{row['params']:>10,}{fv:>12.4f}{hook:>12.4f}"
                  f"{row['ntire_activations_lr256'] / 1e6:>10.3f}{row['ntire_convs_lr256']:>7}")


def _print_by_op(rec: dict) -> None:
    """The complete count per operator (LR 256x256) and each convention's distance from it."""
    from bench.complexity.complete import category_of
    from bench.complexity.crosscheck import distances

    total = rec.get("complete_macs_lr256")
    if not total:
        print("  complete count: not available (the first pass failed)")
        return
    print("  complete count by operator, LR 256x256 (MACs; rule: bench/complexity/complete.py)")
    print(f"  {'operator':<48}{'category':<15}{'MACs':>18}{'share':>8}")
    for op, n in sorted(rec["complete_by_operator"].items(), key=lambda kv: -kv[1]):
        print(f"  {op:<48}{category_of(op):<15}{n:>18,}{100 * n / total:>7.2f}%")
    print(f"  {'total':<63}{total:>18,}")
    if rec.get("complete_unknown_ops"):
        print(f"  operators the complete rule does not know (counted 0): {', '.join(rec['complete_unknown_ops'])}")
    print(f"  {'convention':<30}{'MACs':>18}{'complete':>18}{'distance':>10}")
    for d in distances(rec):
        print(f"  {d['field']:<30}{d['macs']:>18,}{d['complete']:>18,}{100 * d['rel']:>+9.2f}%")


def _print_summary(recs: Iterable[dict]) -> None:
    head = f"{'model':<16}{'x':>2}{'params':>10}{'thop par':>10}{'fvcore G':>10}{'hook G':>10}{'thop G':>9}" \
           f"{'acts M':>9}{'convs':>6}  status"
    print(head)

    def g(v: int | None, unit: float, fmt: str) -> str:
        if v is None:
            return "-"
        return format(v, fmt) if unit == 1 else format(v / unit, fmt)

    for r in recs:
        print(f"{r['model']:<16}{r['scale']:>2}{g(r['params'], 1, ',d'):>10}{g(r['params_thop'], 1, ',d'):>10}"
              f"{g(r['fvcore_flops_lr256'], 1e9, '.4f'):>10}{g(r['ntire22_hook_flops_lr256'], 1e9, '.4f'):>10}"
              f"{g(r['thop_macs_hr1280x720'], 1e9, '.2f'):>9}{g(r['ntire_activations_lr256'], 1e6, '.2f'):>9}"
              f"{g(r['ntire_convs_lr256'], 1, 'd'):>6}  {r['status']}{' (warnings)' if r['warnings'] else ''}")


def _measure_one(job: tuple) -> dict:
    import torch

    from bench.complexity import measure_complexity

    from ._model_args import annotate

    torch.set_num_threads(1)
    name, scale, by_module, execution, *source = job
    return annotate(measure_complexity(name, scale, by_module=by_module, execution=execution), *source or [None])


def _jobs_for(args: argparse.Namespace) -> list[tuple]:
    from bench.errors import UserError
    from models import get_spec, list_models
    from models.refs import is_zoo_ref

    from ._model_args import has_own_options, resolve

    if args.all:
        if args.model:
            raise UserError("give either MODEL or --all, not both")
        if has_own_options(args):
            raise UserError("--set/--weights/--key/--strip-prefix/--data-range apply to one MODEL, not to --all")
        names = list_models()
        jobs = [(n, s, args.by_module, args.execution) for n in names for s in get_spec(n).scales
                if args.scale is None or s == args.scale]
        if not jobs:
            raise UserError(f"no zoo model supports x{args.scale} (scales: "
                            f"{sorted({s for n in names for s in get_spec(n).scales})})")
        return jobs
    if not args.model:
        raise UserError("name a MODEL (see `esr-bench models`) or pass --all")
    if not is_zoo_ref(args.model):  # your own model: built here, at --scale (default 4)
        model, source = resolve(args, args.model, args.scale or 4)
        return [(model, args.scale or 4, args.by_module, args.execution, source)]
    spec = get_spec(args.model)
    scale = args.scale if args.scale is not None else (4 if 4 in spec.scales else spec.scales[-1])
    if scale not in spec.scales:
        raise UserError(f"model {spec.name!r} supports scales {list(spec.scales)}, not x{scale}")
    model, source = resolve(args, spec.name, scale)
    return [(model, scale, args.by_module, args.execution, source)]


def _run(args: argparse.Namespace) -> int:
    jobs = _jobs_for(args)
    if args.out:
        from pathlib import Path

        from bench.outputs import RECORD_BYTES, check_output_dir

        check_output_dir(Path(args.out) / "complexity", "--out", RECORD_BYTES * len(jobs))
    workers = max(1, min(args.jobs or min(2, os.cpu_count() or 1), len(jobs)))
    if workers == 1:
        recs = [_measure_one(j) for j in jobs]
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        import fvcore.nn  # noqa: F401 - import the counters once, before forking the workers
        import ptflops  # noqa: F401
        import thop  # noqa: F401

        from bench.complexity.measure import _environment

        _environment()  # warm bench.env's caches once for every worker

        # longest first (attention models with many TLC windows, small scales = large HR inputs)
        order = sorted(range(len(jobs)), key=lambda i: (not jobs[i][0].startswith("agdn"), jobs[i][1]))
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
            futures = {i: pool.submit(_measure_one, jobs[i]) for i in order}
            recs = [futures[i].result() for i in range(len(jobs))]
    # printed first: a failed write below cannot lose the result
    if args.json:
        print(json.dumps(recs if args.all else recs[0], indent=2))
    elif args.all:
        _print_summary(recs)
    else:
        _print_record(recs[0])
        if args.by_op:
            _print_by_op(recs[0])
    if args.out:
        import sys

        from bench.errors import UserError
        from bench.outputs import describe_write_error
        from bench.records import write_json

        sys.stdout.flush()
        for r in recs:
            dest = Path(args.out) / "complexity" / f"{r['model']}_x{r['scale']}.json"
            if not r.get("user_model"):  # a zoo model's record carries its identity, as bench writes it
                from bench.identity import complexity_identity, stamp

                stamp(r, complexity_identity(r["model"], r["scale"]))
            try:
                write_json(dest, r)
            except OSError as exc:
                raise UserError(f"could not write {dest} ({describe_write_error(exc)}); the result is printed "
                                "above") from None
    return 0 if all(r["status"] == "ok" for r in recs) else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "complexity",
        help="count params / FLOPs / MACs / activations / convs under every convention",
        description=__doc__ + " Counting needs no weights and runs shape-only (no arithmetic) when it can.",
    )
    p.add_argument("--scale", type=int, default=None, help="upscaling factor (default: x4 or the model's only one)")
    p.add_argument("--json", action="store_true", help="print the record as JSON (a list with --all)")
    p.add_argument("--by-module", action="store_true", help="add a per top-level module breakdown")
    p.add_argument("--by-op", action="store_true",
                   help="the complete count per operator and each convention's distance from it")
    p.add_argument("--all", action="store_true", help="every zoo model at every scale (or at --scale)")
    p.add_argument("--execution", choices=("auto", "shape", "real"), default="auto",
                   help="shape-only counting (auto falls back to real tensors when a model reads values)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes for --all (default: up to 2)")
    p.add_argument("--out", default=None, help="also write <out>/complexity/<model>_x<scale>.json records")
    from ._model_args import add_model_args

    add_model_args(p, nargs="?")
    p.set_defaults(func=_run)
