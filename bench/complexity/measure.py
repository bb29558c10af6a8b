"""``measure_complexity``: one model, every counting convention the field uses, in one record.

Conventions (all exact integers; inputs are batch-1 RGB tensors on the model's device, in its range):
- ``params``: ``sum(p.numel() for p in model.parameters())`` after one forward pass (NTIRE; models that
  re-parameterise on their first call change it), ``params_before_forward`` before it;
  ``params_trainable`` counts ``requires_grad`` parameters; ``params_thop`` is what ``thop.profile``
  reports (only parameters owned by modules thop has a rule for: the AGDN paper's 279K/285K/293K/69K).
- ``fvcore_flops_lr256``: ``fvcore.nn.FlopCountAnalysis(model, 1x3x256x256).total()`` (NTIRE 2024-2026
  "FLOPs", one multiply-add = 1), with ``fvcore_by_operator``.
- ``ntire22_hook_flops_lr256``: the NTIRE 2022/2023 hook counter (see :mod:`bench.complexity.ntire`).
- ``ntire_activations_lr256`` / ``ntire_convs_lr256``: NTIRE activations and conv calls.
- ``thop_macs_hr1280x720`` / ``ptflops_macs_hr1280x720`` / ``fvcore_flops_hr1280x720``: LR input of
  ceil(720/s) x ceil(1280/s), i.e. a 1280x720 HR output (the papers' "Multi-Adds").
- ``torch_flops_lr256``: ``torch.utils.flop_counter.FlopCounterMode`` total (2 FLOPs per multiply-add).

Counting runs on private deep copies, so the caller's model is never changed, and by default under
:class:`~bench.complexity.shape_only.ShapeOnlyMode` (shapes without arithmetic). A model that reads
tensor values falls back to real tensors automatically (``protocol["execution"]`` says which).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from . import counters
from .census import OpCensus, torch_flop_formula_missing
from .ntire import NtireCounter

__all__ = ["ComplexityRecord", "measure_complexity", "lr_size_for_hr", "NTIRE_LR", "HR_SIZE"]

NTIRE_LR = (256, 256)
HR_SIZE = (720, 1280)  # H x W of the HR output for the papers' Multi-Adds
DISAGREE = 0.02  # relative difference that triggers a warning between counters that should agree


@dataclass
class ComplexityRecord:
    """One model at one scale under every counting convention (see the module docstring)."""

    model: str
    scale: int
    kind: str = "complexity"
    params: int | None = None
    params_before_forward: int | None = None
    params_trainable: int | None = None
    params_thop: int | None = None
    fvcore_flops_lr256: int | None = None
    fvcore_by_operator: dict[str, int] = field(default_factory=dict)
    ntire22_hook_flops_lr256: int | None = None
    thop_macs_hr1280x720: int | None = None
    ptflops_macs_hr1280x720: int | None = None
    fvcore_flops_hr1280x720: int | None = None
    torch_flops_lr256: int | None = None
    ntire_activations_lr256: int | None = None
    ntire_convs_lr256: int | None = None
    uncounted: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    by_module: dict | None = None
    status: str = "ok"
    message: str = ""
    protocol: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)


def lr_size_for_hr(scale: int, hr: tuple[int, int] = HR_SIZE) -> tuple[int, int]:
    """LR (H, W) whose x``scale`` output covers ``hr``: ceil(720/s) x ceil(1280/s)."""
    return math.ceil(hr[0] / scale), math.ceil(hr[1] / scale)


def _environment() -> dict[str, Any]:
    try:
        from bench.env import environment  # owned by the runtime helper; optional here

        return environment()
    except Exception:  # noqa: BLE001 - fall back to the minimum the contract asks for
        import platform

        return {"torch": torch.__version__, "python": platform.python_version(), "threads": torch.get_num_threads()}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"torch": torch.__version__}
    for pkg in ("fvcore", "thop", "ptflops"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "missing"
    return out


class _ScaleBound(nn.Module):
    """Wraps a multi-scale network (``forward(x, scale)``) so counters can call it with ``x`` only."""

    def __init__(self, net: nn.Module, scale: int) -> None:
        super().__init__()
        self.net = net
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, self.scale)


def _resolve(model: str | nn.Module, scale: int, device: str) -> tuple[str, nn.Module, float]:
    if isinstance(model, str):
        from models import create_model

        net = create_model(model, scale)  # random init: counting never needs weights
        name = net.esr_spec.name
    else:
        net = copy.deepcopy(model)
        spec = getattr(model, "esr_spec", None)
        name = spec.name if spec is not None else type(model).__name__
    data_range = float(getattr(net, "data_range", 1.0))
    spec = getattr(net, "esr_spec", None)
    net = net.to(device).eval()
    if spec is not None and spec.multi_scale:
        net = _ScaleBound(net, scale).eval()
    return name, net, data_range


def _input(net: nn.Module, hw: tuple[int, int], data_range: float, real: bool) -> torch.Tensor:
    ref = next(iter(net.parameters()), None)
    device = ref.device if ref is not None else torch.device("cpu")
    dtype = ref.dtype if ref is not None and ref.is_floating_point() else torch.float32
    if not real:  # values are never read in shape-only mode
        return torch.empty((1, 3, *hw), device=device, dtype=dtype)
    g = torch.Generator().manual_seed(0)
    return (torch.rand((1, 3, *hw), generator=g) * data_range).to(device=device, dtype=dtype)


class _Runner:
    """Runs one counter shape-only when possible, with real tensors otherwise, and records which."""

    def __init__(self, execution: str) -> None:
        if execution not in ("auto", "shape", "real"):
            raise ValueError(f"execution must be 'auto', 'shape' or 'real', not {execution!r}")
        self.execution = execution
        self.used: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.seconds: dict[str, float] = {}

    def __call__(self, key: str, fn, net: nn.Module, hw: tuple[int, int], data_range: float):  # noqa: ANN001
        modes = {"auto": (True, False), "shape": (True,), "real": (False,)}[self.execution]
        t0 = time.perf_counter()
        try:
            return self._attempts(key, fn, net, hw, data_range, modes)
        finally:
            self.seconds[key] = round(time.perf_counter() - t0, 3)

    def _attempts(self, key: str, fn, net: nn.Module, hw: tuple[int, int], data_range: float,  # noqa: ANN001
                  modes: tuple[bool, ...]):
        last: Exception | None = None
        for shape_only in modes:
            try:
                x = _input(net, hw, data_range, real=not shape_only)
                result = fn(copy.deepcopy(net), (x,), shape_only)
                self.used[key] = "shape-only" if shape_only else "real"
                return result
            except Exception as exc:  # noqa: BLE001 - DataDependentError or a failing counter: next mode
                last = exc
        self.errors[key] = f"{type(last).__name__}: {last}"
        return None


def _first_pass(net: nn.Module, inputs: tuple, shape_only: bool):  # noqa: ANN202
    """One forward: NTIRE hooks + activations + op census + FlopCounterMode + params after forward."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), counters.maybe_shape_only(shape_only):
        census = OpCensus(net)
        with NtireCounter(net) as ntire, census, FlopCounterMode(display=False) as fc:
            net(*inputs)
    params_after = sum(p.numel() for p in net.parameters())
    return ntire.counts, census, int(fc.get_total_flops()), params_after, net


