"""``esr-bench eval``: PSNR/SSIM of a zoo model on a dataset under the paper or NTIRE protocol.

Examples::

    esr-bench eval agdn --scale 4 --dataset Set5                 # paper protocol (Y, border = scale)
    esr-bench eval rlfn-ntire22 --dataset /data/ntire --protocol ntire   # RGB PSNR, border 4
    esr-bench eval bicubic --scale 2 --dataset samples --save out/sr --json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from ..cli import UserError


def _is_zoo(ref: str) -> bool:
    from models.refs import is_zoo_ref

    return is_zoo_ref(ref)


def _fmt(v: float | None, digits: int) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return f"{v:.{digits}f}"


def _run(args: argparse.Namespace) -> int:
    from ..quality import evaluate
    from ..records import write_json

    if args.tile is not None and args.tile <= 0:
        raise UserError("--tile must be a positive number of LR pixels")
    if args.tile is not None and not 0 <= args.tile_overlap < args.tile:
        raise UserError(f"--tile-overlap must be in [0, {args.tile}), got {args.tile_overlap}")
    scale = args.scale
    if scale is None:
        scale = 4
    from ._model_args import annotate, parse_options, require_weights, resolve

    options = parse_options(args.set)
    model, source = args.model, None
    if not _is_zoo(args.model) or args.weights or args.key or args.strip_prefix or args.data_range is not None:
        model, source = resolve(args, args.model, scale, name_ok=False)  # your model, or your weights
        options = {}
        require_weights(model, source)
    try:
        record = evaluate(
            model,
            scale,
            args.dataset,
            protocol=args.protocol,
            lr_source=args.lr,
            device=args.device,
            tile=args.tile,
            tile_overlap=args.tile_overlap,
            save_dir=Path(args.save) if args.save else None,
            weights_dir=args.weights_dir,
            progress=not args.no_progress and sys.stderr.isatty(),
            compute_ssim=args.ssim,
            model_options=options or None,
        )
    except TypeError as exc:
        if options:
            raise UserError(f"model option rejected ({', '.join(options)}): {exc}") from exc
        raise
    data = annotate(record, source)
    if args.out:
        dest = Path(args.out) / "quality" / f"{record.model}_x{record.scale}_{record.dataset}.json"
        write_json(dest, data)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        p = record.protocol
        print(f"{record.model} x{record.scale} on {record.dataset} ({record.dataset_path})")
        print(f"protocol {p['name']}: {p['channel']} channel, border {p['border']}, LR {p['lr_source']}"
              + (f", tiles {p['tile']}/{p['tile_overlap']}" if p.get("tile") else ""))
        if record.status != "ok":
            print(f"status {record.status}: {record.message}")
        else:
            for r in record.per_image:
                print(f"  {r['name']:<24} {_fmt(r['psnr'], 4):>9} dB  {_fmt(r['ssim'], 5):>8}")
            print(f"mean over {record.n_images} images: PSNR {_fmt(record.psnr, 4)} dB  SSIM {_fmt(record.ssim, 5)}")
    if record.status != "ok":
        print(f"esr-bench: {record.status}: {record.message}", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="PSNR/SSIM of a model on a dataset (paper or NTIRE protocol)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=int, default=None, help="upscaling factor (default 4)")
    p.add_argument("--dataset", required=True,
                   help="Set5, Set14, B100, Urban100, Manga109 (under $ESR_BENCH_DATA), samples, or a folder")
    p.add_argument("--protocol", choices=("paper", "ntire"), default="paper",
                   help="paper: Y channel, border = scale, SSIM; ntire: RGB PSNR, border 4")
    p.add_argument("--lr", choices=("auto", "files", "bicubic"), default="auto",
                   help="LR images from the dataset's LR folder (files) or MATLAB bicubic of HR (default: auto)")
    p.add_argument("--tile", type=int, default=None, help="tile size in LR pixels (default: whole image)")
    p.add_argument("--tile-overlap", type=int, default=16, help="overlap between tiles in LR pixels")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, ...)")
    ssim = p.add_mutually_exclusive_group()
    ssim.add_argument("--ssim", dest="ssim", action="store_true", default=None, help="compute SSIM (ntire)")
    ssim.add_argument("--no-ssim", dest="ssim", action="store_false", help="skip SSIM")
    p.add_argument("--save", default=None, metavar="DIR", help="save SR images (PNG) into DIR")
    p.add_argument("--out", default=None, metavar="DIR", help="also write the record to DIR/quality/*.json")
    p.add_argument("--weights-dir", default=None, help="weights folder (default: $ESR_BENCH_WEIGHTS or cache)")
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from ._model_args import add_model_args

    add_model_args(p, set_help="model constructor option, e.g. --set tlc=false (repeatable)")
    p.set_defaults(func=_run)
