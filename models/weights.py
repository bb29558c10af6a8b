"""Finding, verifying, fetching and loading official checkpoints.

Resolution order for a registry checkpoint: an explicit ``weights_dir`` argument, else the directory
named by ``$ESR_BENCH_WEIGHTS``, else the user cache ``$XDG_CACHE_HOME/esr-bench/weights``
(``~/.cache/esr-bench/weights``). ``esr-bench weights fetch`` fills the cache from the official URLs
(or ``--base-url``), verifying sha256 and writing atomically.

Checkpoints are untrusted input: they are read with ``torch.load(..., weights_only=True)`` and loaded
with ``strict=True``; every mismatch is reported with the missing, unexpected and mis-shaped keys.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .registry import Checkpoint, ModelSpec, get_spec, list_models

__all__ = [
    "CheckpointError",
    "WeightsNotFoundError",
    "default_weights_dir",
    "resolve_checkpoint",
    "sha256_file",
    "read_state_dict",
    "load_checkpoint_into",
    "FetchResult",
    "CheckpointFile",
    "checkpoint_files",
    "fetch_weights",
]

COMMON_NESTING_KEYS = ("params_ema", "params", "state_dict", "model_state_dict", "model", "net", "net_g")


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read or does not fit the model (never a silent partial load)."""


class WeightsNotFoundError(FileNotFoundError):
    """The checkpoint file is not in the weights directory."""


def default_weights_dir() -> Path:
    """``$ESR_BENCH_WEIGHTS`` if set, else the user cache directory."""
    env = os.environ.get("ESR_BENCH_WEIGHTS")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "esr-bench" / "weights"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _fetch_hint(spec: ModelSpec) -> str:
    return f"esr-bench weights fetch {spec.name}"


def resolve_checkpoint(spec: ModelSpec, scale: int, weights_dir: str | Path | None = None) -> Path:
    """Path of the official checkpoint of ``spec`` at ``scale``; raises with a fetch hint if missing."""
    ckpt = spec.checkpoint(scale)
    if ckpt is None:
        if not spec.checkpoints:
            raise CheckpointError(
                f"model {spec.name!r} has no public checkpoint (architecture only): use "
                "pretrained=False for complexity/runtime, or pass a checkpoint path"
            )
        raise CheckpointError(
            f"model {spec.name!r} has no official checkpoint for x{scale} "
            f"(available: {sorted(spec.checkpoints)})"
        )
    directory = Path(weights_dir).expanduser() if weights_dir else default_weights_dir()
    path = directory / ckpt.file
    if not path.is_file():
        raise WeightsNotFoundError(
            f"checkpoint {ckpt.file} for {spec.name} x{scale} not found in {directory} "
            f"(set ESR_BENCH_WEIGHTS to a folder holding it, or run `{_fetch_hint(spec)}`; "
            f"official URL: {ckpt.url})"
        )
    return path


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused to unpickle: the file holds objects other than tensors (a pickled module "
            f"or code), which weights_only=True does not execute. Re-save it as a plain state dict "
            f"(torch.save(model.state_dict(), ...)). Detail: {str(exc).splitlines()[0]}"
        ) from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointError(
            f"{path}: cannot read checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            f"the file is corrupt or truncated, or not a PyTorch checkpoint "
            f"(size {path.stat().st_size} bytes, sha256 {sha256_file(path)[:16]}...)"
        ) from exc


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(torch.is_tensor(v) for v in obj.values())


