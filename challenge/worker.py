"""What runs inside the sandbox child: import, build, load, forward and count one submission.

Usage (by :mod:`challenge.sandbox` only): ``python -m challenge.worker JOB.json RESULT.json STAGE``.
The child imports torch once, records the stage it reaches in STAGE (so a hang or crash is reported
with where it happened) and writes every finding plus the measured figures to RESULT.json
atomically. Untrusted checkpoints are read with ``torch.load(weights_only=True)``; only an explicit
``allow_pickle`` job loads them with ``weights_only=False``, and only here, inside the child.

Order of work, as the official harness: build the model (positional ``args`` and ``kwargs``), load
the checkpoint (``load_state_dict``, or the team's loader method), run the manifest's ``post_load``
steps (``repa()``, ``switch_deploy()`` on every module that has it, ...), then measure: every
figure (params, FLOPs, activations, convs, PSNR, runtime) is taken on the post-load network.

Dynamic checks on a synthetic 48x64 LR image (HR 192x256, uint8, downscaled by the suite's MATLAB
bicubic, :func:`bench.data.make_lr`), run through the team's forward (whole, tiled or pad-and-crop): output shape
(1, 3, 192, 256), float32, finite, deterministic; parameters before and after the first forward;
PSNR with the declared data_range vs the other range (NTIRE convention: input
``uint8 / (255 / data_range)``, output quantised as :mod:`bench.quality`, RGB PSNR of
:mod:`bench.metrics`, border 4; the bicubic reference level is MATLAB ``imresize(lr, 4)`` of
:func:`bench.imresize.imresize`). Counting on a 1x3x256x256 input: the NTIRE hook counter
(:mod:`bench.complexity.ntire`: activations, convs, 2022/2023 FLOPs) and fvcore
(:func:`bench.complexity.counters.fvcore_count`, 2024-2026 FLOPs). A counter that fails leaves its
figure ``None`` with a finding; the year's headline FLOPs missing is an error.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import json
import math
import os
import sys
import time
import traceback
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .findings import ERROR, INFO, WARNING, Finding

_NESTING = ("params_ema", "params", "state_dict", "model_state_dict", "model", "net", "net_g")
LR_H, LR_W = 48, 64  # LR size of the forward check image (non-square: catches swapped axes)
LR_CHECK = f"{LR_H}x{LR_W}"
COUNT_SIDE = 256  # LR side of the counting input (NTIRE convention)


class _Stop(Exception):
    """Stop the checks: a finding with severity error was recorded."""


class Checks:
    def __init__(self, job: dict[str, Any], stage_path: Path) -> None:
        self.job = job
        self.stage_path = stage_path
        self.findings: list[Finding] = []
        self.metrics: dict[str, Any] = {}
        self.official: dict[str, Any] = {}

    def stage(self, name: str) -> None:
        self.metrics["stage"] = name
        tmp = self.stage_path.with_suffix(".tmp")
        tmp.write_text(name)
        os.replace(tmp, self.stage_path)

    def add(self, code: str, severity: str, message: str, stop: bool = False) -> None:
        self.findings.append(Finding(code, severity, message))
        if stop:
            raise _Stop(code)


def _last_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"


def _is_oom(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return isinstance(exc, MemoryError) or any(
        t in text for t in ("can't allocate memory", "out of memory", "cannot allocate memory", "bad_alloc"))


def _where(exc: BaseException, model_file: str) -> str:
    """``file:line`` of the deepest frame inside the submission's own file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == model_file]
    return f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""


