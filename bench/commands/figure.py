"""``esr-bench figure visual``: the paper's figure-4 style comparison (HR crop, bicubic, each model's crop
with whole-image PSNR/SSIM, paper protocol) as a PNG, plus a JSON of the numbers next to it.

Put it in ``<results>/figures/`` and ``esr-bench report`` embeds it in the HTML.
"""

from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from bench.errors import UserError
    from bench.options import resolve_device
    from bench.outputs import check_output_dir, describe_write_error
    from models import get_spec
    from reports.visual import render_png, visual_comparison, write_figure

    from ._model_args import build, own_refs, recipe, require_weights

    own = own_refs(args, args.models)
    models = []
    for m in args.models:
        if m in own:
            module, source = build(recipe(args, m), args.scale)
            require_weights(module, source)
            models.append(module)
        else:
            models.append(get_spec(m).name)
    box = tuple(args.box) if args.box else None
    device = resolve_device(args.device)
    if args.out is not None and Path(args.out).is_dir():
        raise UserError(f"--out {args.out} is a folder; give the PNG file path, e.g. {Path(args.out) / 'visual.png'}")
    out_dir = Path(args.out).parent if args.out else Path(".")
    check_output_dir(out_dir, "--out", 4 * 1024 * 1024)
    try:
        res = visual_comparison(models, args.dataset, args.image, args.scale, box=box, device=device,
                                weights_dir=args.weights_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    out = Path(args.out) if args.out else Path(f"visual_{res.image}_x{args.scale}.png")
    # the numbers go to stdout first: a failed write below cannot lose them
    for p in res.panels:
        print(f"{p.title:<14}" + ("" if p.psnr is None else f"PSNR {p.psnr:.2f} dB  SSIM {p.ssim:.4f}"))
    for n in res.notes:
        print(f"note: {n}")
    sys.stdout.flush()
    try:
        write_figure(out, render_png(res), res.meta())
    except OSError as exc:
        raise UserError(f"could not write {out} ({describe_write_error(exc)}); the numbers are printed above"
                        ) from None
    print(out)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("figure", help="figures (visual comparison)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    fsub = p.add_subparsers(dest="figure", metavar="FIGURE", required=True)
    v = fsub.add_parser("visual", help="HR / bicubic / model crops side by side with PSNR/SSIM")
    v.add_argument("--models", nargs="+", required=True, metavar="MODEL",
                   help="zoo names and/or one path/to/arch.py:ClassName (with --weights)")
    v.add_argument("--dataset", required=True, help="dataset name under $ESR_BENCH_DATA or a folder (HR/, LR_bicubic/)")
    v.add_argument("--image", required=True, help="image name, e.g. img024 (Urban100) or baby (Set5)")
    v.add_argument("--scale", type=int, default=4)
    v.add_argument("--box", type=int, nargs=4, metavar=("X", "Y", "W", "H"), help="crop in HR pixels")
    v.add_argument("--device", default="cpu")
    v.add_argument("--weights-dir", default=None)
    v.add_argument("--out", default=None, help="PNG path (default visual_<image>_x<s>.png)")
    from ._model_args import add_model_args

    add_model_args(v, positional=False)
    v.set_defaults(func=_run)
