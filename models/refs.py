"""Model references: one string names any model the suite can measure.

=============================================  ==================================================================
reference                                      what it builds
=============================================  ==================================================================
``agdn``                                       a zoo entry (``esr-bench models``; plugins included)
``path/to/arch.py:ClassName``                  the researcher's own file, imported in this process
``python.module:ClassName``                    a class of an installed package
``submission.toml#07``                         an NTIRE submission team: refused here, its code runs only in the
                                               challenge sandbox (``esr-bench challenge validate/run``)
``weights.pth``                                a bare checkpoint: refused with the form to use (architecture
                                               detection by ``spandrel`` would pull another torch build)
=============================================  ==================================================================

Constructor ``options`` (``--set``) go to the class; when they name no scale argument and the
constructor has one (``scale``, ``upscale``, ``upscale_factor``, ...), the requested scale is passed.
A one-image test forward (1x3x64x64, values in ``data_range``) then checks that the output really is
``scale`` times larger: a model built for another scale would otherwise give plausible wrong numbers.

Weights (``--weights``) follow the zoo's rules: ``torch.load(weights_only=True)`` and strict loading with the
exact key diff (:mod:`models.weights`). The returned module carries ``esr_spec`` (a :class:`ModelSpec`
built on the fly, so measurement code names the records after it), ``esr_scale``, ``data_range`` and
``esr_source`` (a :class:`ModelSource`: :meth:`~ModelSource.identity` holds the model file's sha256, so
editing the file re-measures it; :meth:`~ModelSource.record`, the identity plus provenance, goes into every
record as ``model_source``).
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import importlib.util
import inspect
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .registry import ModelSpec, UnknownModelError, create_model, get_spec
from .weights import CheckpointError, check_state_dict, load_checkpoint_into, read_state_dict, sha256_file

__all__ = ["ModelRefError", "ModelRecipe", "ModelSource", "parse_ref", "resolve_model", "is_zoo_ref", "SCALE_ARGS"]

SCALE_ARGS = ("scale", "upscale", "upscale_factor", "upscaling_factor", "up_scale", "sr_scale", "scale_factor")
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin", ".safetensors", ".pkl")
_PROBE = 64  # LR side of the test forward


class ModelRefError(ValueError):
    """A model reference that cannot be used; the one-line message says what to change."""


@dataclass
class ModelSource:
    """Where a model comes from, and with which settings (the record identity of a non-zoo model).

    ``kind``: zoo | file | module | submission. ``name`` is the record name (the class name, or
    ``<file stem>.<class>`` when the class name is also a zoo name, so a user model never borrows a zoo
    entry's published numbers).
    """

    ref: str
    kind: str
    name: str
    path: str | None = None  # model file (file kind; module kind: the module's file)
    module: str | None = None
    class_name: str | None = None
    file_sha256: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None
    weights_sha256: str | None = None
    key: str | None = None
    strip_prefix: str | None = None
    data_range: float = 1.0
    team: str | None = None

    @property
    def user_model(self) -> bool:
        """True for the researcher's own model (file or package class), shown highlighted in reports."""
        return self.kind in ("file", "module")

    def identity(self) -> dict[str, Any]:
        """JSON-able identity: kind, path/module, class, file sha256, options, weights sha256, key,
        strip_prefix, data_range. Two measurements are of the same model iff their identities are equal
        (the reference as typed and the checkpoint's path are provenance, see :meth:`record`)."""
        return {
            "kind": self.kind, "path": self.path, "module": self.module, "class": self.class_name,
            "file_sha256": self.file_sha256, "options": dict(sorted(self.options.items())),
            "weights_sha256": self.weights_sha256, "key": self.key, "strip_prefix": self.strip_prefix,
            "data_range": self.data_range,
        }

    def record(self) -> dict[str, Any]:
        """What a record stores as ``model_source``: the identity plus the reference and checkpoint path."""
        return {**self.identity(), "ref": self.ref, "weights": self.weights}


# ------------------------------------------------------------------------------------------ parsing
def _looks_like_file(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def is_zoo_ref(ref: str) -> bool:
    """Whether ``ref`` is a zoo name (not ``file.py:Class``, ``module:Class``, ``x.toml#team`` or a file)."""
    try:
        return parse_ref(ref)[0] == "zoo"
    except ModelRefError:
        return False


def parse_ref(ref: str) -> tuple[str, str | None, str | None]:
    """``(kind, target, member)``: ``("zoo", name, None)``, ``("file", path, Class)``,
    ``("module", dotted, Class)``, ``("submission", manifest, team)`` or ``("checkpoint", path, None)``.

    Raises :class:`ModelRefError` for a malformed reference (empty class, ``file.py`` without ``:Class``).
    """
    ref = ref.strip()
    if not ref:
        raise ModelRefError("empty model reference")
    if "#" in ref:
        target, _, team = ref.rpartition("#")
        if not team or not target:
            raise ModelRefError(f"{ref!r}: expected submission.toml#TEAM (a manifest and a team id or name)")
        return "submission", target, team
    if ":" in ref and not (len(ref) > 2 and ref[1] == ":" and ref.count(":") == 1):  # not a bare C:\ path
        target, _, member = ref.rpartition(":")
        if not member or not member.isidentifier() or not target:
            raise ModelRefError(f"{ref!r}: expected path/to/arch.py:ClassName or package.module:ClassName")
        return ("file" if _looks_like_file(target) else "module"), target, member
    suffix = Path(ref).suffix.lower()
    if suffix == ".py":
        raise ModelRefError(f"{ref!r}: name the class too, e.g. {ref}:MyNet")
    if suffix in CHECKPOINT_SUFFIXES:
        return "checkpoint", ref, None
    return "zoo", ref, None


# ------------------------------------------------------------------------------------------ importing
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _import_file(path: Path) -> Any:
    """Import ``path`` as a fresh module (its folder on ``sys.path`` while it imports, for sibling imports)."""
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    mod_name = f"esr_bench_user_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ModelRefError(f"{path}: not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module  # dataclasses / pickling look the module up by name
    folder = str(path.parent)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - user code may raise anything; SystemExit included
        sys.modules.pop(mod_name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        where = ""
        tb = exc.__traceback__
        while tb is not None:  # the deepest frame inside the user's file
            if Path(tb.tb_frame.f_code.co_filename) == path:
                where = f" (line {tb.tb_lineno})"
            tb = tb.tb_next
        if isinstance(exc, SyntaxError) and exc.lineno:
            where = f" (line {exc.lineno})"
        raise ModelRefError(f"{path} does not import{where}: {_first_line(exc)}; fix the file or install what "
                            "it imports") from None
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
    return module


def _modules_classes(module: Any) -> list[str]:
    return sorted(n for n, v in vars(module).items() if inspect.isclass(v) and issubclass(v, nn.Module)
                  and getattr(v, "__module__", None) == module.__name__)


def _member(module: Any, name: str, where: str) -> Callable[..., Any]:
    obj = getattr(module, name, None)
    if obj is None:
        known = _modules_classes(module)
        hint = f"nn.Module classes there: {', '.join(known)}" if known else "it defines no nn.Module class"
        raise ModelRefError(f"{where} has no class {name!r}; {hint}")
    if not callable(obj):
        raise ModelRefError(f"{where}:{name} is a {type(obj).__name__}, not an nn.Module class or builder")
    return obj


def _build(factory: Callable[..., Any], options: Mapping[str, Any], scale: int, where: str) -> tuple[nn.Module, dict]:
    kwargs = dict(options)
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}
    if not any(k in kwargs for k in SCALE_ARGS):
        arg = next((a for a in SCALE_ARGS if a in params), None)
        if arg is not None:
            kwargs[arg] = scale
    try:
        model = factory(**kwargs)
    except TypeError as exc:
        accepted = [p for p in params if p not in ("self", "args", "kwargs")]
        raise ModelRefError(f"{where}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) failed: "
                            f"{_first_line(exc)}; its arguments: {', '.join(accepted) or 'none'} (set them with "
                            "--set KEY=VALUE)") from None
    except Exception as exc:  # noqa: BLE001 - the user's constructor may raise anything
        raise ModelRefError(f"building {where} failed: {_first_line(exc)}") from None
    if not isinstance(model, nn.Module):
        raise ModelRefError(f"{where} returned a {type(model).__name__}, not an nn.Module")
    return model, kwargs


def _check_scale(model: nn.Module, scale: int, data_range: float, where: str) -> None:
    """One forward on a 1x3x64x64 input: the output must be 3 x (64*scale) x (64*scale)."""
    ref = next(iter(model.parameters()), None)
    if ref is None:
        ref = next(iter(model.buffers()), None)
    dtype = ref.dtype if ref is not None and ref.is_floating_point() else torch.float32
    device = ref.device if ref is not None else torch.device("cpu")
    x = torch.rand(1, 3, _PROBE, _PROBE, generator=torch.Generator().manual_seed(0)) * data_range
    try:
        with torch.inference_mode():
            y = copy.deepcopy(model)(x.to(device=device, dtype=dtype))  # a copy: lazy state stays untouched
    except Exception as exc:  # noqa: BLE001
        raise ModelRefError(f"{where} failed a test forward on a 1x3x{_PROBE}x{_PROBE} input: {_first_line(exc)}"
                            ) from None
    shape = tuple(getattr(y, "shape", ()))
    want = (1, 3, _PROBE * scale, _PROBE * scale)
    if shape != want:
        got = f"{shape[-1] // _PROBE}" if len(shape) == 4 and shape[-1] % _PROBE == 0 else "?"
        raise ModelRefError(f"{where} maps a 1x3x{_PROBE}x{_PROBE} input to {shape or type(y).__name__}, not "
                            f"{want} (x{got}, not x{scale}): pass --scale {got} or the constructor's scale with "
                            "--set (e.g. --set upscale=4)")


def _record_name(class_name: str, stem: str) -> str:
    try:
        get_spec(class_name)
    except UnknownModelError:
        return class_name
    return f"{stem}.{class_name}"  # never borrow a zoo entry's name (and its published numbers)


# ------------------------------------------------------------------------------------------ resolving
def resolve_model(
    ref: str,
    scale: int,
    options: Mapping[str, Any] | None = None,
    weights: str | Path | None = None,
    key: str | None = None,
    strip_prefix: str | None = None,
    data_range: float | None = None,
    *,
    weights_dir: str | Path | None = None,
    check_scale: bool = True,
) -> tuple[nn.Module, ModelSource]:
    """Build the model named by ``ref`` at ``scale`` (module docstring), in eval mode, on the CPU.

    ``options``: constructor arguments; ``weights``: checkpoint path (``key``: nesting key such as
    ``params_ema``, auto-detected when ``None``; ``strip_prefix``: e.g. ``module.``); ``data_range``: input
    range the model expects, 1.0 (default) or 255.0. A zoo name without ``weights`` is built with random
    init (``create_model``); with ``weights`` the file is loaded strictly into the zoo architecture.

    Returns ``(model, source)``. Raises :class:`ModelRefError` (wrong class, file that does not import,
    bad options, wrong scale, submissions, bare checkpoints), :class:`~models.weights.CheckpointError`
    (a checkpoint that does not fit, with the key diff), :class:`~models.registry.UnknownModelError`.
    """
    options = dict(options or {})
    scale = int(scale)
    kind, target, member = parse_ref(ref)
    if data_range is not None and float(data_range) not in (1.0, 255.0):
        raise ModelRefError(f"--data-range must be 1 or 255 (the model's input range), got {data_range}")
    if kind == "submission":
        _refuse_submission(ref, target, member)
    if kind == "checkpoint":
        raise ModelRefError(
            f"{ref!r} is a bare checkpoint: name its architecture, e.g. `path/to/arch.py:ClassName --weights {ref}` "
            "(automatic detection with spandrel is not available: it requires another torch build)")
    if kind == "zoo":
        try:
            spec = get_spec(target)
        except UnknownModelError as exc:
            raise UnknownModelError(f"{exc}; for your own model give path/to/arch.py:ClassName "
                                    "or package.module:ClassName") from None
        if data_range is not None and float(data_range) != float(spec.data_range):
            raise ModelRefError(f"{spec.name} expects inputs in 0-{spec.data_range:g}; --data-range applies to "
                                "your own models only")
        try:
            model = create_model(spec.name, scale, **options)
        except TypeError as exc:
            raise ModelRefError(f"{spec.name}: constructor option rejected ({', '.join(options)}): "
                                f"{_first_line(exc)}") from None
        if weights and (key or strip_prefix):
            sd = read_state_dict(weights, key, strip_prefix or "")
            check_state_dict(model, sd, f"checkpoint {weights} for {spec.name} x{scale}")
            model.load_state_dict(sd, strict=True)
        elif weights:
            load_checkpoint_into(model, spec, scale, Path(weights), weights_dir=weights_dir)
        src = ModelSource(ref=ref, kind="zoo", name=spec.name, options=options, data_range=float(spec.data_range),
                          weights=str(weights) if weights else None, key=key, strip_prefix=strip_prefix,
                          weights_sha256=sha256_file(weights) if weights else None)
        model.esr_source = src
        return model, src

    if kind == "file":
        path = Path(target).expanduser()
        if not path.is_file():
            raise ModelRefError(f"model file {path} does not exist (reference {ref!r})")
        path = path.resolve()
        module = _import_file(path)
        where, stem, mod_name, file_path = f"{path.name}:{member}", path.stem, None, path
    else:
        try:
            module = importlib.import_module(target)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise ModelRefError(f"module {target!r} does not import: {_first_line(exc)}; install the package "
                                "or use path/to/arch.py:ClassName") from None
        where, stem, mod_name = f"{target}:{member}", target.rsplit(".", 1)[-1], target
        file_path = Path(module.__file__) if getattr(module, "__file__", None) else None
    factory = _member(module, member, path.name if kind == "file" else f"module {target}")
    model, used = _build(factory, options, scale, where)
    dr = float(data_range) if data_range is not None else float(getattr(model, "data_range", 1.0) or 1.0)
    src = ModelSource(
        ref=ref, kind=kind, name=_record_name(member, stem), path=str(file_path) if file_path else None,
        module=mod_name, class_name=member, file_sha256=sha256_file(file_path) if file_path else None,
        options=used, key=key, strip_prefix=strip_prefix, data_range=dr,
    )
    if weights:
        wpath = Path(weights).expanduser()
        sd = read_state_dict(wpath, key, strip_prefix or "")
        try:
            check_state_dict(model, sd, f"checkpoint {wpath} for {where}")
        except CheckpointError as exc:
            raise CheckpointError(f"{exc}; check the class, its --set options, --key and --strip-prefix") from None
        model.load_state_dict(sd, strict=True)
        src.weights, src.weights_sha256 = str(wpath.resolve()), sha256_file(wpath)
    model = model.eval()
    if check_scale:
        _check_scale(model, scale, dr, where)
    model.esr_spec = ModelSpec(name=src.name, family=member, builder=factory, scales=(scale,),
                               kwargs=dict(used), data_range=dr, display_name=src.name,
                               notes=f"user model {ref}")
    model.esr_scale = scale
    model.data_range = dr
    model.esr_source = src
    return model, src


def _refuse_submission(ref: str, manifest: str, team: str) -> None:
    """Check that the manifest names ``team`` (parsing only), then refuse: submissions run in the sandbox."""
    from challenge.manifest import ManifestError, load_manifest

    try:
        entry = load_manifest(manifest).select([team])[0]
    except ManifestError as exc:
        raise ModelRefError(str(exc)) from None
    raise ModelRefError(
        f"{ref!r} is NTIRE submission team {entry.label}: its code is untrusted and runs only in the challenge "
        f"sandbox, never in this process; measure it with `esr-bench challenge run {manifest} --out OUT` "
        f"(params, FLOPs, runtime, PSNR), or, for your own model, give {entry.model_file}:{entry.class_name}")




@dataclass
class ModelRecipe:
    """A model reference plus its settings, buildable at any scale (``esr-bench bench`` builds one per task).

    :meth:`build` returns a fresh ``(module, ModelSource)`` each call (measurements move and modify
    modules); ``name`` is the record name, known after the first build.
    """

    ref: str
    options: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None
    key: str | None = None
    strip_prefix: str | None = None
    data_range: float | None = None
    weights_dir: str | None = None
    name: str | None = None

    _seen: dict[int, tuple[dict[str, Any], bool]] = field(default_factory=dict, repr=False, compare=False)

    def build(self, scale: int) -> tuple[nn.Module, ModelSource]:
        model, src = resolve_model(self.ref, scale, self.options, self.weights, self.key, self.strip_prefix,
                                   self.data_range, weights_dir=self.weights_dir)
        self.name = src.name
        ident = json.loads(json.dumps(src.identity(), default=str))  # as a stored record holds it
        self._seen[int(scale)] = (ident, any(True for _ in model.parameters()))
        return model, src

    def describe(self, scale: int) -> tuple[dict[str, Any], bool]:
        """``(identity, has_parameters)`` at ``scale``, from the first build (files hashed then)."""
        if int(scale) not in self._seen:
            self.build(scale)
        return self._seen[int(scale)]