def _import_model(c: Checks, entry: dict[str, Any]):
    from .validate import dependency_hint

    model_file = entry["model_file"]
    root = Path(entry["root"])
    for p in (str(Path(model_file).parent), str(root)):  # official repos import `from models.x import ...`
        if p not in sys.path:
            sys.path.insert(0, p)
    name = Path(model_file).stem
    models_dir = root / "models"
    if models_dir.is_dir():
        # `models` means the submission's folder here, never esr-bench's own `models` package
        if not (models_dir / "__init__.py").is_file():
            pkg = types.ModuleType("models")
            pkg.__path__ = [str(models_dir)]
            pkg.__spec__ = importlib.machinery.ModuleSpec("models", None, is_package=True)
            pkg.__spec__.submodule_search_locations = pkg.__path__
            sys.modules["models"] = pkg
        if Path(model_file).parent == models_dir:
            name = f"models.{name}"
    spec = importlib.util.spec_from_file_location(name, model_file)
    if spec is None or spec.loader is None:
        c.add("import-error", ERROR, f"cannot import {model_file} as a Python module", stop=True)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except ModuleNotFoundError as exc:
        c.add("missing-dependency", ERROR,
              f"importing {Path(model_file).name} fails: package {exc.name!r} is not installed "
              f"({dependency_hint(str(exc.name).split('.')[0])}){_where(exc, model_file)}", stop=True)
    except Exception as exc:
        c.add("import-error", ERROR, f"importing {Path(model_file).name} raised {_last_line(exc)}"
              f"{_where(exc, model_file)}", stop=True)
    return module


