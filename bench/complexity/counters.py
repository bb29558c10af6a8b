"""Thin, exact wrappers around the third-party counters (fvcore, thop, ptflops, FlopCounterMode).

Each wrapper counts on the module it is given (callers pass a private copy), returns exact ints and
never prints. ``shape_only=True`` runs the forward under :class:`ShapeOnlyMode` (no arithmetic).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from .shape_only import ShapeOnlyMode, inside_shape_inference

__all__ = ["FvcoreCounts", "fvcore_count", "FVCORE_MISSING_HANDLES", "thop_count", "ptflops_count",
           "torch_flops_count", "maybe_shape_only"]


@contextlib.contextmanager
def maybe_shape_only(enabled: bool) -> Iterator[ShapeOnlyMode | None]:
    if enabled:
        with ShapeOnlyMode() as mode:
            yield mode
    else:
        yield None


@contextlib.contextmanager
def _quiet() -> Iterator[io.StringIO]:
    """Silence the counters' prints, warnings and log messages (what they printed is yielded)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        level = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            yield buf
        finally:
            logging.disable(level)


@dataclass
class FvcoreCounts:
    """``fvcore.nn.FlopCountAnalysis`` results (one fused multiply-add = 1)."""

    total: int
    by_operator: dict[str, int]
    by_module: dict[str, int]  # top-level children only
    unsupported: dict[str, int] = field(default_factory=dict)
    # MAC-carrying operators fvcore traced but has no handle for: op -> {leaf module: MACs it would add}
    missing: dict[str, dict[str, int]] = field(default_factory=dict)


def _conv_mode_macs(inputs: list, outputs: list) -> int:
    """``aten::_convolution_mode`` (string padding): fvcore's own conv formula on the traced shapes."""
    from fvcore.nn.jit_handles import conv_flop_count, get_shape

    return int(conv_flop_count(get_shape(inputs[0]), get_shape(inputs[1]), get_shape(outputs[0]), False))


def _sdpa_macs(inputs: list, outputs: list) -> int:
    """``aten::scaled_dot_product_attention``: QK^T + AV = B*H*L*S*(E + Ev) multiply-adds."""
    from fvcore.nn.jit_handles import get_shape

    q, k, v = (get_shape(t) for t in inputs[:3])
    lead = 1
    for d in q[:-2]:
        lead *= d
    return int(lead * q[-2] * k[-2] * (q[-1] + v[-1]))


# Handles fvcore 0.1.5 lacks for operators that carry multiply-adds (used only to measure what the
# official count misses; the official figure never uses them).
FVCORE_MISSING_HANDLES = {
    "aten::_convolution_mode": _conv_mode_macs,
    "aten::scaled_dot_product_attention": _sdpa_macs,
}


def _leaf_counts(per_module: dict, op: str) -> dict[str, int]:
    """fvcore's per-module counts of ``op`` (every ancestor holds a copy) -> the innermost modules only."""
    names = {m: int(c[op]) for m, c in per_module.items() if c.get(op)}
    return {m: n for m, n in names.items() if not any(o.startswith(m + ".") if m else o for o in names if o != m)}


def fvcore_count(model: nn.Module, inputs: tuple, *, shape_only: bool) -> FvcoreCounts:
    """``FlopCountAnalysis(model, inputs)`` in eval mode, as NTIRE 2024-2026 report it.

    ``missing`` re-counts with :data:`FVCORE_MISSING_HANDLES` added (``set_op_handle``), per leaf module,
    when the trace holds such operators; ``total`` and ``by_operator`` stay fvcore's own figures.
    """
    from fvcore.nn import FlopCountAnalysis

    model.eval()
    with _quiet(), torch.no_grad():
        fca = FlopCountAnalysis(model, inputs)
        fca.unsupported_ops_warnings(False)
        fca.uncalled_modules_warnings(False)
        fca.tracer_warnings("none")
        with maybe_shape_only(shape_only):
            total = fca.total()
        by_op = {k: int(v) for k, v in fca.by_operator().items()}
        by_mod = {k: int(v) for k, v in fca.by_module().items() if k and "." not in k}
        unsupported = {k: int(v) for k, v in fca.unsupported_ops().items()}
        missing: dict[str, dict[str, int]] = {}
        extra = {op: h for op, h in FVCORE_MISSING_HANDLES.items() if op in unsupported}
        if extra:
            fca.set_op_handle(**extra)
            with maybe_shape_only(shape_only):
                per_module = fca.by_module_and_operator()
            for op in extra:
                key = next((k for k in per_module.get("", {}) if op.endswith(k)), None)
                if key is not None:
                    missing[op] = _leaf_counts(per_module, key)
    return FvcoreCounts(int(total), by_op, by_mod, unsupported, missing)


def thop_count(model: nn.Module, inputs: tuple, *, shape_only: bool) -> tuple[int, int]:
    """``thop.profile(model, inputs)`` -> (multi-adds, params) as exact ints.

    thop attaches ``total_ops``/``total_params`` buffers and hooks; pass a copy.
    """
    import thop

    with _quiet(), maybe_shape_only(shape_only):
        macs, params = thop.profile(model, inputs=inputs, verbose=False)
    return int(round(float(macs))), int(round(float(params)))


@contextlib.contextmanager
def _ptflops_ignore_shape_inference() -> Iterator[None]:
    """ptflops patches ``torch.*`` / ``F.*`` globally; meta kernels that call them must not count."""
    from ptflops import pytorch_engine

    wrapper = pytorch_engine.torch_function_wrapper
    original = wrapper.__call__

    def guarded(self, *args, **kwargs):  # noqa: ANN001, ANN202
        if inside_shape_inference():
            return self.op(*args, **kwargs)
        return original(self, *args, **kwargs)

    wrapper.__call__ = guarded
    try:
        yield
    finally:
        wrapper.__call__ = original


def ptflops_count(model: nn.Module, inputs: tuple, *, shape_only: bool) -> int:
    """ptflops 0.7.x ``get_model_complexity_info`` (pytorch backend, functionals counted) -> MACs."""
    import torch._dynamo  # noqa: F401  (5 s to import: only here, before ptflops patches torch.* functions)
    from ptflops import get_model_complexity_info

    x = inputs[0]
    with _quiet() as printed, _ptflops_ignore_shape_inference(), maybe_shape_only(shape_only):
        macs, _ = get_model_complexity_info(
            model, tuple(x.shape[1:]), as_strings=False, print_per_layer_stat=False,
            input_constructor=lambda _res: x, backend="pytorch",
        )
    if macs is None:  # ptflops swallows the exception and prints it
        lines = [ln for ln in printed.getvalue().splitlines() if ln.strip()]
        raise RuntimeError("ptflops failed: " + (lines[-1] if lines else "no message"))
    return int(macs)


def torch_flops_count(model: nn.Module, inputs: tuple, *, shape_only: bool) -> int:
    """``torch.utils.flop_counter.FlopCounterMode`` total (2 FLOPs per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), maybe_shape_only(shape_only), FlopCounterMode(display=False) as counter:
        model(*inputs)
    return int(counter.get_total_flops())
