"""Cross-checks: which counter is high or low, by how many MACs, and why.

Every counter is compared, on the multiply-add operators (convolution, matmul, attention) that all of
their conventions include, with the complete count (:mod:`bench.complexity.complete`, torch's formula
registry). A gap is explained by a per-operator / per-module diff:

- an operator a counter has no handle / rule for (fvcore: string-padding convolutions, SDPA, custom
  autograd Functions; torch ``FlopCounterMode``: the CPU flash-attention kernel; the NTIRE hook counter,
  thop, ptflops: work outside the modules they hook, e.g. ``F.conv2d``, ``q @ k``, SDPA), always reported
  with the MACs it would have added, however small;
- a module shared by several parents, which thop and ptflops count once per parent (measured exactly by
  re-counting a copy in which every parent owns its own instance, :func:`deshare`);
- anything else left over, when above :data:`TOLERANCE` (the figures are then printed side by side).

Only a counter whose own figure deviates is named: a counter that agrees with the complete count never
gets a warning.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from torch import nn

from .complete import CATEGORY, MAC_CATEGORIES, CompleteCount, complete_count, op_name

__all__ = ["Finding", "TOLERANCE", "deshare", "shared_modules", "fvcore_mac_ops", "torch_mac_ops",
           "check_fvcore", "check_torch", "check_hook", "check_module_counter", "uncounted_convs", "CONVENTIONS",
           "distances"]

TOLERANCE = 0.001  # relative gap left unexplained before it is reported (ptflops adds conv biases: < 0.1%)
FVCORE_MAC_KEYS = ("conv", "matmul", "bmm", "einsum", "linear", "addmm", "mm")
_WHY_FVCORE = {
    "aten::_convolution_mode": "convolutions with string padding (padding='same'/'valid') are traced as "
                               "aten::_convolution_mode, which fvcore has no handle for",
    "aten::scaled_dot_product_attention": "F.scaled_dot_product_attention has no fvcore handle",
}
_WHY_OUTSIDE = {
    "conv": "convolution(s) run outside the modules it hooks (functional F.conv2d or an unknown conv module)",
    "matmul": "matmul(s) outside nn.Linear (q @ k, torch.matmul, einsum, bmm)",
    "attention": "F.scaled_dot_product_attention (a function, not a module)",
}


@dataclass
class Finding:
    """One explained (or unexplained) gap: ``counter`` is ``direction`` ("low"/"high") by ``macs``."""

    counter: str
    direction: str
    macs: int
    reference: int
    cause: str
    size: str = "LR 256x256"

    def message(self) -> str:
        pct = 100 * self.macs / max(self.reference, 1)
        return (f"{self.counter} is {self.direction} by {self.macs:,} MACs ({pct:.2f}% of the {self.reference:,} "
                f"multiply-add MACs of the complete count, {self.size}): {self.cause}")


def _where(modules: dict[str, int]) -> str:
    names = [m or "(root)" for m in modules]
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return f"{len(names)} module(s): {shown}"


def _left_over(counter: str, value: int, reference: int, explained: int, size: str, detail: str) -> list[Finding]:
    """``explained``: MACs the findings so far account for (low ones positive, high ones negative)."""
    gap = reference - explained - value
    if abs(gap) <= TOLERANCE * max(reference, 1):
        return []
    return [Finding(counter, "low" if gap > 0 else "high", abs(gap), reference,
                    f"not explained by the per-operator diff ({detail})", size)]


def fvcore_mac_ops(by_operator: dict[str, int]) -> int:
    """fvcore's convolution + matmul figures (its ``by_operator`` keys)."""
    return sum(v for k, v in by_operator.items() if k in FVCORE_MAC_KEYS)


def torch_mac_ops(by_packet: dict[Any, int]) -> dict[str, int]:
    """Official ``FlopCounterMode`` counts of the multiply-add operators, in MACs (FLOPs / 2), by operator."""
    out: dict[str, int] = {}
    for packet, flops in by_packet.items():
        if CATEGORY.get(packet) in MAC_CATEGORIES:
            out[op_name(packet)] = out.get(op_name(packet), 0) + int(flops) // 2
    return out


def _mac_ops_by_op(c: CompleteCount) -> dict[str, int]:
    from .complete import category_of

    return {op: n for op, n in c.by_operator.items() if category_of(op) in MAC_CATEGORIES}


def check_fvcore(fv: Any, complete: CompleteCount, size: str = "LR 256x256") -> list[Finding]:
    """fvcore vs the complete count: operators without handles (per leaf module), opaque Python ops."""
    ref = complete.mac_ops
    value = fvcore_mac_ops(fv.by_operator)
    out = []
    for op, where in sorted(fv.missing.items()):
        macs = sum(where.values())
        out.append(Finding("fvcore", "low", macs, ref, f"{_WHY_FVCORE.get(op, op + ' has no fvcore handle')}; "
                           f"{fv.unsupported.get(op, 0)} call(s) in {_where(where)}", size))
    explained = sum(f.macs for f in out)
    python_ops = sorted(op for op in fv.unsupported if op.startswith("prim::PythonOp"))
    hidden = ref - value - explained
    if python_ops and hidden > 0:
        out.append(Finding("fvcore", "low", hidden, ref, "fvcore traces with torch.jit and cannot look inside "
                           f"custom autograd Functions / custom kernels ({', '.join(python_ops)})", size))
        explained += hidden
    return out + _left_over("fvcore", value, ref, explained, size, f"fvcore {value:,} vs complete {ref:,}")


