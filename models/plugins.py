"""Third-party zoo entries through the ``esr_bench.models`` entry-point group (as timm / BasicSR users add
architectures).

A package declares, in its ``pyproject.toml``::

    [project.entry-points."esr_bench.models"]
    mynet = "mypkg.esr:specs"

The object named may be a :class:`~models.registry.ModelSpec`, an iterable of them, or a callable returning
either; a module whose import calls :func:`models.register` itself is accepted too (the entry point then
names the module, ``mypkg.esr``). Every spec registered this way is recorded with its origin
(``<distribution> <version>``), which ``esr-bench models`` shows. A plugin that fails to load never breaks
the suite: the failure is kept in :data:`PLUGIN_ERRORS` (one line each) and shown by ``esr-bench models``.
"""

from __future__ import annotations

import importlib.metadata as md
from collections.abc import Iterable
from typing import Any

from .registry import _REGISTRY, ModelSpec, _norm, register

__all__ = ["ENTRY_POINT_GROUP", "load_plugins", "origin", "PLUGIN_ERRORS"]

ENTRY_POINT_GROUP = "esr_bench.models"
BUILTIN_ORIGIN = "esr-bench"
_ORIGINS: dict[str, str] = {}
PLUGIN_ERRORS: list[str] = []
_LOADED: set[tuple[str, str]] = set()


def origin(name: str) -> str:
    """Where zoo entry ``name`` comes from: ``esr-bench`` (built in) or ``<distribution> <version>``."""
    return _ORIGINS.get(_norm(name), BUILTIN_ORIGIN)


def _specs(obj: Any) -> list[ModelSpec]:
    if isinstance(obj, ModelSpec):
        return [obj]
    if callable(obj) and not isinstance(obj, type):
        return _specs(obj())
    if isinstance(obj, Iterable) and not isinstance(obj, (str, bytes)):
        specs = list(obj)
        if all(isinstance(s, ModelSpec) for s in specs):
            return specs
    if hasattr(obj, "__spec__") and hasattr(obj, "__name__"):  # a module that registered its specs on import
        return []
    raise TypeError(f"expected a ModelSpec, a list of them or a callable returning them, got {type(obj).__name__}")


def load_plugins() -> list[str]:
    """Register the specs of every ``esr_bench.models`` entry point not loaded yet; returns the names added."""
    added: list[str] = []
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        where = f"{dist.name} {dist.version}" if dist is not None else ep.value
        if (where, ep.value) in _LOADED:
            continue
        _LOADED.add((where, ep.value))
        before = set(_REGISTRY)
        try:
            specs = _specs(ep.load())
            for spec in specs:
                register(spec)
        except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, never fatal
            text = str(exc).strip().splitlines()
            PLUGIN_ERRORS.append(f"plugin {ep.name} ({where}, {ep.value}): {type(exc).__name__}: "
                                 f"{text[0] if text else ''}")
            continue
        for key in sorted(set(_REGISTRY) - before):
            _ORIGINS[key] = where
            added.append(key)
    return added