def _build(c: Checks, module, entry: dict[str, Any]):
    import torch
    from torch import nn

    cls = getattr(module, entry["class_name"], None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        found = sorted(n for n, v in vars(module).items() if isinstance(v, type) and issubclass(v, nn.Module)
                       and v.__module__ == module.__name__)
        c.add("class-not-found", ERROR, f"class {entry['class_name']!r} is not an nn.Module in "
              f"{Path(entry['model_file']).name}; classes defined there: {found}. Fix `class` in the manifest",
              stop=True)
    cuda_calls: list[str] = []
    orig_mod_cuda, orig_t_cuda = nn.Module.cuda, torch.Tensor.cuda

    def mod_cuda(self, *a, **k):
        cuda_calls.append(type(self).__name__)
        return self if not torch.cuda.is_available() else orig_mod_cuda(self, *a, **k)

    def t_cuda(self, *a, **k):
        cuda_calls.append("Tensor")
        return self if not torch.cuda.is_available() else orig_t_cuda(self, *a, **k)

    forwards = [0]

    def count(_m, _i, _o):
        forwards[0] += 1

    handle = nn.modules.module.register_module_forward_hook(count)
    nn.Module.cuda, torch.Tensor.cuda = mod_cuda, t_cuda  # type: ignore[method-assign]
    args = entry.get("args") or []
    try:
        model = cls(*args, **entry["kwargs"])
    except Exception as exc:
        _sandbox_blocked(c, exc, "the constructor")
        c.add("constructor-error", ERROR, f"{entry['class_name']}(*{args}, **{entry['kwargs']}) raised "
              f"{_last_line(exc)}{_where(exc, entry['model_file'])}; check `args` / `kwargs` in the manifest",
              stop=True)
    finally:
        nn.Module.cuda, torch.Tensor.cuda = orig_mod_cuda, orig_t_cuda  # type: ignore[method-assign]
        handle.remove()
    if cuda_calls:
        c.add("cuda-in-constructor", WARNING, f"the constructor calls .cuda() ({len(cuda_calls)} call(s), on "
              f"{sorted(set(cuda_calls))[:5]}); remove it, the harness moves the model to the device")
    if forwards[0]:
        c.add("forward-in-constructor", WARNING, f"the constructor runs {forwards[0]} module forward call(s) "
              "on some input: a warm-up, or a conversion that traces a dummy input (e.g. TLC's convert()). "
              "Either way the first timed image no longer pays a cold start; check that it is needed")
    c.metrics["params_constructed"] = sum(p.numel() for p in model.parameters())
    return model


_BLOCKED_ERRNOS = {"EROFS": "write outside the scratch folder", "EACCES": "access outside the sandbox",
                   "EPERM": "operation not permitted in the sandbox", "ENETUNREACH": "network access",
                   "ECONNREFUSED": "network access", "EHOSTUNREACH": "network access"}


def _sandbox_blocked(c: Checks, exc: BaseException, what: str) -> None:
    """Add a ``sandbox-blocked`` finding when ``exc`` is the sandbox refusing a write or the network."""
    import errno
    import socket

    err = exc if isinstance(exc, OSError) else exc.__cause__ or exc.__context__
    name = errno.errorcode.get(getattr(err, "errno", None) or -1, "")
    if isinstance(err, socket.gaierror):
        name, kind = "EAI", "network access (name resolution)"
    else:
        kind = _BLOCKED_ERRNOS.get(name)
    if kind and c.job.get("isolation") not in (None, "process-only"):
        c.add("sandbox-blocked", ERROR, f"{what} attempted {kind} and the sandbox refused it ({name}: "
              f"{str(err)[:200]})")


def _unpickle(c: Checks, path: str, exc: BaseException):
    """``--allow-pickle``: unpickle with ``weights_only=False`` (inside the sandbox only)."""
    import torch

    iso = c.job.get("isolation") or "process-only"
    c.add("pickle-allowed", WARNING, f"{Path(path).name} pickles code or modules; --allow-pickle was given, so it "
          f"was unpickled with weights_only=False, which runs that code (isolation: {iso})")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc2:
        _sandbox_blocked(c, exc2, "unpickling the checkpoint")
        c.add("checkpoint-unreadable", ERROR, f"{Path(path).name}: unpickling with weights_only=False raised "
              f"{_last_line(exc2)}", stop=True)


def _select_state(c: Checks, obj: Mapping, name: str, key: str | None) -> Mapping:
    import torch

    if key:
        if key not in obj:
            c.add("state-dict-key", ERROR, f"{name} has no key {key!r}; top-level keys: "
                  f"{sorted(map(str, obj))[:10]}; fix `key` in the manifest", stop=True)
        return obj[key]
    if all(torch.is_tensor(v) for v in obj.values()):
        return obj
    nested = [k for k in _NESTING if k in obj and isinstance(obj[k], Mapping)]
    if not nested:
        c.add("state-dict-key", ERROR, f"{name} is not a flat state dict and has none of the "
              f"usual nesting keys {list(_NESTING)}; top-level keys: {sorted(map(str, obj))[:10]}", stop=True)
    if "params" in nested and "params_ema" in nested:
        a, b = obj["params"], obj["params_ema"]
        diffs = [float((a[k].float() - b[k].float()).abs().max()) for k in a
                 if k in b and torch.is_tensor(a[k]) and torch.is_tensor(b[k]) and a[k].shape == b[k].shape
                 and a[k].numel()]
        c.add("state-dict-key", WARNING, f"{name} holds both 'params' and 'params_ema' (weights differ by up to "
              f"{max(diffs, default=0.0):.3g}) and the manifest declares no key: {nested[0]!r} was loaded. "
              "Declare key = \"params\" or key = \"params_ema\" as the official branch loads it")
    else:
        c.add("state-dict-key", INFO, f"state dict found under {nested[0]!r}; declare key = \"{nested[0]}\"")
    return obj[nested[0]]


def _load_checkpoint(c: Checks, model, entry: dict[str, Any]) -> None:
    import torch

    path = entry.get("checkpoint")
    if not path:
        c.add("checkpoint-missing", ERROR, "no checkpoint given and none found at "
              "model_zoo/team<id>_<name>.(pth|pt|ckpt)", stop=True)
    if not Path(path).is_file():
        c.add("checkpoint-missing", ERROR, f"checkpoint {path} does not exist", stop=True)
    loader = next((s["load"] for s in entry.get("post_load") or [] if "load" in s), None)
    if loader:  # the official branch calls model.<loader>(path) instead of load_state_dict
        fn = getattr(model, loader, None)
        if not callable(fn):
            c.add("post-load-error", ERROR, f"post_load load step: the model has no method {loader!r}", stop=True)
        try:
            fn(path)
        except Exception as exc:
            _sandbox_blocked(c, exc, f"model.{loader}(path)")
            c.add("post-load-error", ERROR, f"model.{loader}({Path(path).name!r}) raised {_last_line(exc)}"
                  f"{_where(exc, entry['model_file'])}", stop=True)
        c.metrics["loaded_with"] = f"model.{loader}(checkpoint path)"
        return
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        import pickle

        if not isinstance(exc, pickle.UnpicklingError) and "weights_only" not in str(exc):
            c.add("checkpoint-unreadable", ERROR, f"{Path(path).name}: cannot read ({_last_line(exc)}); "
                  "the file is corrupt or not saved with torch.save", stop=True)
        if not c.job.get("allow_pickle"):
            c.add("pickled-objects", ERROR, f"{Path(path).name} is refused by torch.load(weights_only=True): it "
                  f"pickles objects other than tensors ({str(exc).strip().splitlines()[0][:200]}). Re-save it as "
                  "a plain state dict: torch.save(model.state_dict(), path)", stop=True)
        obj = _unpickle(c, path, exc)
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        c.add("checkpoint-unreadable", ERROR, f"{Path(path).name} holds a {type(obj).__name__}, not a state dict",
              stop=True)
    obj = _select_state(c, obj, Path(path).name, entry.get("key"))
    sd = {k: v for k, v in obj.items() if torch.is_tensor(v)}
    prefix = entry.get("strip_prefix") or ""
    if prefix:
        sd = {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in sd.items()}
    own = model.state_dict()
    if not prefix and sd and all(k.startswith("module.") for k in sd) and not any(k.startswith("module.") for k in own):
        c.add("state-dict-key", WARNING, "checkpoint keys carry a DataParallel 'module.' prefix; declare "
              "strip_prefix = \"module.\" (stripped for this check)")
        sd = {k[7:]: v for k, v in sd.items()}
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shapes = [f"{k}: {tuple(sd[k].shape)} vs model {tuple(v.shape)}" for k, v in own.items()
              if k in sd and tuple(sd[k].shape) != tuple(v.shape)]
    c.metrics.update(missing_keys=missing, unexpected_keys=unexpected)
    if shapes:
        c.add("state-dict-mismatch", ERROR, f"shape mismatch ({len(shapes)}): {shapes[:6]}", stop=True)
    if entry.get("strict", True):
        if missing or unexpected:
            c.add("state-dict-mismatch", ERROR, f"strict loading fails: missing keys ({len(missing)}): {missing[:10]}; "
                  f"unexpected keys ({len(unexpected)}): {unexpected[:10]}", stop=True)
        model.load_state_dict(sd, strict=True)
    else:
        if missing:
            c.add("non-strict-missing-keys", WARNING, f"strict = false leaves {len(missing)} parameter(s)/buffer(s) at "
                  f"their initial values: {missing[:20]}")
        if unexpected:
            c.add("non-strict-unexpected-keys", WARNING, f"strict = false ignores {len(unexpected)} checkpoint "
                  f"key(s): {unexpected[:20]}")
        model.load_state_dict(sd, strict=False)


def _post_load(c: Checks, model, entry: dict[str, Any]) -> None:
    """The manifest's ``post_load`` steps (``call`` / ``call_each``), in order, as the official branch."""
    done = []
    for step in entry.get("post_load") or []:
        kind, name = next(iter(step.items()))
        if kind == "load":
            continue
        targets = [model] if kind == "call" else [m for m in list(model.modules()) if hasattr(m, name)]
        if kind == "call" and not callable(getattr(model, name, None)):
            c.add("post-load-error", ERROR, f"post_load: the model has no method {name!r}", stop=True)
        if kind == "call_each" and not targets:
            c.add("post-load-error", WARNING, f"post_load call_each {name!r}: no module of the model has it "
                  "(nothing was called)")
        try:
            for m in targets:
                getattr(m, name)()
        except Exception as exc:
            _sandbox_blocked(c, exc, f"post_load {name}()")
            c.add("post-load-error", ERROR, f"post_load {kind} {name}() raised {_last_line(exc)}"
                  f"{_where(exc, entry['model_file'])}", stop=True)
        done.append(f"{kind} {name} ({len(targets)} module(s))")
    if done:
        c.metrics["post_load"] = done


def team_forward(model, x, entry: dict[str, Any]):
    """The team's forward of the official harness: whole image, official tiling, or pad-and-crop.

    ``x`` is ``1x3xHxW`` in the team's data_range; returns ``1x3x4Hx4W``. Tiling is
    :func:`bench.tiling.forward_tiled` with the official NTIRE rule (``stitch="average"``).
    Pad-and-crop pads right/bottom to a multiple of ``pad_multiple`` (``pad_mode``) and crops the
    output to ``4H x 4W`` (the official ``forward`` variant of window-attention teams).
    """
    import torch.nn.functional as F

    from bench.tiling import forward_tiled

    from .manifest import FORWARD_DEFAULTS

    opt = {**FORWARD_DEFAULTS, **{k: v for k, v in entry.items() if k in FORWARD_DEFAULTS and v is not None}}
    if entry.get("tile"):
        return forward_tiled(model, x, 4, int(entry["tile"]), int(opt["tile_overlap"]), stitch="average")
    if entry.get("forward") == "pad-crop":
        m = int(opt["pad_multiple"])
        h, w = x.shape[-2:]
        x = F.pad(x, (0, (m - w % m) % m, 0, (m - h % m) % m), mode=opt["pad_mode"])
        return model(x)[..., : 4 * h, : 4 * w]
    return model(x)


def check_image(h: int = LR_H, w: int = LR_W):
    """Deterministic synthetic HR image (``1x3x4h x4w``) with smooth regions and edges, and its LR (``1x3xhxw``).

    Both are float tensors holding uint8 values (0-255); the LR is :func:`bench.data.make_lr` of the HR
    (MATLAB ``imresize(hr, 1/4, 'bicubic')``, bit-exact), the LR of every protocol of the suite.
    """
    import numpy as np
    import torch
    import torch.nn.functional as F

    from bench.data import make_lr

    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 4 * h), torch.linspace(0, 1, 4 * w), indexing="ij")
    chans = []
    for c in range(3):
        f = torch.rand(4, generator=g) * 6 + 1
        img = 0.5 + 0.2 * torch.sin(2 * math.pi * (f[0] * xx + f[1] * yy))
        img = img + 0.1 * torch.cos(2 * math.pi * f[2] * xx * yy)
        img = img + 0.15 * ((xx - 0.3 - 0.1 * c) ** 2 + (yy - 0.6) ** 2 < 0.05).float()
        chans.append(img)
    hr = torch.stack(chans)[None]
    hr = F.avg_pool2d(F.pad(hr, (1, 1, 1, 1), mode="replicate"), 3, stride=1)  # soften the disc edge
    hr = (hr.clamp(0, 1) * 255).round()
    lr = make_lr(hr[0].permute(1, 2, 0).numpy().astype(np.uint8), 4)
    return hr, torch.from_numpy(lr).permute(2, 0, 1)[None].float()  # float tensors holding uint8 values


