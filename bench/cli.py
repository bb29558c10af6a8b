"""The ``esr-bench`` command line.

Sub-commands live in ``bench/commands/<name>.py``; each module defines ``register(subparsers)`` that
adds its parser and sets ``func`` (called with the parsed namespace, returning an exit code). They
are discovered at start-up, so a new command is one new file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from . import __version__, commands
from .errors import UserError

__all__ = ["UserError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esr-bench",
        description="Benchmark efficient super-resolution models the way the field publishes them.",
    )
    parser.add_argument("--version", action="version", version=f"esr-bench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from models import CheckpointError, UnknownModelError, UnsupportedScaleError, WeightsNotFoundError

    try:
        return int(args.func(args) or 0)
    except (UserError, CheckpointError, WeightsNotFoundError, UnknownModelError, UnsupportedScaleError) as exc:
        print(f"esr-bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("esr-bench: interrupted; finished results are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
