"""``esr-bench bench``: complexity, runtime and quality of every model x scale x dataset, then the report.

Records go to ``--out`` (default ``results/``) as ``<kind>/<model>_x<scale>[_<dataset>][_<variant>].json``;
a re-run reuses a finished record only when its identity (model, options, checkpoint sha256, dataset
content, protocol, runtime settings, device, versions; see bench/identity.py) is exactly the one asked
for now (resume after a crash or Ctrl-C); ``--force`` recomputes them.
"""

from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    from bench.errors import UserError
    from models import get_spec

    from ._bench_job import default_device, run_bench, summary_lines
    from ._model_args import build, has_own_options, own_refs, recipe

    own, sources, models = own_refs(args, list(args.models or ())), {}, []
    if has_own_options(args) and not own:
        raise UserError("--set/--weights/--key/--strip-prefix/--data-range apply to your own model: add its "
                        "reference to --models (path/to/arch.py:ClassName)")
    for m in args.models or ():
        if m in own:  # your model: built once now, so a wrong class or checkpoint fails before any work
            r = recipe(args, m)
            for s in args.scales or (4,):
                build(r, s)
            if r.name in sources:
                raise UserError(f"two references measure as {r.name!r}: run them one at a time")
            sources[r.name] = r
            models.append(r.name)
        else:
            models.append(get_spec(m).name)  # unknown names fail here with the list of known ones
    from bench.data import resolve_dataset

    for d in args.datasets or ():
        try:
            resolve_dataset(d)
        except (OSError, ValueError) as exc:  # DatasetError is a ValueError
            raise UserError(f"--datasets {d}: {exc}") from exc
    if args.runtime_size is not None and min(args.runtime_size) < 1:
        raise UserError(f"--runtime-size {args.runtime_size[0]} {args.runtime_size[1]}: height and width must be "
                        "positive LR pixel counts (default 256 256)")
    if (args.runtime_repeats is not None and args.runtime_repeats < 1) or (
            args.runtime_warmup is not None and args.runtime_warmup < 0):
        raise UserError("--runtime-repeats must be >= 1 and --runtime-warmup >= 0")
    if args.device:
        from bench.options import resolve_device

        resolve_device(args.device)
    from bench.outputs import check_output_dir

    check_output_dir(args.out, "--out", 4 * 1024 * 1024)
    runtime_options = None
    if args.runtime_repeats is not None or args.runtime_warmup is not None or args.runtime_size is not None:
        cuda = (args.device or default_device()).startswith("cuda")
        runtime_options = {"warmup": args.runtime_warmup if args.runtime_warmup is not None else (10 if cuda else 2),
                           "repeats": args.runtime_repeats if args.runtime_repeats is not None else (30 if cuda else 5)}
        if args.runtime_size:
            runtime_options["input_size"] = tuple(args.runtime_size)
    executor = None
    if args.executor != "local" or args.address:
        from bench.executors import make_executor

        try:
            executor = make_executor(args.executor, args.device or default_device(), address=args.address)
        except (RuntimeError, ValueError) as exc:
            raise UserError(f"--executor {args.executor}: {exc}") from exc
    try:
        summary = run_bench(models=models or None, sources=sources, scales=args.scales, datasets=args.datasets,
                            device=args.device, out=args.out, force=args.force, retry_failed=not args.keep_failed,
                            ablations=not args.no_ablations, runtime_options=runtime_options,
                            quality_options={"protocol": args.protocol}, weights_dir=args.weights_dir,
                            report=not args.no_report, visual=not args.no_visual,
                            progress=not args.no_progress,
                            fetch=args.fetch_weights, fetch_base_url=args.weights_base_url,
                            plot=(args.plot_dataset, args.plot_scale), executor=executor)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    finally:
        if executor is not None:
            executor.close()
    selected = set(models) if args.models else None
    print("\n".join(summary_lines(summary, selected, set(args.scales or ()))))
    return 1 if summary.failed and args.strict else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure the zoo (complexity, runtime, quality) and write the report",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", metavar="MODEL",
                   help="zoo names and your own model (path/to/arch.py:ClassName; default: the whole zoo)")
    p.add_argument("--scales", nargs="+", type=int, metavar="S", help="scales (default: all each model supports)")
    p.add_argument("--datasets", nargs="+", metavar="NAME|PATH",
                   help="datasets (default: those under $ESR_BENCH_DATA plus the built-in 'samples')")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--out", default="results", help="results directory (default: results/)")
    p.add_argument("--force", action="store_true", help="recompute records that already exist")
    p.add_argument("--keep-failed", action="store_true", help="do not retry records whose status is failed")
    p.add_argument("--protocol", choices=("paper", "ntire"), default="paper", help="quality protocol")
    p.add_argument("--no-ablations", action="store_true", help="skip the AGDN ablation complexity (tables 1-4)")
    p.add_argument("--runtime-warmup", type=int, default=None, help="warm-up forwards (default 10 GPU / 2 CPU)")
    p.add_argument("--runtime-repeats", type=int, default=None, help="timed forwards (default 30 GPU / 5 CPU)")
    p.add_argument("--runtime-size", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help="LR input size for runtime (default 256 256)")
    p.add_argument("--weights-dir", default=None, help="weights folder (default: $ESR_BENCH_WEIGHTS or cache)")
    p.add_argument("--fetch-weights", action=argparse.BooleanOptionalAction, default=False,
                   help="download missing official checkpoints first (sha256-verified); off by default: no network")
    p.add_argument("--weights-base-url", default=None, help="mirror serving <url>/<file> for --fetch-weights")
    p.add_argument("--plot-dataset", default="B100", help="dataset of the report's PSNR-complexity figure")
    p.add_argument("--plot-scale", type=int, default=4, help="scale of the report's PSNR-complexity figure")
    p.add_argument("--no-report", action="store_true", help="do not write report.html")
    p.add_argument("--no-visual", action="store_true", help="do not render the visual comparison figure")
    p.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)  # kept for old scripts: always on
    p.add_argument("--no-progress", action="store_true",
                   help="no progress lines (default: one line per finished measurement on stderr)")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where measurements run: here one after another (default), or as Ray tasks (runtime tasks "
                        "get a whole GPU each); records are written here either way. Needs: pip install "
                        "'esr-bench[ray]'")
    p.add_argument("--address", default=None,
                   help="with --executor ray: join this cluster ('auto' or host:port; default: start a local one)")
    p.add_argument("--strict", action="store_true", help="exit 1 when any measurement failed")
    from ._model_args import add_model_args

    add_model_args(p, positional=False)
    p.set_defaults(func=_run)
