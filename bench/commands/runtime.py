"""``esr-bench runtime``: time one model (robust or NTIRE protocol), or compare several interleaved.

Examples::

    esr-bench runtime agdn-s --scale 4 --device cpu --input 256x256 --json
    esr-bench runtime rlfn-ntire22 --scale 4 --device cuda --hr 1280x720 --dtype fp16 --channels-last
    esr-bench runtime rlfn-ntire22 --scale 4 --device cuda --mode ntire --dataset valid=DIV2K_LSDIR_valid
    esr-bench runtime agdn-s --compare agdn --year 2024 --device cuda      # ratios to rlfn-ntire22
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.records import to_jsonable, write_json


def _warmup_arg(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'auto', got {text!r}") from None


def _user_error(msg: str) -> Exception:
    from bench.errors import UserError

    return UserError(msg)


def _write(path: Path, rec: Any) -> Path:
    """Write the record after it was printed; a failed write is a one-line error, nothing temporary left."""
    from bench.outputs import describe_write_error

    try:
        return write_json(path, rec)
    except OSError as exc:
        raise _user_error(f"could not write {path} ({describe_write_error(exc)}); the result is printed above"
                          ) from None


def _lr_size(args: argparse.Namespace) -> tuple[int, int] | None:
    from bench.sizes import lr_size_for_hr, parse_size

    try:
        if args.hr:
            w, h = parse_size(args.hr)
            return lr_size_for_hr(args.scale, (h, w))  # the Multi-Adds rule: ceil(H/s) x ceil(W/s)
        if args.input:
            return parse_size(args.input)
    except ValueError as exc:
        raise _user_error(str(exc)) from None
    return None if args.dataset else (256, 256)


def _datasets(args: argparse.Namespace) -> tuple[dict[str, list] | None, str | None]:
    """``--dataset NAME`` (one split) or ``--dataset valid=NAME --dataset test=NAME`` (NTIRE splits)."""
    if not args.dataset:
        return None, None
    from bench.runtime import dataset_lr_images

    splits: dict[str, list] = {}
    names = []
    for item in args.dataset:
        split, _, name = item.rpartition("=")
        try:
            canonical, images = dataset_lr_images(name, args.scale, split or None)
        except ImportError as exc:
            raise _user_error(str(exc)) from None
        except (FileNotFoundError, KeyError, ValueError) as exc:
            raise _user_error(f"dataset {name!r}: {exc}") from None
        splits[split or canonical] = images
        names.append(canonical)
    return splits, "+".join(names)


def _fmt(v: Any, nd: int = 2) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def _print_record(rec: Any) -> None:
    d = to_jsonable(rec)
    if d["status"] != "ok":
        print(f"{d['model']} x{d['scale']}: {d['status']}: {d['message']}")
        return
    size = "x".join(map(str, d["input_size"])) if d["input_size"] else d.get("dataset")
    print(
        f"{d['model']} x{d['scale']} on {d['env'].get('device_name') or d['device']} ({d['device']}), "
        f"mode {d['mode']}, {d['dtype']}, LR {size}, threads {d['protocol'].get('threads')}, "
        f"warm-up {d['warmup']}, timed {d['repeats']}"
    )
    if d["mode"] != "ntire":  # ntire mode: per-split means and Ave Time only (no pooled statistic)
        print(
            f"  median {_fmt(d['median_ms'])} ms  mean {_fmt(d['mean_ms'])}  std {_fmt(d['std_ms'])}  "
            f"min {_fmt(d['min_ms'])}  p90 {_fmt(d['p90_ms'])}  IQR {_fmt(d['iqr_ms'])}  CV {_fmt(d['cv'], 3)}"
        )
    for split, info in d.get("splits", {}).items():
        print(f"  split {split}: {info['n']} images, mean {info['mean_ms']:.2f} ms, first {info['first_ms']:.2f} ms")
    if d.get("ave_time_ms") is not None:
        print(f"  NTIRE Ave Time {d['ave_time_ms']:.2f} ms (mean of split means)")
    print(
        f"  peak memory: forward {_fmt(d['peak_mem_forward_mib'])} MiB, total {_fmt(d['peak_mem_total_mib'])} MiB"
        " (weights + input + forward)"
        + (f", CUDA max allocated {_fmt(d['cuda_max_allocated_mib'])} MiB" if d.get("cuda_max_allocated_mib")
           is not None else "")
    )


def _run(args: argparse.Namespace) -> int:
    from bench.runtime import compare_runtime, measure_runtime, measure_runtime_isolated

    if (isinstance(args.warmup, int) and args.warmup < 0) or args.repeats < 1:
        raise _user_error("--warmup must be >= 0 and --repeats >= 1")
    if args.threads is not None and args.threads < 1:
        raise _user_error("--threads must be >= 1")
    if args.mode == "ntire" and args.warmup:
        raise _user_error("--mode ntire reproduces the official loop, which has no warm-up; drop --warmup")
    from ._model_args import annotate, resolve

    model, source = resolve(args, args.model, args.scale)  # a zoo name, or your model built here
    if source is not None and args.fresh_process:
        raise _user_error("--fresh-process measures zoo models only (the model is rebuilt by name in the child)")
    size = _lr_size(args)
    if args.out:
        from bench.outputs import check_output_dir

        check_output_dir(Path(args.out) / "runtime", "--out")
    if args.compare or args.year or args.reference:
        if args.mode != "robust" or args.dataset:
            raise _user_error("--compare/--year/--reference use the robust protocol on --input/--hr sizes")
        if args.compile or args.fresh_process or args.warmup == "auto":
            raise _user_error("--compile, --fresh-process and --warmup auto are not available with --compare")
        try:
            rec: Any = compare_runtime(
                [model, *(args.compare or [])], args.scale, reference=args.reference, year=args.year,
                device=args.device, input_size=size or (256, 256),
                warmup=10 if args.warmup is None else args.warmup, rounds=args.repeats, order=args.order,
                dtype=args.dtype, channels_last=args.channels_last, threads=args.threads,
                cudnn_benchmark=args.cudnn_benchmark,
            )
        except ValueError as exc:
            raise _user_error(str(exc)) from None
        if rec.status != "ok":
            raise _user_error(rec.message)
        if args.json:
            print(json.dumps(to_jsonable(rec), indent=2))
        else:
            for name, r in rec.records.items():
                ratio = rec.ratios.get(name)
                if r.status != "ok":  # e.g. invalid output: no time is a result
                    print(f"{name:<16} {r.status}: {r.message}")
                    continue
                print(f"{name:<16} median {r.median_ms:9.2f} ms  IQR {r.iqr_ms:7.2f}  ratio {_fmt(ratio, 3)}")
            if rec.message:
                print(rec.message)
        if args.out:
            sys.stdout.flush()
            _write(Path(args.out) / "runtime" / f"compare_x{args.scale}.json", rec)
        return 0 if rec.status == "ok" else 2

    datasets, dataset_name = _datasets(args)
    if datasets is not None and args.mode != "ntire":
        raise _user_error("--dataset times each image once, the NTIRE way: add --mode ntire")
    measure = measure_runtime_isolated if args.fresh_process else measure_runtime
    try:
        rec = measure(
            model, args.scale, device=args.device, input_size=size, warmup=args.warmup,
            repeats=args.repeats, mode=args.mode, dtype=args.dtype, channels_last=args.channels_last,
            compile=args.compile, threads=args.threads, cudnn_benchmark=args.cudnn_benchmark,
            datasets=datasets, dataset_name=dataset_name, memory=not args.no_memory,
        )
    except ValueError as exc:
        raise _user_error(str(exc)) from None
    data = annotate(rec, source)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        _print_record(rec)
    if args.out:
        parts = [f"{rec.model}_x{rec.scale}"]
        if dataset_name:
            parts.append(dataset_name)
        variant = [args.device, args.mode, args.dtype] + (["cl"] if args.channels_last else [])
        variant += ["compile"] if args.compile else []
        parts.append("-".join(variant))
        sys.stdout.flush()
        path = _write(Path(args.out) / "runtime" / ("_".join(parts) + ".json"), data)
        print(f"wrote {path}", file=sys.stderr)
    if rec.status == "skipped" and args.device == "cuda":
        print(f"esr-bench: error: {rec.message}", file=sys.stderr)
        return 2
    return 0 if rec.status == "ok" else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "runtime",
        help="time a model and measure its peak memory (robust or NTIRE protocol)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--scale", type=int, required=True, help="upscaling factor")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--input", metavar="HxW", help="LR input size (default 256x256)")
    src.add_argument("--hr", metavar="WxH", help="HR output size, width x height (1280x720 = 720p)")
    src.add_argument(
        "--dataset", action="append", metavar="[SPLIT=]NAME",
        help="time every LR image of a dataset (NTIRE mode); repeat for splits, e.g. valid=X test=Y",
    )
    p.add_argument(
        "--warmup", type=_warmup_arg, default=None,
        help="warm-up forwards, or 'auto' (until timings settle); robust default 10, ntire: none",
    )
    p.add_argument("--repeats", type=int, default=30, help="timed forwards (ntire without a dataset: images)")
    p.add_argument("--mode", choices=("robust", "ntire"), default="robust")
    p.add_argument("--dtype", choices=("fp32", "fp16", "bf16"), default="fp32")
    p.add_argument("--channels-last", action="store_true", help="model and input in channels-last layout")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (compile time is in warm-up)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: 1 on CPU in both modes and --compare, for reproducible "
                        "timings; the challenge sandbox times with 1 too)")
    p.add_argument("--cudnn-benchmark", action="store_true", help="enable cudnn.benchmark (off, like NTIRE)")
    p.add_argument(
        "--fresh-process", action="store_true",
        help="measure in a new Python process (first-image start-up costs as in the official one-model run)",
    )
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory forward")
    p.add_argument("--compare", nargs="+", metavar="MODEL", help="also time these models, interleaved")
    p.add_argument("--year", type=int, choices=(2024, 2025, 2026), help="ratios to that NTIRE year's baseline")
    p.add_argument("--reference", help="ratios to this model (overrides --year)")
    p.add_argument("--order", choices=("interleaved", "random"), default="interleaved")
    p.add_argument("--out", help="also write the record under OUT/runtime/")
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    from ._model_args import add_model_args

    add_model_args(p)
    p.set_defaults(func=_run)
