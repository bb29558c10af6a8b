"""Command-line option values checked before any work: ``--set KEY=VALUE`` model options and ``--device``.

``--set`` values are parsed against the zoo model's constructor: the keys it accepts are the keyword
parameters of the registry builder and, when the builder forwards ``**kwargs``, of the class it
returns (``models/<family>.py``); each value is converted to the parameter's declared type (its
annotation, else the type of its default):

* ``bool``: ``yes|true|on|1`` -> True, ``no|false|off|0`` -> False (case-insensitive); anything else
  is refused (``bool("no")`` would be True: the bug this module exists for);
* ``int`` / ``float``: Python literals (``42``, ``1e-5``); ``Literal[...]``: one of the listed values;
* ``tuple[...]``/``list[...]``: comma-separated items, each converted to its declared type;
* ``X | None``: ``none``/``null`` -> None, else as ``X``; ``str``: the text as given.

An unknown key or an unparsable value raises :class:`bench.errors.UserError` naming the accepted keys
(with their types) or values.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any

from .errors import UserError

__all__ = ["ModelOption", "model_options", "parse_bool", "parse_model_options", "resolve_device"]

_TRUE = ("yes", "true", "on", "1")
_FALSE = ("no", "false", "off", "0")
_SKIP = {"self", "scale"}  # scale has its own option (--scale)


class ModelOption(typing.NamedTuple):
    """One constructor keyword: its name, declared type (``typing`` object or a class) and default."""

    name: str
    type: Any
    default: Any

    def describe(self) -> str:
        return f"{self.name} ({_type_name(self.type)}, default {self.default!r})"


def parse_bool(text: str) -> bool:
    """``yes|true|on|1`` -> True, ``no|false|off|0`` -> False; anything else raises ValueError."""
    low = str(text).strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"expected one of {'|'.join(_TRUE)} or {'|'.join(_FALSE)}, got {text!r}")


def _type_name(tp: Any) -> str:
    if tp is inspect.Parameter.empty or tp is None:
        return "text"
    if typing.get_origin(tp) is typing.Literal:
        return "one of " + "|".join(str(a) for a in typing.get_args(tp))
    if tp is bool:
        return "bool: yes|no|true|false|1|0"
    if typing.get_origin(tp) is not None:
        return str(tp).replace("typing.", "")
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - an unresolvable annotation: fall back to the defaults' types
        return {}


def _params(fn: Callable[..., Any]) -> tuple[dict[str, ModelOption], bool]:
    """Keyword options of ``fn`` and whether it also takes ``**kwargs``."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return {}, True
    hints = _hints(fn)
    found: dict[str, ModelOption] = {}
    var_kw = False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
            continue
        if p.kind in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY) or p.name in _SKIP:
            continue
        tp = hints.get(p.name, p.annotation if not isinstance(p.annotation, str) else inspect.Parameter.empty)
        if tp is inspect.Parameter.empty and p.default not in (inspect.Parameter.empty, None):
            tp = type(p.default)
        found[p.name] = ModelOption(p.name, tp, None if p.default is inspect.Parameter.empty else p.default)
    return found, var_kw


def model_options(model: str) -> dict[str, ModelOption]:
    """The constructor options of zoo model ``model`` (see the module docstring), by name.

    Raises :class:`models.UnknownModelError` for an unknown name.
    """
    from models import get_spec

    spec = get_spec(model)
    options, var_kw = _params(spec.builder)
    if var_kw:  # the builder forwards **kwargs to the class it returns
        target = _hints(spec.builder).get("return")
        if isinstance(target, type):
            more, _ = _params(target.__init__)
            options = {**more, **options}
    for key, value in spec.kwargs.items():  # registry values are the effective defaults
        if key in options:
            options[key] = options[key]._replace(default=value)
        else:
            options[key] = ModelOption(key, type(value) if value is not None else inspect.Parameter.empty, value)
    return dict(sorted(options.items()))


def _convert(text: str, tp: Any) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is inspect.Parameter.empty or tp is Any or tp is str:
        return text
    if origin is typing.Literal:
        for choice in args:
            try:
                value = _convert(text, type(choice))
            except ValueError:
                continue
            if value == choice:
                return choice
        raise ValueError(f"expected one of {'|'.join(map(str, args))}, got {text!r}")
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and text.strip().lower() in ("none", "null"):
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(text, a)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors) or f"cannot parse {text!r}")
    if tp is bool:
        return parse_bool(text)
    if tp is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"expected an integer, got {text!r}") from None
    if tp is float:
        try:
            return float(text.strip())
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
    if origin in (tuple, list) or tp in (tuple, list):
        items = [t for t in text.split(",") if t.strip()]
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(items) != len(args):
                raise ValueError(f"expected {len(args)} comma-separated values, got {text!r}")
            values = [_convert(t, a) for t, a in zip(items, args)]
        else:
            item_type = args[0] if args else float
            values = [_convert(t, item_type) for t in items]
        return tuple(values) if (origin or tp) is tuple else values
    raise ValueError(f"options of type {_type_name(tp)} cannot be set from the command line")


def parse_model_options(model: str, texts: Iterable[str] | None, flag: str = "--set") -> dict[str, Any]:
    """``["tlc=no", "num_block=4"]`` -> ``{"tlc": False, "num_block": 4}`` for zoo model ``model``.

    Raises :class:`UserError` for a malformed item, an unknown key (the message lists the accepted
    keys and their types) or a value that does not parse as the key's type (the message says what
    is accepted). A key given twice is an error too.
    """
    texts = list(texts or [])
    if not texts:
        return {}
    accepted = model_options(model)
    listing = "; ".join(o.describe() for o in accepted.values()) or "none"
    parsed: dict[str, Any] = {}
    for text in texts:
        if "=" not in text:
            raise UserError(f"{flag} expects KEY=VALUE, got {text!r}")
        key, raw = (part.strip() for part in text.split("=", 1))
        if key not in accepted:
            raise UserError(f"{flag} {text}: model {model!r} has no option {key!r}; accepted: {listing}")
        if key in parsed:
            raise UserError(f"{flag} {key} given twice")
        try:
            parsed[key] = _convert(raw, accepted[key].type)
        except ValueError as exc:
            raise UserError(f"{flag} {text}: {key} is {_type_name(accepted[key].type)}; {exc}") from None
    return parsed


def resolve_device(text: str, flag: str = "--device") -> str:
    """Check a torch device string before any work: ``cpu``, ``cuda``, ``cuda:N``, ``mps``.

    Raises :class:`UserError` for a string torch does not parse (``foo``), a device type this build
    cannot use (``cuda`` on a CPU-only torch, ``cuda:3`` with two GPUs) or ``meta`` (no data, no
    numbers). Returns the string unchanged.
    """
    import torch

    try:
        dev = torch.device(str(text))
    except (RuntimeError, ValueError, TypeError):
        raise UserError(f"{flag} {text}: not a device; use cpu, cuda, cuda:N (or mps on Apple)") from None
    if dev.type == "cpu":
        return text
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"{flag} {text}: CUDA is not available in this torch {torch.__version__} "
                            "(CPU-only build or no GPU visible); use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UserError(f"{flag} {text}: only {torch.cuda.device_count()} CUDA device(s) visible")
        return text
    if dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise UserError(f"{flag} {text}: MPS is not available here; use --device cpu")
        return text
    raise UserError(f"{flag} {text}: device type {dev.type!r} is not supported; use cpu, cuda, cuda:N or mps")
