"""``esr-bench weights``: fetch, verify and locate the official checkpoints."""

from __future__ import annotations

import argparse
import json
import sys

from models import get_spec
from models.weights import checkpoint_files, copy_weights, default_weights_dir, fetch_weights, sha256_file


def _fetch(args: argparse.Namespace) -> int:
    names = args.models or None
    for n in names or []:
        get_spec(n)  # unknown names fail before any download
    results = fetch_weights(names, dest=args.dest, base_url=args.base_url, force=args.force,
                            timeout=args.timeout)
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        for r in results:
            also = f" (also {', '.join(r.also)})" if r.also else ""
            line = f"{r.status:<10} {r.model} x{r.scale}{also}: {r.path}"
            print(line + (f"  ({r.message})" if r.message else ""))
    bad = [r for r in results if r.status in ("failed", "rejected")]
    if bad:
        print(f"esr-bench: {len(bad)} checkpoint(s) not fetched", file=sys.stderr)
        return 1
    return 0


def _verify(args: argparse.Namespace) -> int:
    directory = args.dest or default_weights_dir()
    from pathlib import Path

    status = 0
    for entry in checkpoint_files(args.models or None):
        path = Path(directory) / entry.checkpoint.file
        if not path.is_file():
            state = "missing"
        elif sha256_file(path) == entry.checkpoint.sha256:
            state = "ok"
        else:
            state, status = "BAD-SHA256", 1
        name, scale = entry.users[0]
        also = f" (also {', '.join(entry.others)})" if entry.others else ""
        print(f"{state:<11} {name} x{scale}{also}: {path}")
    return status


def _path(args: argparse.Namespace) -> int:
    print(default_weights_dir())
    return 0


def _install(args: argparse.Namespace) -> int:
    copied = copy_weights(args.source, args.dest)
    for p in copied:
        print(f"installed {p}")
    print(f"{len(copied)} verified checkpoint(s) copied")
    return 0 if copied else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("weights", help="fetch / verify official checkpoints", description=__doc__)
    wsub = p.add_subparsers(dest="weights_command", metavar="ACTION", required=True)

    f = wsub.add_parser("fetch", help="download missing checkpoints (sha256-verified, atomic)")
    f.add_argument("models", nargs="*", help="zoo names (default: every model with a checkpoint)")
    f.add_argument("--base-url", default=None, help="mirror serving <base-url>/<file> instead of GitHub")
    f.add_argument("--dest", default=None, help="target folder (default: $ESR_BENCH_WEIGHTS or cache)")
    f.add_argument("--force", action="store_true", help="download even when a verified file exists")
    f.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=_fetch)

    v = wsub.add_parser("verify", help="check sha256 of the checkpoints present")
    v.add_argument("models", nargs="*")
    v.add_argument("--dest", default=None)
    v.set_defaults(func=_verify)

    i = wsub.add_parser("install", help="copy verified checkpoints from a local folder into the cache")
    i.add_argument("source")
    i.add_argument("--dest", default=None)
    i.set_defaults(func=_install)

    w = wsub.add_parser("path", help="print the weights folder in use")
    w.set_defaults(func=_path)
