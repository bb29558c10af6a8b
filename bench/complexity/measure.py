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
- ``complete_macs_lr256`` / ``complete_macs_hr1280x720``: every operator that does arithmetic, in MACs,
  by the rule of :mod:`bench.complexity.complete` (not an official convention: no challenge ranks on it),
  with ``complete_by_operator`` / ``complete_by_category`` (LR 256x256).

Cross-checks (:mod:`bench.complexity.crosscheck`): every counter's multiply-add figure is compared with
the complete count; each gap becomes a ``warnings`` line naming the counter, the direction, the MACs and
the cause, and a structured entry in ``crosscheck``. A model carrying thop / ptflops state from the
user's own profiling is counted on a cleaned copy (``foreign_state`` lists what was removed).

Counting runs on private deep copies, so the caller's model is never changed, and by default under
:class:`~bench.complexity.shape_only.ShapeOnlyMode` (shapes without arithmetic). A model that reads
tensor values falls back to real tensors automatically (``protocol["execution"]`` says which).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..env import environment
from ..sizes import HR_SIZE, NTIRE_LR, lr_size_for_hr
from . import counters, crosscheck
from .census import OpCensus, torch_flop_formula_missing
from .complete import CompleteCounter
from .foreign import clean_foreign_state
from .ntire import NtireCounter

__all__ = ["ComplexityRecord", "measure_complexity", "lr_size_for_hr", "NTIRE_LR", "HR_SIZE", "HEADLINE_FIGURES"]

#: The figures a table or a ranking uses: NTIRE params, the paper's thop params and Multi-Adds (table 5),
#: the NTIRE 2024-2026 fvcore FLOPs and the NTIRE 2022/2023 hook FLOPs, activations and convs. A record
#: missing any of them has status "partial" (never "ok"): a report shows "-" there, never another figure.
HEADLINE_FIGURES = ("params", "params_thop", "thop_macs_hr1280x720", "fvcore_flops_lr256",
                    "ntire22_hook_flops_lr256", "ntire_activations_lr256", "ntire_convs_lr256")
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
    complete_macs_lr256: int | None = None
    complete_macs_hr1280x720: int | None = None
    complete_by_operator: dict[str, int] = field(default_factory=dict)
    complete_by_category: dict[str, int] = field(default_factory=dict)
    complete_unknown_ops: list[str] = field(default_factory=list)
    crosscheck: list[dict[str, Any]] = field(default_factory=list)
    foreign_state: list[str] = field(default_factory=list)
    uncounted: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    by_module: dict | None = None
    status: str = "ok"
    message: str = ""
    protocol: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)


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