def _rel_diff(a: int, b: int) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1)


def measure_complexity(
    model: str | nn.Module,
    scale: int,
    *,
    by_module: bool = False,
    device: str = "cpu",
    execution: str = "auto",
    hr_size: tuple[int, int] = HR_SIZE,
    lr_size: tuple[int, int] = NTIRE_LR,
) -> ComplexityRecord:
    """Count ``model`` (zoo name or module) at ``scale`` under every convention (module docstring).

    ``execution``: "auto" (shape-only, falling back to real tensors per counter), "shape" or "real".
    ``lr_size`` / ``hr_size`` change the conventions' input sizes (tests use small ones); the field
    names keep the standard sizes, and ``protocol`` records the sizes used.
    A counter that fails gives ``None`` and a warning; the record's status stays "ok" unless every
    counter failed.
    """
    started = time.perf_counter()
    scale = int(scale)
    name, net, data_range = _resolve(model, scale, device)
    rec = ComplexityRecord(model=name, scale=scale, env=_environment())
    hr_lr = lr_size_for_hr(scale, hr_size)
    rec.protocol = {
        "lr_ntire": list(lr_size),
        "lr_for_hr": list(hr_lr),
        "hr": list(hr_size),
        "data_range": data_range,
        "weights": "random init (counts do not depend on weights)",
        "fvcore": "FlopCountAnalysis(...).total(), eval mode, 1 multiply-add = 1",
        "ntire22_hook": "NTIRE 2022/23 get_model_flops rules re-implemented (bench.complexity.ntire)",
        "thop": "thop.profile multi-adds; params = parameters of modules with a thop rule",
        "ptflops": "get_model_complexity_info(backend='pytorch'), functionals counted",
        "torch_flops": "torch.utils.flop_counter.FlopCounterMode, 2 FLOPs per multiply-add",
        "versions": _versions(),
    }
    rec.params_before_forward = sum(p.numel() for p in net.parameters())
    rec.params_trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    run = _Runner(execution)

    first = run("first_pass", _first_pass, net, lr_size, data_range)
    census: OpCensus | None = None
    counted = net
    if first is not None:
        ntire, census, rec.torch_flops_lr256, rec.params, counted = first
        rec.ntire22_hook_flops_lr256 = ntire.flops
        rec.ntire_activations_lr256 = ntire.activations
        rec.ntire_convs_lr256 = ntire.convs
        # every later counter sees the model as it is after one forward (NTIRE convention)
        counted.train(False)
    fv = run("fvcore_lr256", lambda m, i, s: counters.fvcore_count(m, i, shape_only=s), counted, lr_size,
             data_range)
    if fv is not None:
        rec.fvcore_flops_lr256 = fv.total
        rec.fvcore_by_operator = dict(sorted(fv.by_operator.items()))
    fv_hr = run("fvcore_hr", lambda m, i, s: counters.fvcore_count(m, i, shape_only=s), counted, hr_lr, data_range)
    if fv_hr is not None:
        rec.fvcore_flops_hr1280x720 = fv_hr.total
    th = run("thop_hr", lambda m, i, s: counters.thop_count(m, i, shape_only=s), counted, hr_lr, data_range)
    if th is not None:
        rec.thop_macs_hr1280x720, rec.params_thop = th
    rec.ptflops_macs_hr1280x720 = run(
        "ptflops_hr", lambda m, i, s: counters.ptflops_count(m, i, shape_only=s), counted, hr_lr, data_range
    )
    rec.protocol["execution"] = dict(run.used)
    rec.protocol["seconds_by_counter"] = dict(run.seconds)

    for key, err in run.errors.items():
        rec.warnings.append(f"{key} failed: {err}")
    _explain(rec, fv, census, first[0] if first is not None else None)
    if by_module and first is not None:
        rec.by_module = _by_module(counted, first[0], fv)
    rec.protocol["seconds"] = round(time.perf_counter() - started, 2)
    if first is None and fv is None and th is None:
        rec.status, rec.message = "failed", "; ".join(rec.warnings)
    return rec