def check_torch(official: dict[Any, int], complete: CompleteCount, size: str = "LR 256x256") -> list[Finding]:
    """``FlopCounterMode`` (official registry) vs the complete count, operator by operator."""
    ref = complete.mac_ops
    theirs = torch_mac_ops(official)
    out = []
    for op, n in _mac_ops_by_op(complete).items():
        gap = n - theirs.get(op, 0)
        if gap > 0:
            out.append(Finding("torch_flops", "low", gap, ref, f"FlopCounterMode has no formula for {op} "
                               f"(counts 0 of its {n:,} MACs)", size))
    explained = sum(f.macs for f in out)
    return out + _left_over("torch_flops", sum(theirs.values()), ref, explained, size,
                            f"FlopCounterMode {sum(theirs.values()):,} MACs vs complete {ref:,}")


def _outside(counter: str, outside_macs: dict[str, int], calls: dict[str, int], ref: int, size: str,
             rule: str) -> list[Finding]:
    from .complete import category_of

    out = []
    for op, macs in sorted(outside_macs.items()):
        if macs > 0:
            why = _WHY_OUTSIDE.get(category_of(op), op)
            out.append(Finding(counter, "low", macs, ref, f"{op} x{calls.get(op, 0)}: {why}; {rule}", size))
    return out


def _transposed(counter: str, census: Any, ref: int, size: str) -> list[Finding]:
    if census.transposed_excess <= 0:
        return []
    return [Finding(counter, "high", census.transposed_excess, ref, f"{census.transposed_calls} nn.ConvTranspose "
                    "call(s): its formula multiplies by the output positions, stride^2 times the input positions "
                    "a transposed convolution really visits", size)]


def check_hook(ntire: Any, census: Any, complete: CompleteCount, size: str = "LR 256x256") -> list[Finding]:
    """The NTIRE 2022/23 hook counter (conv + Linear modules) vs the complete count."""
    ref = complete.mac_ops
    value = ntire.conv_flops + ntire.linear_flops
    out = _outside("ntire22_hook", census.outside_macs["ntire22_hook"], census.outside["ntire22_hook"], ref, size,
                   "the official hooks sit on nn.Conv2d/ConvTranspose2d/Linear/BN/ReLU modules only")
    out += _transposed("ntire22_hook", census, ref, size)
    explained = sum(f.macs if f.direction == "low" else -f.macs for f in out)
    return out + _left_over("ntire22_hook", value, ref, explained, size,
                            f"hook conv+Linear {value:,} vs complete {ref:,}")


def check_module_counter(counter: str, census: Any, complete: CompleteCount, value: int | None,
                         deshared: int | None, shared: dict[str, list[str]], params: tuple[int, int] | None = None,
                         size: str = "HR 1280x720") -> list[Finding]:
    """thop / ptflops: operators outside what they hook (low), modules shared by parents (high).

    ``value`` is the counter's total on the model, ``deshared`` its total on :func:`deshare`'s copy,
    ``params`` (thop only) the counter's parameter count and ``sum(numel)`` of the model's parameters.
    """
    ref = complete.mac_ops
    rule = ("thop hooks nn modules only" if counter == "thop" else
            "ptflops hooks nn modules and a few torch.*/F.* functions (not the @ operator, F.conv2d or SDPA)")
    out = _outside(counter, census.outside_macs[counter], census.outside[counter], ref, size, rule)
    if counter == "thop":  # ptflops counts transposed convolutions per input position
        out += _transposed(counter, census, ref, size)
    if value is not None and deshared is not None and value > deshared:
        excess = value - deshared
        # the shared modules' own MACs (FlopCounterMode names a shared module by one of its paths)
        true = sum(next((complete.by_module_path[p] for p in paths if p in complete.by_module_path), 0)
                   for paths in shared.values())
        times = f" (counted {1 + excess / true:.2f}x)" if true else ""
        names = "; ".join(" = ".join(p) for p in shared.values())
        how = ("thop registers its hooks once per path to a module and adds each parent's total"
               if counter == "thop" else "ptflops registers its hook once per path to a module")
        text = f"module(s) shared by several parents ({names}){times}: {how}"
        if params is not None and params[0] > params[1]:
            text += (f"; its params are {params[0] - params[1]:,} high too ({params[0]:,} vs "
                     f"{params[1]:,} = sum(numel), shared parameters counted once per parent)")
        out.append(Finding(counter, "high", excess, ref, text, size))
    return out