def bicubic_reference(lr):
    """MATLAB ``imresize(lr, 4, 'bicubic')`` of a ``1x3xhxw`` uint8-valued tensor, as ``1x3x4hx4w`` in [0, 1].

    The reference level of the ``low-psnr`` and ``wrong-data-range`` findings: the suite's one bicubic
    (:func:`bench.imresize.imresize` on uint8, rounded after each pass as MATLAB does).
    """
    import numpy as np
    import torch

    from bench.imresize import imresize

    up = imresize(lr[0].permute(1, 2, 0).numpy().astype(np.uint8), 4)
    return torch.from_numpy(up).permute(2, 0, 1)[None].float() / 255.0


def psnr_ntire(out, hr, data_range: float, border: int = 4) -> float:
    """NTIRE ``test_demo.py`` PSNR of a model output (``1x3xHxW`` in ``data_range``) against ``hr``.

    ``hr`` holds 0-255 integer values (tensor ``1x3xHxW``/``3xHxW`` or ``HxWx3`` array). The output is
    quantised as :mod:`bench.quality` (clamp, scale to 0-255, round) and compared with
    :func:`bench.metrics.psnr` on RGB with a ``border``-pixel crop (dB, float64).
    """
    from bench.metrics import prepare, psnr
    from bench.quality import quantize_output

    sr = quantize_output(out.detach()[0] if out.dim() == 4 else out.detach(), data_range)
    return psnr(prepare(sr.cpu(), "RGB", border), prepare(hr, "RGB", border))