def _explain(rec: ComplexityRecord, fv, census: OpCensus | None, ntire) -> None:  # noqa: ANN001
    """Fill ``uncounted`` and the disagreement warnings."""
    unc: dict[str, list[str]] = {}
    if fv is not None:
        unc["fvcore"] = sorted(fv.unsupported)
    if census is not None:
        for counter in ("ntire22_hook", "thop", "ptflops"):
            items = set(census.unclaimed_leaf_types(counter)) if counter != "ntire22_hook" else set()
            if counter != "ptflops":
                items |= set(census.outside[counter])
            unc[counter] = sorted(items)
        unc["torch_flops"] = torch_flop_formula_missing(census.ops)
    rec.uncounted = unc
    unsupported = fv.unsupported if fv is not None else {}
    python_ops = sorted(op for op in unsupported if op.startswith("prim::PythonOp"))
    blind = [f"{', '.join(python_ops)}: custom autograd Functions / custom kernels, which torch.jit records "
             "as opaque nodes"] if python_ops else []
    if "aten::_convolution_mode" in unsupported:
        blind.append("aten::_convolution_mode: convolutions with string padding (padding='same'), which "
                     "fvcore has no handle for")
    heavy = sorted(op for op in unsupported if op not in python_ops and op != "aten::_convolution_mode"
                   and any(k in op for k in ("conv", "matmul", "mm", "einsum", "linear", "attention")))
    if heavy:
        blind.append(f"{', '.join(heavy)}: operators fvcore has no handle for")
    if python_ops:
        rec.warnings.append(
            "fvcore traces with torch.jit and cannot look inside custom autograd Functions / custom kernels "
            f"({', '.join(python_ops)}): their operations are missing from the fvcore FLOPs"
        )
    if fv is not None and ntire is not None:
        fv_conv = fv.by_operator.get("conv", 0)
        gap = f"{100 * _rel_diff(fv_conv, ntire.conv_flops):.1f}% apart"
        if fv_conv < ntire.conv_flops * (1 - DISAGREE):
            rec.warnings.append(
                f"fvcore counts {fv_conv:,} convolution MACs but the NTIRE hooks on nn.Conv2d modules count "
                f"{ntire.conv_flops:,} ({gap}); fvcore misses "
                + ("; ".join(blind) if blind else "convolutions that do not appear as aten::_convolution in the trace")
            )
        elif fv_conv > ntire.conv_flops * (1 + DISAGREE):
            functional = census.outside["ntire22_hook"].get("aten::convolution", 0) if census is not None else 0
            rec.warnings.append(
                f"fvcore counts {fv_conv:,} convolution MACs but the NTIRE hooks on nn.Conv2d modules count "
                f"{ntire.conv_flops:,} ({gap}): the hook counter misses "
                + (f"{functional} functional convolution call(s) (F.conv2d outside nn.Conv2d modules)"
                   if functional else "convolutions run outside nn.Conv2d modules")
            )
        if fv.total < ntire.flops * (1 - DISAGREE):
            rec.warnings.append(
                f"fvcore total {fv.total:,} is {100 * _rel_diff(fv.total, ntire.flops):.1f}% below the NTIRE "
                f"hook counter's {ntire.flops:,}, although the hook counter counts only a subset of operators: "
                "fvcore misses work" + (f" ({'; '.join(blind)})" if blind else "")
            )
    if rec.params is not None and rec.params_before_forward is not None and rec.params != rec.params_before_forward:
        rec.warnings.append(
            f"parameters change on the first forward ({rec.params_before_forward:,} -> {rec.params:,}): "
            "the model re-parameterises itself; NTIRE counts after inference"
        )


def _by_module(net: nn.Module, ntire, fv) -> dict[str, dict[str, int | None]]:  # noqa: ANN001
    out: dict[str, dict[str, int | None]] = {}
    for name, child in net.named_children():
        out[name] = {
            "params": sum(p.numel() for p in child.parameters()),
            "fvcore_flops_lr256": (fv.by_module.get(name, 0) if fv is not None else None),
            "ntire22_hook_flops_lr256": ntire.flops_by_module.get(name, 0),
            "ntire_activations_lr256": ntire.activations_by_module.get(name, 0),
            "ntire_convs_lr256": ntire.convs_by_module.get(name, 0),
        }
    return out