def _resolve(model: str | nn.Module, scale: int, device: str) -> tuple[str, nn.Module, float, list[str]]:
    foreign: list[str] = []
    if isinstance(model, str):
        from models import create_model

        net = create_model(model, scale)  # random init: counting never needs weights
        name = net.esr_spec.name
    else:
        net = copy.deepcopy(model)
        foreign = clean_foreign_state(net)  # the caller's model keeps its state; we count a clean copy
        spec = getattr(model, "esr_spec", None)
        name = spec.name if spec is not None else type(model).__name__
    data_range = float(getattr(net, "data_range", 1.0))
    spec = getattr(net, "esr_spec", None)
    net = net.to(device).eval()
    if spec is not None and spec.multi_scale:
        net = _ScaleBound(net, scale).eval()
    return name, net, data_range, foreign


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
    """One forward: NTIRE hooks + activations + op census + complete count + FlopCounterMode + params."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), counters.maybe_shape_only(shape_only):
        census = OpCensus(net)
        # the complete counter innermost: it sees each operator before FlopCounterMode decomposes it
        with NtireCounter(net) as ntire, census, FlopCounterMode(display=False) as fc, CompleteCounter() as full:
            net(*inputs)
    params_after = sum(p.numel() for p in net.parameters())
    torch_by_op = dict(fc.get_flop_counts().get("Global", {}))
    return ntire.counts, census, int(fc.get_total_flops()), params_after, net, full.result(net), torch_by_op


def _complete_pass(net: nn.Module, inputs: tuple, shape_only: bool):  # noqa: ANN202
    """Complete count + op census at another input size (the HR-output size of thop / ptflops)."""
    with torch.no_grad(), counters.maybe_shape_only(shape_only):
        census = OpCensus(net)
        with census, CompleteCounter() as full:
            net(*inputs)
    return full.result(net), census


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
    A counter that fails gives ``None`` and a warning naming it. Status: "failed" when the first pass,
    fvcore and thop all failed; "partial" (message naming the missing figures) when any of
    :data:`HEADLINE_FIGURES` is missing; else "ok".
    """
    started = time.perf_counter()
    scale = int(scale)
    name, net, data_range, foreign = _resolve(model, scale, device)
    rec = ComplexityRecord(model=name, scale=scale, env=environment(), foreign_state=foreign)
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
        "complete": "FlopCounterMode with the formula registry of bench.complexity.complete (MACs; every "
                    "arithmetic operator; elementwise 1 per output element); not an official convention",
        "versions": _versions(),
    }
    rec.params_before_forward = sum(p.numel() for p in net.parameters())
    rec.params_trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    run = _Runner(execution)

    first = run("first_pass", _first_pass, net, lr_size, data_range)
    census: OpCensus | None = None
    counted = net
    full_lr = None
    torch_by_op: dict = {}
    if first is not None:
        ntire, census, rec.torch_flops_lr256, rec.params, counted, full_lr, torch_by_op = first
        rec.complete_macs_lr256 = full_lr.total
        rec.complete_by_operator = full_lr.by_operator
        rec.complete_by_category = full_lr.by_category
        rec.complete_unknown_ops = full_lr.unknown
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
    hr = run("complete_hr", _complete_pass, counted, hr_lr, data_range)
    if hr is not None:
        rec.complete_macs_hr1280x720 = hr[0].total
    shared = crosscheck.shared_modules(counted)
    deshared: dict[str, Any] = {}
    if shared:  # re-count thop / ptflops with one instance per parent: their excess is the sharing's
        flat = crosscheck.deshare(counted)
        deshared["thop"] = run("thop_hr_deshared", lambda m, i, s: counters.thop_count(m, i, shape_only=s), flat,
                               hr_lr, data_range)
        deshared["ptflops"] = run("ptflops_hr_deshared",
                                  lambda m, i, s: counters.ptflops_count(m, i, shape_only=s), flat, hr_lr, data_range)
    rec.protocol["execution"] = dict(run.used)
    rec.protocol["seconds_by_counter"] = dict(run.seconds)

    for key, err in run.errors.items():
        rec.warnings.append(f"{key} failed: {err}")
    _explain(rec, fv, census, first[0] if first is not None else None)
    findings = _cross_check(rec, fv, census, first[0] if first is not None else None, full_lr, torch_by_op, hr,
                            th, shared, deshared)
    rec.crosscheck = [vars(f) for f in findings]
    rec.warnings.extend(f.message() for f in findings)
    if rec.complete_unknown_ops:
        rec.warnings.append(f"the complete count has no rule for {', '.join(rec.complete_unknown_ops)} "
                            "(counted 0): add it to bench/complexity/complete.py")
    if rec.foreign_state:
        rec.warnings.append("the model carried another counter's state (" + "; ".join(rec.foreign_state)
                            + "): counted on a cleaned copy")
    if by_module and first is not None:
        rec.by_module = _by_module(counted, first[0], fv)
    rec.protocol["seconds"] = round(time.perf_counter() - started, 2)
    missing = [f for f in HEADLINE_FIGURES if getattr(rec, f) is None]
    if first is None and fv is None and th is None:
        rec.status, rec.message = "failed", "; ".join(rec.warnings)
    elif missing:
        rec.status = "partial"
        rec.message = (f"missing headline figure(s) {', '.join(missing)}: "
                       + "; ".join(f"{k} failed: {e}" for k, e in run.errors.items()))
    return rec


def _explain(rec: ComplexityRecord, fv, census: OpCensus | None, ntire) -> None:  # noqa: ANN001
    """Fill ``uncounted`` and the re-parameterisation warning."""
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
    if rec.params is not None and rec.params_before_forward is not None and rec.params != rec.params_before_forward:
        rec.warnings.append(
            f"parameters change on the first forward ({rec.params_before_forward:,} -> {rec.params:,}): "
            "the model re-parameterises itself; NTIRE counts after inference"
        )


def _cross_check(rec: ComplexityRecord, fv, census, ntire, full_lr, torch_by_op, hr, th,  # noqa: ANN001
                 shared: dict[str, list[str]], deshared: dict[str, Any]) -> list[crosscheck.Finding]:
    """Every counter against the complete count (see :mod:`bench.complexity.crosscheck`)."""
    out: list[crosscheck.Finding] = []
    if full_lr is None:
        return out
    lr = "LR {}x{}".format(*rec.protocol["lr_ntire"])
    hr_text = "HR {1}x{0}".format(*rec.protocol["hr"])
    if fv is not None:
        out += crosscheck.check_fvcore(fv, full_lr, lr)
    out += crosscheck.check_torch(torch_by_op, full_lr, lr)
    out += crosscheck.check_hook(ntire, census, full_lr, lr)
    if hr is not None:
        full_hr, census_hr = hr
        th_flat = deshared.get("thop")
        params = (th[1], rec.params) if th is not None and rec.params is not None else None
        out += crosscheck.check_module_counter(
            "thop", census_hr, full_hr, rec.thop_macs_hr1280x720, th_flat[0] if th_flat is not None else None,
            shared, params, hr_text)
        out += crosscheck.check_module_counter(
            "ptflops", census_hr, full_hr, rec.ptflops_macs_hr1280x720, deshared.get("ptflops"), shared, None,
            hr_text)
    return out


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