def _forward_checks(c: Checks, model, entry: dict[str, Any]) -> None:
    import torch

    dr = float(entry["data_range"])
    hr, lr = check_image()
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    c.metrics["params_before_forward"] = sum(p.numel() for p in model.parameters())
    if any(p.dtype != torch.float32 for p in model.parameters()):
        c.add("non-fp32", WARNING, "some parameters are not float32 "
              f"({sorted({str(p.dtype) for p in model.parameters()})}); the challenge evaluates fp32")

    def run(x):
        try:
            with torch.no_grad():
                return team_forward(model, x, entry)
        except Exception as exc:
            if _is_oom(exc):
                c.add("out-of-memory", ERROR, f"forward on a 1x3x{LR_CHECK} input ran out of memory "
                      f"(limit {c.job.get('memory_mb') or '?'} MiB): {_last_line(exc)[:300]}", stop=True)
            c.add("forward-error", ERROR, f"forward on a 1x3x{LR_CHECK} input raised {_last_line(exc)}"
                  f"{_where(exc, entry['model_file'])}", stop=True)

    x = lr / (255.0 / dr)
    t0 = time.perf_counter()
    out = run(x.clone())
    c.metrics["first_forward_s"] = time.perf_counter() - t0
    c.metrics["params"] = sum(p.numel() for p in model.parameters())
    if c.metrics["params"] != c.metrics["params_before_forward"]:
        c.add("params-change-after-forward", WARNING,
              f"parameters change in the first forward: {c.metrics['params_before_forward']} before, "
              f"{c.metrics['params']} after (lazy re-parameterisation). The official count is taken after "
              f"inference ({c.metrics['params']}); re-parameterise before saving so the count is unambiguous")
    if isinstance(out, (tuple, list)) and out and torch.is_tensor(out[0]):
        c.add("wrong-output-size", WARNING, f"forward returns a {type(out).__name__}; the harness expects one tensor")
        out = out[0]
    if not torch.is_tensor(out):
        c.add("wrong-output-size", ERROR, f"forward returns {type(out).__name__}, not a tensor", stop=True)
    want = (1, 3, 4 * LR_H, 4 * LR_W)
    c.metrics["output_shape"] = list(out.shape)
    if tuple(out.shape) != want:
        c.add("wrong-output-size", ERROR, f"a 1x3x{LR_CHECK} input gives {tuple(out.shape)}, expected "
              f"{want} (x4 super-resolution, RGB)", stop=True)
    if out.dtype != torch.float32:
        c.add("non-fp32", WARNING, f"output dtype {out.dtype}: the forward runs in reduced precision "
              "(fp16 / autocast); the challenge evaluates fp32")
        out = out.float()
    bad = int((~torch.isfinite(out)).sum())
    if bad:
        c.add("non-finite-output", ERROR, f"{bad} of {out.numel()} output values are NaN/Inf", stop=True)
    out2 = run(x.clone())
    if torch.is_tensor(out2) and out2.shape == out.shape:
        diff = float((out2.float() - out).abs().max())
        c.metrics["determinism_max_abs_diff"] = diff
        if diff > 1e-4 * dr:
            c.add("non-deterministic", WARNING, f"two forwards of the same input differ by up to {diff:.3g} "
                  f"(data_range {dr:g}): dropout/random ops left active in eval mode?")
    # data_range sanity: the declared range vs the other one, and vs bicubic
    psnr_decl = psnr_ntire(out, hr, dr)
    other = 255.0 if dr == 1.0 else 1.0
    out_o = run(lr / (255.0 / other))
    psnr_other = psnr_ntire(out_o.float(), hr, other) if torch.is_tensor(out_o) and out_o.shape == out.shape else None
    psnr_bic = psnr_ntire(bicubic_reference(lr), hr, 1.0)  # a reference level
    c.metrics.update(check_psnr=psnr_decl, check_psnr_other_range=psnr_other, check_psnr_bicubic=psnr_bic)
    if psnr_other is not None and psnr_other > psnr_decl + 3.0:
        c.add("wrong-data-range", ERROR, f"declared data_range = {dr:g} gives {psnr_decl:.2f} dB on the check image, "
              f"data_range = {other:g} gives {psnr_other:.2f} dB (bicubic {psnr_bic:.2f} dB): set "
              f"data_range = {other:g} in the manifest")
    elif psnr_decl < psnr_bic - 6.0:
        c.add("low-psnr", WARNING, f"{psnr_decl:.2f} dB on the synthetic check image vs {psnr_bic:.2f} dB for bicubic: "
              "untrained or wrongly loaded weights?")


