"""Model registry in the spirit of timm: one :class:`ModelSpec` per zoo entry.

A spec says how to build a model (family builder + constructor arguments), which scales it supports,
where its official checkpoint lives (file name, sha256, source repository/commit/path), how to read
that checkpoint (state-dict key, key prefix to strip), the input ``data_range`` the network expects
(1.0 or 255.0) and the numbers its authors published, so reports can compare against them.

Family modules (``models/<family>.py``) call :func:`register` at import time; ``models/__init__.py``
imports every family, so ``create_model`` / ``list_models`` see the whole zoo.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

__all__ = [
    "Checkpoint",
    "ModelSpec",
    "register",
    "get_spec",
    "list_models",
    "create_model",
    "UnknownModelError",
    "UnsupportedScaleError",
]


class UnknownModelError(KeyError):
    """Raised for a model name the registry does not know."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "unknown model"


class UnsupportedScaleError(ValueError):
    """Raised when a model is asked for a scale it has no upsampler (or checkpoint) for."""


@dataclass(frozen=True)
class Checkpoint:
    """An official checkpoint file as its authors published it.

    ``file`` is the local file name looked up in the weights directory; the official download URL is
    ``https://github.com/<source_repo>/raw/<commit>/<source_path>``.
    """

    file: str
    sha256: str
    source_repo: str
    commit: str
    source_path: str
    state_dict_key: str | None = None  # "params", "params_ema", ... or None for a raw state dict
    strip_prefix: str = ""  # e.g. "module." for DataParallel checkpoints
    bytes: int | None = None

    @property
    def url(self) -> str:
        return f"https://github.com/{self.source_repo}/raw/{self.commit}/{self.source_path}"


@dataclass(frozen=True)
class ModelSpec:
    """Everything the suite knows about one zoo entry."""

    name: str  # zoo name, lower case ("agdn", "rlfn-ntire22")
    family: str  # architecture family ("AGDN"), also the models/<family>.py module
    builder: Callable[..., nn.Module]  # builder(scale=int, **kwargs) -> nn.Module
    scales: tuple[int, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)  # constructor arguments for every scale
    checkpoints: Mapping[int, Checkpoint] = field(default_factory=dict)  # per scale; empty = arch only
    data_range: float = 1.0  # input range the network expects: 1.0 or 255.0
    display_name: str = ""
    paper: str = ""  # venue / citation key, e.g. "CVPRW24"
    published_name: str | None = None  # row name in models.published tables, e.g. "AGDN"
    multi_scale: bool = False  # one network serves every scale (CARN): forward(x, scale)
    notes: str = ""

    @property
    def label(self) -> str:
        return self.display_name or self.name

    @property
    def has_checkpoint(self) -> bool:
        return bool(self.checkpoints)

    def checkpoint(self, scale: int) -> Checkpoint | None:
        return self.checkpoints.get(int(scale))

    def published(self, scale: int) -> dict[str, Any]:
        """Published figures for this model at ``scale`` (empty dict when none)."""
        from .published import published_row

        return published_row(self.published_name, scale) if self.published_name else {}


_REGISTRY: dict[str, ModelSpec] = {}
_ALIASES: dict[str, str] = {}


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def register(spec: ModelSpec, aliases: tuple[str, ...] = ()) -> ModelSpec:
    """Add ``spec`` to the zoo (idempotent for the same object)."""
    key = _norm(spec.name)
    if key in _REGISTRY and _REGISTRY[key] is not spec:
        raise ValueError(f"model {spec.name!r} is registered twice")
    _REGISTRY[key] = spec
    for alias in aliases:
        _ALIASES[_norm(alias)] = key
    return spec


def get_spec(name: str) -> ModelSpec:
    """The spec of ``name`` (case-insensitive, ``_`` and ``-`` equivalent, aliases accepted)."""
    key = _norm(name)
    key = _ALIASES.get(key, key)
    try:
        return _REGISTRY[key]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownModelError(f"unknown model {name!r}; known models: {known}") from None


def list_models(pattern: str | None = None, pretrained: bool | None = None) -> list[str]:
    """Zoo names, sorted; ``pattern`` is an fnmatch pattern; ``pretrained`` filters on checkpoints."""
    import fnmatch

    names = sorted(_REGISTRY)
    if pattern:
        names = [n for n in names if fnmatch.fnmatch(n, _norm(pattern))]
    if pretrained is not None:
        names = [n for n in names if _REGISTRY[n].has_checkpoint == pretrained]
    return names


def create_model(
    name: str,
    scale: int | None = None,
    pretrained: bool | str | Path = False,
    *,
    weights_dir: str | Path | None = None,
    verify_sha256: bool = True,
    **variant_options: Any,
) -> nn.Module:
    """Build zoo model ``name`` at ``scale``, optionally with its official weights, in eval mode.

    ``pretrained``: ``False`` (random init), ``True`` (the registry's checkpoint, found through
    ``weights_dir`` / ``$ESR_BENCH_WEIGHTS`` / the user cache) or a path to a checkpoint file.
    ``variant_options`` override constructor arguments (e.g. ``tlc=False`` for AGDN).
    The returned module carries ``esr_spec``, ``esr_scale`` and ``data_range`` attributes.
    Checkpoints always load with ``strict=True``; any mismatch raises :class:`CheckpointError`.
    """
    spec = get_spec(name)
    if scale is None:
        scale = 4 if 4 in spec.scales else spec.scales[-1]
    scale = int(scale)
    if scale not in spec.scales:
        raise UnsupportedScaleError(
            f"model {spec.name!r} supports scales {list(spec.scales)}, not x{scale}"
        )
    kwargs = {**spec.kwargs, **variant_options}
    model = spec.builder(scale=scale, **kwargs)
    if pretrained is not False and pretrained is not None:
        from .weights import load_checkpoint_into

        load_checkpoint_into(
            model, spec, scale, pretrained, weights_dir=weights_dir, verify_sha256=verify_sha256
        )
    model.esr_spec = spec
    model.esr_scale = scale
    model.data_range = float(spec.data_range)
    return model.eval()
