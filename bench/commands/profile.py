"""``esr-bench profile``: where one forward's time and memory go (per module and per operator).

Examples::

    esr-bench profile agdn-s --scale 4 --input 256x256 --threads 1
    esr-bench profile rlfn-ntire22 --scale 4 --depth 1 --top 15 --json
    esr-bench profile agdn-s-fast --scale 4 --out results/          # results/profile/<...>.json
"""

from __future__ import annotations

import argparse
import json
import sys

from bench.errors import UserError


def _run(args: argparse.Namespace) -> int:
    from bench.profile import default_out_path, format_profile, profile_forward
    from bench.records import to_jsonable, write_json
    from bench.sizes import parse_size
    from models import create_model, get_spec

    try:
        size = parse_size(args.input)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.threads is not None and args.threads < 1:
        raise UserError("--threads must be >= 1")
    if args.top < 1 or args.depth < 0 or args.repeats < 1 or args.warmup < 0:
        raise UserError("--top and --repeats must be >= 1, --depth and --warmup >= 0")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError("--device cuda: CUDA is not available on this machine")
    spec = get_spec(args.model)  # an unknown name is a user error (exit 2) with the known names
    scale = args.scale if args.scale is not None else (4 if 4 in spec.scales else spec.scales[-1])
    model = create_model(spec.name, scale)
    rec = profile_forward(model, scale, name=spec.name, input_size=size, device=args.device, threads=args.threads,
                          warmup=args.warmup, repeats=args.repeats, depth=args.depth, by_shape=args.by_shape,
                          top=None if args.all_ops else args.top)
    if rec.status == "failed":
        raise UserError(rec.message)
    if args.json:
        print(json.dumps(to_jsonable(rec), indent=2))
    else:
        print(format_profile(rec, top=args.top))
    if args.out:
        path = write_json(default_out_path(args.out, rec), rec)
        print(f"wrote {path}", file=sys.stderr)
    return 0 if rec.status == "ok" else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "profile",
        help="per-module and per-operator time and memory of one forward (torch.profiler)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="zoo model name (see esr-bench models)")
    p.add_argument("--scale", type=int, help="upscaling factor (default: x4, or the model's largest)")
    p.add_argument("--input", metavar="HxW", default="256x256", help="LR input size (default 256x256)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--depth", type=int, default=2, help="module levels with their own row (default 2)")
    p.add_argument("--top", type=int, default=25, help="operator rows shown (default 25)")
    p.add_argument("--all-ops", action="store_true", help="keep every operator row in the record")
    p.add_argument("--by-shape", action="store_true", help="one operator row per input shape")
    p.add_argument("--warmup", type=int, default=2, help="untimed forwards first (default 2)")
    p.add_argument("--repeats", type=int, default=5, help="timed forwards for the unprofiled median (default 5)")
    p.add_argument("--out", help="also write the record under OUT/profile/")
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    p.set_defaults(func=_run)
