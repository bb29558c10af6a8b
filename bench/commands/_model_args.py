"""Shared model arguments: every command takes a model reference (a zoo name, ``path/to/arch.py:Class``,
``package.module:Class``; see :mod:`models.refs`) and the options of the researcher's own model.

    MODEL                 zoo name or reference
    --set KEY=VALUE       constructor option (repeatable)
    --weights FILE        checkpoint (torch.load weights_only=True, strict loading)
    --key NAME            state-dict nesting key (params_ema, params, ...; default: auto-detected)
    --strip-prefix P      key prefix to strip (module. for DataParallel checkpoints)
    --data-range R        input range of your model: 1 (default) or 255

A zoo name without ``--set``/``--weights`` is passed on as a name, so zoo records are unchanged; anything
else is built here (:func:`models.refs.resolve_model`) and measured as a module. Errors of a reference
(wrong class, a file that does not import, a checkpoint of another architecture) become one-line
:class:`~bench.cli.UserError`s (exit code 2).
"""

from __future__ import annotations

import argparse
from typing import Any

MODEL_HELP = ("zoo name (see `esr-bench models`), path/to/arch.py:ClassName or package.module:ClassName "
              "(your own model)")


def add_model_args(p: argparse.ArgumentParser, *, positional: bool = True, nargs: str | None = None,
                   set_help: str | None = None) -> None:
    """Add ``MODEL`` (when ``positional``) and the own-model options to parser ``p``."""
    if positional:
        p.add_argument("model", nargs=nargs, help=MODEL_HELP)
    g = p.add_argument_group("your own model (path/to/arch.py:ClassName or package.module:ClassName)")
    g.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help=set_help or "constructor option, e.g. --set channels=32 (repeatable)")
    g.add_argument("--weights", default=None, metavar="FILE",
                   help="checkpoint to load strictly (read with torch.load(weights_only=True))")
    g.add_argument("--key", default=None, help="state-dict nesting key, e.g. params_ema (default: auto-detected)")
    g.add_argument("--strip-prefix", default=None, metavar="PREFIX", help="key prefix to strip, e.g. module.")
    g.add_argument("--data-range", type=float, default=None, metavar="R",
                   help="input range your model expects: 1 (default) or 255")


def _user_error(msg: str) -> Exception:
    from bench.errors import UserError

    return UserError(msg)


def parse_options(items: list[str] | None, ref: str | None = None) -> dict[str, Any]:
    """``--set KEY=VALUE`` items -> constructor options (the one call site of the option parser).

    For a zoo model the values are typed by its constructor (:func:`bench.options.parse_model_options`:
    ``tlc=no`` is False, an unknown key lists the accepted ones). Your own model's class is imported only
    when it is built, so its values are read as literals: ``true/false/yes/no/on/off`` -> bool, then int,
    float, else the string; an option the class does not take is refused when it is built."""
    from models.refs import is_zoo_ref

    if ref is not None and items and is_zoo_ref(ref):
        from bench.options import parse_model_options
        from models import get_spec

        return parse_model_options(get_spec(ref).name, items)
    options: dict[str, Any] = {}
    for text in items or ():
        if "=" not in text:
            raise _user_error(f"--set expects KEY=VALUE, got {text!r}")
        key, raw = text.split("=", 1)
        low = raw.strip().lower()
        value: Any
        if low in ("true", "false", "yes", "no", "on", "off"):
            value = low in ("true", "yes", "on")
        else:
            try:
                value = int(raw)
            except ValueError:
                try:
                    value = float(raw)
                except ValueError:
                    value = raw
        options[key.strip()] = value
    return options


def has_own_options(args: argparse.Namespace) -> bool:
    return any(getattr(args, k, None) for k in ("set", "weights", "key", "strip_prefix")) or \
        getattr(args, "data_range", None) is not None


def recipe(args: argparse.Namespace, ref: str):  # noqa: ANN201 - models.refs.ModelRecipe
    """The :class:`models.refs.ModelRecipe` of ``ref`` with the command line's own-model options."""
    from models.refs import ModelRecipe

    return ModelRecipe(ref=ref, options=parse_options(getattr(args, "set", None), ref),
                       weights=getattr(args, "weights", None), key=getattr(args, "key", None),
                       strip_prefix=getattr(args, "strip_prefix", None), data_range=getattr(args, "data_range", None),
                       weights_dir=getattr(args, "weights_dir", None))


def build(rec: Any, scale: int) -> tuple[Any, Any]:
    """``rec.build(scale)`` with reference errors turned into one-line :class:`~bench.cli.UserError`s."""
    from models.refs import ModelRefError

    try:
        return rec.build(scale)
    except ModelRefError as exc:
        raise _user_error(str(exc)) from None


def resolve(args: argparse.Namespace, ref: str, scale: int, *, name_ok: bool = True) -> tuple[Any, Any]:
    """``(model, source)``: the zoo name itself (``source=None``) when ``ref`` is a zoo name without own-model
    options and ``name_ok``, else the built module and its :class:`models.refs.ModelSource`."""
    from models import get_spec
    from models.refs import is_zoo_ref

    if name_ok and is_zoo_ref(ref) and not has_own_options(args):
        return get_spec(ref).name, None
    return build(recipe(args, ref), scale)


def annotate(record: Any, source: Any) -> dict[str, Any]:
    """The record as a JSON-able dict with ``model_source`` (identity) and ``user_model`` when built here."""
    from bench.records import to_jsonable

    d = to_jsonable(record)
    if source is not None:
        d["model_source"] = source.record()
        d["user_model"] = source.user_model
    return d


def own_refs(args: argparse.Namespace, refs: list[str]) -> list[str]:
    """The non-zoo references of ``refs``; the own-model options apply to them, so at most one may be given
    together with ``--weights``/``--set``/``--key``/``--strip-prefix``/``--data-range``."""
    from models.refs import is_zoo_ref

    own = [r for r in refs if not is_zoo_ref(r)]
    if len(own) > 1 and has_own_options(args):
        raise _user_error(f"--set/--weights/--key/--strip-prefix/--data-range apply to one model, but {len(own)} "
                          f"references were given ({', '.join(own)}): run once per model with the same --out")
    return own


def require_weights(model: Any, source: Any) -> None:
    """Refuse quality numbers of a randomly initialised own model (a plausible wrong number)."""
    if source is not None and source.weights is None and any(True for _ in model.parameters()):
        raise _user_error(f"{source.ref}: no weights given, and the PSNR of a randomly initialised model means "
                          "nothing: pass --weights FILE")
