"""esr-bench model zoo: official architectures re-implemented, official checkpoints loaded strictly.

>>> from models import create_model, list_models
>>> net = create_model("agdn", scale=4, pretrained=True)   # doctest: +SKIP

Every family module registers its specs at import; add a model with one file plus one ``register``
call (see README, "Contributing").
"""

from __future__ import annotations

import importlib
import pkgutil

from .registry import (
    Checkpoint,
    ModelSpec,
    UnknownModelError,
    UnsupportedScaleError,
    create_model,
    get_spec,
    list_models,
    register,
)
from .weights import CheckpointError, WeightsNotFoundError

_NOT_FAMILIES = {"registry", "weights", "common", "published", "refs", "plugins"}

for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _mod not in _NOT_FAMILIES and not _mod.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod}")

from .plugins import load_plugins  # noqa: E402 - after the built-in zoo: plugins may import `models`
from .refs import ModelRefError, ModelSource, resolve_model  # noqa: E402

load_plugins()  # third-party zoo entries (entry-point group esr_bench.models)

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "ModelRefError",
    "ModelSource",
    "ModelSpec",
    "UnknownModelError",
    "UnsupportedScaleError",
    "WeightsNotFoundError",
    "create_model",
    "get_spec",
    "list_models",
    "register",
    "resolve_model",
]