def shared_modules(model: nn.Module) -> dict[str, list[str]]:
    """Modules reachable under more than one path, outermost only: first path -> every path."""
    paths: dict[int, list[str]] = {}
    for name, m in model.named_modules(remove_duplicate=False):
        paths.setdefault(id(m), []).append(name)
    shared = {p[0]: p for p in paths.values() if len(p) > 1}
    return {k: v for k, v in shared.items()
            if not any(k.startswith(o + ".") for o in shared if o != k)}


def deshare(model: nn.Module) -> nn.Module:
    """A deep copy in which every parent owns its own instance of each child (shared modules copied)."""
    net = copy.deepcopy(model)
    seen: set[int] = set()

    def visit(parent: nn.Module) -> None:
        for key, child in list(parent._modules.items()):
            if child is None:
                continue
            if id(child) in seen:
                child = copy.deepcopy(child)
                parent._modules[key] = child
            seen.add(id(child))
            visit(child)

    seen.add(id(net))
    visit(net)
    return net


def uncounted_convs(model: nn.Module, inputs: tuple, *, shape_only: bool = True,
                    conv_macs: int | None = None) -> list[dict[str, Any]]:
    """Convolution MACs the official fvcore count (NTIRE 2024-2026) misses, one entry per cause.

    ``inputs``: the model's input tuple (e.g. ``(1x3x256x256 tensor,)`` in the model's range). Returns
    ``[{"op": ..., "modules": {name: MACs}, "macs": int, "cause": str}]`` (empty when fvcore sees every
    convolution): string-padding convolutions per leaf module, convolutions hidden in custom autograd
    Functions (``prim::PythonOp``) as the remainder against the complete count. Counting runs on a copy,
    shape-only when possible (real tensors otherwise; ``shape_only=False`` skips shape-only mode, whose
    first use imports ``torch._dynamo``, seconds that a small model's real forward does not cost);
    ``conv_macs``: the caller's own count of every convolution module's MACs (e.g. forward hooks), used
    for the custom-Function remainder instead of the complete count (``FlopCounterMode`` also imports
    ``torch._dynamo``). Raises what the model's forward raises.
    """
    from .counters import fvcore_count
    from .shape_only import DataDependentError

    net = copy.deepcopy(model).eval()
    try:
        fv = fvcore_count(copy.deepcopy(net), inputs, shape_only=shape_only)
    except DataDependentError:
        shape_only = False
        fv = fvcore_count(copy.deepcopy(net), inputs, shape_only=False)
    out = []
    mode = fv.missing.get("aten::_convolution_mode", {})
    if mode:
        out.append({"op": "aten::_convolution_mode", "modules": dict(mode), "macs": sum(mode.values()),
                    "cause": _WHY_FVCORE["aten::_convolution_mode"]})
    python_ops = sorted(op for op in fv.unsupported if op.startswith("prim::PythonOp"))
    if not python_ops:  # every other convolution is an aten::_convolution node fvcore counts
        return out
    if conv_macs is None:
        try:
            conv_macs = complete_count(copy.deepcopy(net), inputs, shape_only=shape_only).by_category.get("conv", 0)
        except DataDependentError:
            conv_macs = complete_count(copy.deepcopy(net), inputs, shape_only=False).by_category.get("conv", 0)
    hidden = conv_macs - fv.by_operator.get("conv", 0) - sum(mode.values())
    if hidden > 0:
        out.append({"op": ", ".join(python_ops), "modules": {}, "macs": int(hidden),
                    "cause": "convolutions inside custom autograd Functions / kernels, opaque to torch.jit"})
    return out


# (record field, complete field at the same input size, FLOPs per MAC of the convention)
CONVENTIONS = (
    ("fvcore_flops_lr256", "complete_macs_lr256", 1),
    ("ntire22_hook_flops_lr256", "complete_macs_lr256", 1),
    ("torch_flops_lr256", "complete_macs_lr256", 2),
    ("thop_macs_hr1280x720", "complete_macs_hr1280x720", 1),
    ("ptflops_macs_hr1280x720", "complete_macs_hr1280x720", 1),
    ("fvcore_flops_hr1280x720", "complete_macs_hr1280x720", 1),
)


def distances(rec: Any) -> list[dict[str, Any]]:
    """Each official convention's distance from the complete count at the same input size.

    ``rec``: a complexity record or its JSON dict. Returns ``[{"field", "macs", "complete", "diff",
    "rel"}]`` with the convention in MACs (torch's FLOPs halved), ``diff = macs - complete`` and ``rel =
    diff / complete`` (negative: the convention counts less than the complete rule); conventions or
    complete figures that are missing are left out.
    """
    get = rec.get if isinstance(rec, dict) else (lambda k: getattr(rec, k, None))
    out = []
    for key, ref_key, per_mac in CONVENTIONS:
        value, ref = get(key), get(ref_key)
        if value is None or not ref:
            continue
        macs = int(value) // per_mac
        out.append({"field": key, "macs": macs, "complete": int(ref), "diff": macs - int(ref),
                    "rel": (macs - int(ref)) / int(ref)})
    return out
