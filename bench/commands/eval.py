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
from typing import Any

from ..errors import UserError


def _fmt(v: float | None, digits: int) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return f"{v:.{digits}f}"


def _identified(record: Any, args: argparse.Namespace, scale: int, options: dict[str, Any],
                recipe: Any = None, source: Any = None) -> dict[str, Any]:
    """The record as JSON with its identity (bench/identity.py), the model's record name and a time.

    ``recipe``/``source``: your own model (models/refs.py): its file, class, options and weights are the
    model part of the identity, and the record carries ``model_source`` and ``user_model``."""
    import time

    from ..identity import quality_identity, stamp
    from ._model_args import annotate

    rec = annotate(record, source)
    name = source.name if source is not None else args.model
    identity = quality_identity(name, scale, args.dataset, options, weights_dir=args.weights_dir,
                                protocol=args.protocol, lr_source=args.lr, tile=args.tile,
                                tile_overlap=args.tile_overlap, compute_ssim=args.ssim, source=recipe)
    rec["model"] = identity["model"]["model"]
    rec["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return stamp(rec, identity)


def _check_options(model: str, scale: int, options: dict[str, Any]) -> None:
    """Build the model once without weights so a rejected option fails before the dataset is read."""
    from models import create_model

    try:
        create_model(model, scale, **options)
    except (TypeError, ValueError) as exc:
        raise UserError(f"model {model!r} rejected --set {', '.join(f'{k}={v!r}' for k, v in options.items())}: "
                        f"{exc}") from None


def _print_text(record: Any) -> None:
    p = record.protocol
    print(f"{record.model} x{record.scale} on {record.dataset} ({record.dataset_path})")
    print(f"protocol {p['name']}: {p['channel']} channel, border {p['border']}, LR {p['lr_source']}"
          + (f", tiles {p['tile']}/{p['tile_overlap']}" if p.get("tile") else ""))
    if record.status != "ok":
        print(f"status {record.status}: {record.message}")
        return
    for r in record.per_image:
        print(f"  {r['name']:<24} {_fmt(r['psnr'], 4):>9} dB  {_fmt(r['ssim'], 5):>8}")
    print(f"mean over {record.n_images} images: PSNR {_fmt(record.psnr, 4)} dB  SSIM {_fmt(record.ssim, 5)}")


def _run(args: argparse.Namespace) -> int:
    from models import get_spec

    from ..options import parse_model_options, resolve_device
    from ..outputs import RECORD_BYTES, check_output_dir, describe_write_error
    from ..quality import evaluate
    from ..records import write_json

    # every option checked before any work
    if args.tile is not None and args.tile <= 0:
        raise UserError("--tile must be a positive number of LR pixels")
    if args.tile is not None and not 0 <= args.tile_overlap < args.tile:
        raise UserError(f"--tile-overlap must be in [0, {args.tile}), got {args.tile_overlap}")
    from models.refs import is_zoo_ref

    from ._model_args import build, recipe, require_weights

    scale = args.scale
    if scale is None:
        scale = 4
    device = resolve_device(args.device)
    model: Any = args.model
    own, source = None, None
    own_weights = args.weights or args.key or args.strip_prefix or args.data_range is not None
    if not is_zoo_ref(args.model) or own_weights:
        # your own model, or a zoo architecture with your weights: built here, measured as a module
        own = recipe(args, args.model)
        model, source = build(own, scale)
        require_weights(model, source)  # no PSNR from random weights
        options: dict[str, Any] = {}
    else:
        spec = get_spec(args.model)
        if scale not in spec.scales:
            raise UserError(f"model {spec.name!r} supports scales {list(spec.scales)}, not x{scale}")
        options = parse_model_options(spec.name, args.set)
        if options:
            _check_options(spec.name, scale, options)
    if args.out:
        check_output_dir(Path(args.out) / "quality", "--out", RECORD_BYTES)
    if args.save:
        check_output_dir(args.save, "--save", RECORD_BYTES)
    record = evaluate(
        model,
        scale,
        args.dataset,
        protocol=args.protocol,
        lr_source=args.lr,
        device=device,
        tile=args.tile,
        tile_overlap=args.tile_overlap,
        save_dir=Path(args.save) if args.save else None,
        weights_dir=args.weights_dir,
        progress=not args.no_progress and sys.stderr.isatty(),
        compute_ssim=args.ssim,
        model_options=options or None,
    )
    # the result goes to stdout first: a failure to write the record below cannot lose it
    rec = _identified(record, args, scale, options, own, source)
    if args.json:
        print(json.dumps(rec, indent=2))
    else:
        _print_text(record)
    sys.stdout.flush()
    save_failed = [n for n in record.notes if n.startswith("saving SR images")]
    for note in record.notes:
        if note not in save_failed:
            print(f"esr-bench: note: {note}", file=sys.stderr)
    if args.out:
        from ._bench_job import Task

        # the official model's record shares bench's file; a variant (--set) gets its own (see _bench_job.py)
        dest = Path(args.out) / Task("quality", rec["model"], scale, rec["dataset"], rec.get("variant")).relpath()
        try:
            write_json(dest, rec)
        except OSError as exc:
            raise UserError(f"could not write {dest} ({describe_write_error(exc)}); the result is printed "
                            "above") from None
    if record.status != "ok":
        print(f"esr-bench: {record.status}: {record.message}", file=sys.stderr)
        return 1
    if save_failed:
        raise UserError(save_failed[0])
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
                   help="LR source. bicubic: MATLAB-exact imresize(HR, 1/s, 'bicubic'); files: the dataset's "
                        "LR folder; auto (default): paper protocol: the exact bicubic, and LR files, if any, "
                        "are compared with it (differences reported); ntire protocol: the LR files")
    p.add_argument("--tile", type=int, default=None, help="tile size in LR pixels (default: whole image)")
    p.add_argument("--tile-overlap", type=int, default=16, help="overlap between tiles in LR pixels")
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:N (checked before any work)")
    ssim = p.add_mutually_exclusive_group()
    ssim.add_argument("--ssim", dest="ssim", action="store_true", default=None, help="compute SSIM (ntire)")
    ssim.add_argument("--no-ssim", dest="ssim", action="store_false", help="skip SSIM")
    p.add_argument("--save", default=None, metavar="DIR", help="save SR images (PNG) into DIR")
    p.add_argument("--out", default=None, metavar="DIR", help="also write the record to DIR/quality/*.json")
    p.add_argument("--weights-dir", default=None, help="weights folder (default: $ESR_BENCH_WEIGHTS or cache)")
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from ._model_args import add_model_args

    add_model_args(p, set_help="model constructor option, typed by the constructor (e.g. --set tlc=no, "
                               "--set num_block=4); an unknown key lists the accepted ones (repeatable)")
    p.set_defaults(func=_run)
