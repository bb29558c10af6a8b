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

__all__ = ["FvcoreCounts", "fvcore_count", "thop_count", "ptflops_count", "torch_flops_count", "maybe_shape_only"]


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


def fvcore_count(model: nn.Module, inputs: tuple, *, shape_only: bool) -> FvcoreCounts:
    """``FlopCountAnalysis(model, inputs)`` in eval mode, as NTIRE 2024-2026 report it."""
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
    return FvcoreCounts(int(total), by_op, by_mod, unsupported)


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