def _count(c: Checks, model, entry: dict[str, Any]) -> None:
    """NTIRE hook counter (activations, convs, 2022/23 FLOPs) and fvcore total on 1x3x256x256.

    Counts on the post-load model, as the official harness. ``measure`` "official" runs only the
    year's FLOPs counter; "full" (or no year) runs both.
    """
    import torch

    from bench.complexity.counters import fvcore_count
    from bench.complexity.ntire import NtireCounter

    year = c.job.get("year")
    from .rules import get_rules

    headline = get_rules(year).flops_counter if year else None
    full = c.job.get("measure", "full") == "full" or headline is None
    x = torch.rand(1, 3, COUNT_SIDE, COUNT_SIDE, generator=torch.Generator().manual_seed(0)) * entry["data_range"]
    try:
        with NtireCounter(model) as counter, torch.no_grad():
            model(x)
    except Exception as exc:
        c.add("flops-failed", ERROR, f"forward on 1x3x{COUNT_SIDE}x{COUNT_SIDE} raised {_last_line(exc)}: "
              "params are known, FLOPs / activations / convs are not")
        return
    n = counter.counts
    stats = {"macs": n.conv_flops, "acts": n.activations, "convs": n.convs}
    c.metrics.update(conv_macs_lr256=stats["macs"], activations_lr256=stats["acts"], convs_lr256=stats["convs"],
                     ntire22_hook_flops_lr256=n.flops)
    c.official.update(activations=stats["acts"] / 1e6, num_conv=stats["convs"])
    if headline == "hook":
        c.official["flops"] = n.flops / 1e9
    if not (full or headline == "fvcore"):
        return
    try:
        fv = fvcore_count(model, (x,), shape_only=False)
    except Exception as exc:
        c.add("flops-failed", ERROR if headline == "fvcore" else WARNING,
              f"fvcore FlopCountAnalysis failed: {_last_line(exc)}; fvcore FLOPs not reported")
        return
    total, unsupported = fv.total, fv.unsupported
    c.metrics.update(fvcore_flops_lr256=total, fvcore_unsupported=unsupported)
    if headline in (None, "fvcore"):
        c.official["flops"] = total / 1e9
    _fvcore_undercount(c, model, x, total, stats["macs"], unsupported)
    heavy = {k: v for k, v in unsupported.items() if not k.startswith(("aten::add", "aten::mul", "aten::sub",
                                                                         "aten::div", "aten::clamp"))}
    if heavy:
        c.add("fvcore-unsupported", INFO, f"fvcore skipped operators {heavy} (not counted)")