def read_state_dict(
    path: str | Path, key: str | None = None, strip_prefix: str = ""
) -> dict[str, torch.Tensor]:
    """Read a state dict safely: ``weights_only`` load, optional nesting key, prefix stripping.

    With ``key=None`` a raw state dict is expected; a dict nested under one of the usual keys
    (``params_ema``, ``params``, ``state_dict``, ...) is unwrapped automatically.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(f"checkpoint {path} does not exist")
    obj = _torch_load(path)
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: expected a state dict, found {type(obj).__name__}")
    if key:
        if key not in obj:
            raise CheckpointError(
                f"{path}: no state-dict key {key!r}; top-level keys: {sorted(map(str, obj))[:12]}"
            )
        obj = obj[key]
    elif not _is_state_dict(obj):
        for k in COMMON_NESTING_KEYS:
            if k in obj and _is_state_dict(obj[k]):
                obj = obj[k]
                break
    if not _is_state_dict(obj):
        raise CheckpointError(
            f"{path}: not a state dict of tensors (top-level keys: {sorted(map(str, obj))[:12]})"
        )
    sd = dict(obj)
    if strip_prefix:
        sd = {(k[len(strip_prefix) :] if k.startswith(strip_prefix) else k): v for k, v in sd.items()}
    return sd


def check_state_dict(model: nn.Module, sd: Mapping[str, torch.Tensor], what: str) -> None:
    """Raise :class:`CheckpointError` unless ``sd`` matches ``model`` key for key and shape for shape."""
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    mis_shaped = [
        f"{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(v.shape)}"
        for k, v in own.items()
        if k in sd and tuple(sd[k].shape) != tuple(v.shape)
    ]
    if not (missing or unexpected or mis_shaped):
        return

    def _few(items: list[str]) -> str:
        return ", ".join(items[:8]) + (f" (+{len(items) - 8} more)" if len(items) > 8 else "")

    parts = [f"{what} does not fit the model (strict loading)"]
    if missing:
        parts.append(f"missing keys ({len(missing)}): {_few(missing)}")
    if unexpected:
        parts.append(f"unexpected keys ({len(unexpected)}): {_few(unexpected)}")
    if mis_shaped:
        parts.append(f"shape mismatches ({len(mis_shaped)}): {_few(mis_shaped)}")
        if any("upsampler" in s or "upscale" in s or "tail" in s for s in mis_shaped) or len(
            mis_shaped
        ) <= 2:
            parts.append("hint: a shape mismatch in the last layers usually means a checkpoint of another scale")
    if missing and unexpected and len(unexpected) >= len(own) // 2:
        parts.append("hint: most keys differ: this looks like a checkpoint of another model")
    raise CheckpointError("; ".join(parts))


def load_checkpoint_into(
    model: nn.Module,
    spec: ModelSpec,
    scale: int,
    pretrained: bool | str | Path,
    *,
    weights_dir: str | Path | None = None,
    verify_sha256: bool = True,
) -> Path:
    """Load the official (``pretrained=True``) or a given checkpoint into ``model``, strictly."""
    ckpt: Checkpoint | None = spec.checkpoint(scale)
    if pretrained is True:
        path = resolve_checkpoint(spec, scale, weights_dir)
        assert ckpt is not None
        if verify_sha256 and ckpt.sha256:
            digest = sha256_file(path)
            if digest != ckpt.sha256:
                raise CheckpointError(
                    f"{path}: sha256 {digest} differs from the official {ckpt.sha256}; the file is "
                    f"corrupt or not the official one. Delete it and run `{_fetch_hint(spec)}`"
                )
        key, prefix = ckpt.state_dict_key, ckpt.strip_prefix
    else:
        path = Path(pretrained)
        key = ckpt.state_dict_key if ckpt else None
        prefix = ckpt.strip_prefix if ckpt else ""
        raw = _torch_load(path) if path.is_file() else None
        if key and isinstance(raw, Mapping) and key not in raw:
            key = None  # a user checkpoint saved differently: fall back to auto-detection
    sd = read_state_dict(path, key, prefix)
    check_state_dict(model, sd, f"checkpoint {path} for {spec.name} x{scale}")
    model.load_state_dict(sd, strict=True)
    return path


@dataclass(frozen=True)
class CheckpointFile:
    """One official checkpoint file and every zoo entry that loads it.

    ``users`` lists ``(zoo name, scale)`` pairs in registry order; the first one names the file in
    listings and the others are shown as "also" (e.g. ``agdn`` x4 and its fast inference form
    ``agdn-fast`` x4 load the same ``AGDN_x4.pth``: it is fetched, verified and copied once).
    """

    checkpoint: Checkpoint
    users: tuple[tuple[str, int], ...]

    @property
    def others(self) -> tuple[str, ...]:
        """The zoo entries after the first, as ``"name xS"`` strings."""
        return tuple(f"{n} x{s}" for n, s in self.users[1:])


def checkpoint_files(names: Iterable[str] | None = None) -> list[CheckpointFile]:
    """The distinct checkpoint files of ``names`` (default: every zoo model with a checkpoint).

    Files are told apart by (file name, sha256); unknown names raise ``KeyError`` from
    :func:`models.registry.get_spec` before anything is read.
    """
    groups: dict[tuple[str, str], list[tuple[str, int]]] = {}
    ckpts: dict[tuple[str, str], Checkpoint] = {}
    for name in list(names) if names else list_models(pretrained=True):
        spec = get_spec(name)
        for scale, ckpt in sorted(spec.checkpoints.items()):
            key = (ckpt.file, ckpt.sha256)
            ckpts.setdefault(key, ckpt)
            users = groups.setdefault(key, [])
            if (spec.name, scale) not in users:
                users.append((spec.name, scale))
    return [CheckpointFile(ckpts[k], tuple(u)) for k, u in groups.items()]


@dataclass
class FetchResult:
    """Outcome of fetching one file: ``status`` is downloaded, present, failed or rejected.

    ``also`` names the other zoo entries (``"name xS"``) that load the same file.
    """

    model: str
    scale: int
    file: str
    status: str
    path: str
    message: str = ""
    also: tuple[str, ...] = ()


def _download(url: str, dest: Path, timeout: float) -> str:
    """Stream ``url`` into a temporary file next to ``dest``; return its sha256 and leave it as .part."""
    h = hashlib.sha256()
    part = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url, timeout=timeout) as resp, open(part, "wb") as f:  # noqa: S310
        while block := resp.read(1 << 20):
            h.update(block)
            f.write(block)
    return h.hexdigest()


def fetch_weights(
    names: Iterable[str] | None = None,
    *,
    dest: str | Path | None = None,
    base_url: str | None = None,
    force: bool = False,
    timeout: float = 60.0,
) -> list[FetchResult]:
    """Download missing official checkpoints of ``names`` (default: every zoo model) into ``dest``.

    Files come from the official GitHub URL, or ``<base_url>/<file>`` for a mirror. A file whose
    sha256 differs from the registry's is rejected and never lands under its final name (downloads
    go to ``<file>.part`` and are renamed atomically only after verification).
    """
    directory = Path(dest).expanduser() if dest else default_weights_dir()
    directory.mkdir(parents=True, exist_ok=True)
    results: list[FetchResult] = []
    for entry in checkpoint_files(names):
        ckpt = entry.checkpoint
        model, scale = entry.users[0]
        target = directory / ckpt.file
        about = {"model": model, "scale": scale, "file": ckpt.file, "path": str(target), "also": entry.others}
        if target.is_file() and not force and sha256_file(target) == ckpt.sha256:
            results.append(FetchResult(status="present", **about))
            continue
        url = f"{base_url.rstrip('/')}/{ckpt.file}" if base_url else ckpt.url
        part = target.with_name(target.name + ".part")
        try:
            digest = _download(url, target, timeout)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            part.unlink(missing_ok=True)
            results.append(FetchResult(status="failed", message=f"{url}: {exc}", **about))
            continue
        if digest != ckpt.sha256:
            part.unlink(missing_ok=True)
            results.append(FetchResult(status="rejected", **about,
                                       message=f"{url}: sha256 {digest} != official {ckpt.sha256}; not saved"))
            continue
        os.replace(part, target)
        results.append(FetchResult(status="downloaded", **about))
    return results


def copy_weights(src: str | Path, dest: str | Path | None = None) -> list[Path]:
    """Copy every known checkpoint found in ``src`` into the weights directory (offline install)."""
    directory = Path(dest).expanduser() if dest else default_weights_dir()
    directory.mkdir(parents=True, exist_ok=True)
    copied = []
    for entry in checkpoint_files():
        ckpt = entry.checkpoint
        s = Path(src) / ckpt.file
        if s.is_file() and sha256_file(s) == ckpt.sha256:
            with tempfile.NamedTemporaryFile(dir=directory, delete=False) as tmp:
                shutil.copyfile(s, tmp.name)
            os.replace(tmp.name, directory / ckpt.file)
            copied.append(directory / ckpt.file)
    return copied
