"""``esr-bench figure visual``: the paper's figure-4 style comparison (HR crop, bicubic, each model's crop
with whole-image PSNR/SSIM, paper protocol) as a PNG, plus a JSON of the numbers next to it.

Put it in ``<results>/figures/`` and ``esr-bench report`` embeds it in the HTML.
"""

from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench.cli import UserError
    from bench.records import write_json
    from models import get_spec
    from reports.visual import render_png, visual_comparison

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
    try:
        res = visual_comparison(models, args.dataset, args.image, args.scale, box=box, device=args.device,
                                weights_dir=args.weights_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    out = Path(args.out) if args.out else Path(f"visual_{res.image}_x{args.scale}.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(render_png(res))
    tmp.replace(out)
    write_json(out.with_suffix(".json"), res.meta())
    for p in res.panels:
        print(f"{p.title:<14}" + ("" if p.psnr is None else f"PSNR {p.psnr:.2f} dB  SSIM {p.ssim:.4f}"))
    for n in res.notes:
        print(f"note: {n}")
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