def _fvcore_undercount(c: Checks, model, x, total: int, conv_macs: int, unsupported: dict) -> None:
    """Any convolution fvcore misses is a warning with its MACs (bench.complexity.uncounted_convs)."""
    suspects = [k for k in unsupported if k == "aten::_convolution_mode" or k.startswith("prim::PythonOp")]
    if not suspects and conv_macs <= total:  # fvcore traced every conv: skip the (slower) cross-check
        return
    from bench.complexity import uncounted_convs  # imported by run_job before the submission

    try:
        missed = uncounted_convs(model, (x,), shape_only=False, conv_macs=conv_macs)  # real: it already ran on x
    except Exception as exc:  # the check failed: say so, compute nothing else in its place
        c.add("fvcore-undercount", WARNING, f"the check for convolutions fvcore misses failed ({_last_line(exc)}); "
              f"the fvcore figure ({total / 1e9:.4f} G) is reported unchecked")
        return
    for m in missed:
        where = ", ".join(list(m["modules"])[:5]) + (" ..." if len(m["modules"]) > 5 else "")
        c.add("fvcore-undercount", WARNING, f"fvcore misses {m['macs']:,} conv MACs ({m['macs'] / 1e9:.4f} G, "
              f"{m['op']}{': ' + where if where else ''}): {m['cause']}; the official 2024-2026 count uses "
              f"fvcore ({total / 1e9:.4f} G), report the pure-PyTorch figure too")


