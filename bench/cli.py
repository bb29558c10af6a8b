"""The ``esr-bench`` command line.

Sub-commands live in ``bench/commands/<name>.py``; each module defines ``register(subparsers)`` that
adds its parser and sets ``func`` (called with the parsed namespace, returning an exit code). They
are discovered at start-up, so a new command is one new file.

Errors: a :class:`bench.errors.UserError` (bad path, image, manifest, option, device, record) and the
model zoo's own input errors are printed on one line with exit code 2; any other exception is an
internal error (one line, exit code 1). ``esr-bench --debug COMMAND`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from . import __version__, commands
from .errors import EXIT_USER_ERROR, UserError

__all__ = ["UserError", "build_parser", "main"]

_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)  # a full or read-only disk: the user's to fix


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esr-bench",
        description="Benchmark efficient super-resolution models the way the field publishes them.",
    )
    parser.add_argument("--version", action="version", version=f"esr-bench {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (default: one line, exit code 2 for bad input)")
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

    debug = bool(getattr(args, "debug", False))
    try:
        return int(args.func(args) or 0)
    except (UserError, CheckpointError, WeightsNotFoundError, UnknownModelError, UnsupportedScaleError) as exc:
        if debug:
            raise
        print(f"esr-bench: error: {_message(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("esr-bench: interrupted; finished results are kept", file=sys.stderr)
        return 130
    except OSError as exc:
        if debug or exc.errno not in _WRITE_ERRNOS:
            if debug:
                raise
            return _internal(exc)
        from .outputs import describe_write_error

        where = f" writing {exc.filename}:" if exc.filename else ""
        print(f"esr-bench: error:{where} {describe_write_error(exc)}; results finished before are kept, "
              "free some space or choose another --out", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no raw traceback without --debug
        if debug:
            raise
        return _internal(exc)


def _internal(exc: BaseException) -> int:
    print(f"esr-bench: internal error: {type(exc).__name__}: {_message(exc)} "
          "(run `esr-bench --debug ...` for the traceback and report it)", file=sys.stderr)
    return 1


def _message(exc: BaseException) -> str:
    """The message of ``exc``; multi-line messages (a dataset's list of problems) are kept as they are."""
    text = str(exc).strip()
    return text or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