@contextlib.contextmanager
def suite_imports(root: str | Path):
    """Import esr-bench modules (``bench.*`` and its ``models`` package) while a submission is loaded.

    The submission's ``models`` modules are set aside (and its folders taken off ``sys.path``) for the
    duration, then restored, so ``models`` keeps meaning the submission's folder for its own code.
    """
    def pop_models() -> dict[str, Any]:
        return {k: sys.modules.pop(k) for k in list(sys.modules) if k == "models" or k.startswith("models.")}

    saved, saved_path = pop_models(), list(sys.path)
    root = Path(root).resolve()
    sys.path[:] = [p for p in sys.path if not (p and Path(p).resolve().is_relative_to(root))]
    try:
        yield
    finally:
        for k, v in pop_models().items():
            sys.modules[f"_esr_suite_{k}"] = v
        sys.modules.update(saved)
        sys.path[:] = saved_path


def run_job(job: dict[str, Any], stage_path: Path) -> dict[str, Any]:
    """Run every dynamic check of one team; returns the JSON-ready result."""
    c = Checks(job, stage_path)
    entry = job["entry"]
    c.stage("import torch")
    import torch

    # the suite's own modules first: the submission's `models` package must not shadow them
    import bench.complexity  # noqa: F401
    import bench.complexity.counters  # noqa: F401
    import bench.complexity.ntire  # noqa: F401
    import bench.data  # noqa: F401
    import bench.imresize  # noqa: F401
    import bench.metrics  # noqa: F401
    import bench.quality  # noqa: F401
    import bench.runtime  # noqa: F401
    import bench.stats  # noqa: F401
    import bench.tiling  # noqa: F401

    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1") or 1)))
    c.metrics["threads"] = torch.get_num_threads()
    model = None
    try:
        c.stage("import model file")
        module = _import_model(c, entry)
        c.stage("construct")
        model = _build(c, module, entry).cpu()  # checks run on CPU whatever the constructor did
        c.stage("load checkpoint")
        _load_checkpoint(c, model, entry)
        c.stage("post-load steps")
        _post_load(c, model, entry)
        c.stage("forward")
        _forward_checks(c, model, entry)
        c.stage("count")
        _count(c, model, entry)
        c.official["num_parameters"] = c.metrics["params"] / 1e6
        if job.get("data"):
            c.stage("evaluate")
            from .evaluate import evaluate_submission

            evaluate_submission(c, model, entry, job)
    except _Stop:
        pass
    c.stage("done")
    try:
        from bench.env import environment

        env = environment(device=c.metrics.get("eval_device") or "cpu")
    except Exception as exc:  # the figures stand without it; say why it is missing
        env = {"torch": torch.__version__, "error": f"bench.env.environment failed: {_last_line(exc)}"}
    return {"findings": [f.to_dict() for f in c.findings], "metrics": c.metrics, "official": c.official,
            "torch": torch.__version__, "env": env}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job_path, result_path, stage_path = map(Path, argv)
    job = json.loads(job_path.read_text())
    result = run_job(job, stage_path)
    tmp = result_path.with_suffix(".tmp")
    from bench.records import to_jsonable

    tmp.write_text(json.dumps(to_jsonable(result), default=str))
    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
