"""The ``complete`` count: every operator that does arithmetic, on torch's own flop-formula registry.

No official counter counts everything: fvcore has no handle for string-padding convolutions or
``F.scaled_dot_product_attention``, torch's ``FlopCounterMode`` has no formula for the CPU flash
attention kernel, thop and ptflops only see modules (and a few patched functions), the NTIRE hook
counter only ``nn.Conv2d``/``Linear``/BN/ReLU. The ``complete`` figure runs
``torch.utils.flop_counter.FlopCounterMode`` with its formula registry replaced by
:data:`COMPLETE_FORMULAS` (torch's matmul / convolution / attention formulas, halved to MACs, plus the
rules below), so it sees every ATen operator after torch's own decompositions, inside custom autograd
Functions included.

Counting rule (unit: MACs, one multiply-add = 1, as fvcore and the NTIRE 2024-2026 "FLOPs"):

- **convolution** (every padding mode, grouped, transposed): torch's ``conv_flop_count / 2``
  = output positions x (C_in / groups) x kernel taps (transposed: per *input* position); bias not counted
  (fvcore's and torch's convention);
- **matmul** (``mm``, ``addmm``, ``bmm``, ``baddbmm``; ``linear``, ``matmul`` and ``einsum`` decompose into
  them): M x N x K per batch; the added bias / input of ``addmm``/``baddbmm`` not counted (torch's rule);
- **attention** (every ``_scaled_dot_product_*`` kernel, CPU flash included): QK^T and AV as two batched
  matmuls (torch's ``sdpa_flop_count / 2``) plus, per attention score, 1 for the scaling and 3 for the
  softmax (exp, sum, divide), the same as an explicit ``(q @ k^T * s).softmax(-1) @ v`` counts;
- **elementwise** (arithmetic, activations, comparisons-with-arithmetic such as clamp / maximum): 1 per
  output element, whatever the function (the NTIRE hook counter's rule for activations);
- **reductions** (sum, mean, amax, var, norms ...): 1 per input element; **softmax** /
  **log_softmax**: 3 per element;
- **normalisation**: fvcore's rules: layer / group / instance norm and training-mode batch norm
  5 per element with an affine transform, 4 without; inference batch norm 2 per element (1 without affine);
- **interpolation**: per output element, the number of taps: nearest 1, linear 2, bilinear and
  ``grid_sample`` 4 (fvcore), bicubic 16, trilinear 8; **pooling**: kernel taps per output element,
  adaptive average pooling 1 per input element (fvcore);
- **data movement** (views, copies, ``cat``, padding, ``pixel_shuffle``, indexing): 0.

An operator outside these lists is reported in ``unknown`` (it counts 0 and the record says so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from math import prod
from typing import Any

import torch
from torch import nn
from torch.utils import flop_counter as tfc

__all__ = ["COMPLETE_FORMULAS", "CATEGORY", "CompleteCount", "complete_count", "op_name", "category_of"]

aten = torch.ops.aten


# The formulas are module-level functions, bound to their constants with ``functools.partial`` in the
# registry below (not closures built by factories at import), so that all their arithmetic runs, and can
# be checked, at counting time.


def _half_macs(formula: Callable[..., int], *args: Any, **kwargs: Any) -> int:
    """torch's formulas count 2 FLOPs per multiply-add; the complete count is in MACs.

    ``formula`` is one of torch's registered formulas: it takes the operator's tensors (``out_val=``) and
    reads their shapes itself, so :func:`raw_formula` does not wrap it again.
    """
    return int(formula(*args, **kwargs)) // 2


def _out_numel(*_args: Any, out_shape: Any = None, **_kwargs: Any) -> int:
    if isinstance(out_shape, (tuple, list)) and out_shape and not isinstance(out_shape[0], int):
        out_shape = out_shape[0]  # ops returning several tensors: the first is the result
    return int(prod(out_shape)) if out_shape is not None else 0


def _n_per_output(n: int, *_args: Any, out_shape: Any = None, **_kwargs: Any) -> int:
    return n * _out_numel(out_shape=out_shape)


def _n_per_input(n: int, x_shape: Any, *_args: Any, out_shape: Any = None, **_kwargs: Any) -> int:
    return n * int(prod(x_shape))


def _attention(q_shape: Any, k_shape: Any, v_shape: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """QK^T and AV: torch's formula, halved (the scale + softmax part is :data:`ATTENTION_SOFTMAX`)."""
    return tfc.sdpa_flop_count(q_shape, k_shape, v_shape) // 2


# Pseudo-operator holding the per-score scaling (1) and softmax (3) inside fused attention kernels.
ATTENTION_SOFTMAX = "attention: scale + softmax"


def _norm_count(affine_index: int, x_shape: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """5 per element with an affine transform (``args[affine_index - 1]``, the weight, not None), 4 without."""
    affine = len(args) >= affine_index and args[affine_index - 1] is not None
    return (5 if affine else 4) * int(prod(x_shape))


def _batch_norm_eval(x_shape: Any, weight: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    return (2 if weight is not None else 1) * int(prod(x_shape))


def _pool(x_shape: Any, kernel_size: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    return int(prod(kernel_size)) * _out_numel(out_shape=out_shape)


_ELEMENTWISE = (
    "add", "sub", "mul", "div", "rsub", "neg", "abs", "pow", "sqrt", "rsqrt", "exp", "exp2", "expm1", "log",
    "log2", "log1p", "reciprocal", "sigmoid", "tanh", "relu", "gelu", "silu", "leaky_relu", "hardtanh", "elu",
    "hardswish", "hardsigmoid", "mish", "softplus", "sin", "cos", "erf", "clamp", "clamp_min", "clamp_max",
    "maximum", "minimum", "_prelu_kernel", "where", "addcmul", "addcdiv", "lerp", "square", "sign", "floor",
    "ceil", "round", "trunc", "frac", "fmod", "remainder", "threshold", "relu6", "logical_not", "eq", "ne", "gt",
    "ge", "lt", "le", "masked_fill", "tril", "triu", "celu", "selu", "glu",
)
_REDUCTIONS = ("sum", "mean", "amax", "amin", "max", "min", "var", "std", "var_mean", "std_mean",
               "linalg_vector_norm", "norm", "logsumexp", "prod", "cumsum", "argmax", "argmin", "all", "any")
_ZERO = (
    "view", "_unsafe_view", "reshape", "permute", "transpose", "t", "expand", "squeeze", "unsqueeze", "slice",
    "select", "split", "split_with_sizes", "chunk", "unbind", "narrow", "as_strided", "alias", "detach", "clone",
    "copy", "copy_", "_to_copy", "contiguous", "cat", "stack", "constant_pad_nd", "reflection_pad2d",
    "replication_pad2d", "pad", "pixel_shuffle", "pixel_unshuffle", "index", "index_select", "gather", "scatter",
    "roll", "flip", "repeat", "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like",
    "full", "full_like", "fill", "fill_", "zero_", "arange", "lift_fresh", "unfold", "im2col", "col2im",
    "new_empty", "new_zeros", "new_ones", "new_full", "_local_scalar_dense", "scalar_tensor", "sym_size",
    "sym_stride", "sym_numel", "sym_storage_offset", "is_same_size", "_fused_sdp_choice", "bernoulli", "rand",
    "randn", "native_dropout", "dropout", "masked_select", "nonzero", "item", "_reshape_alias", "lift",
    "_unsafe_index", "index_put", "index_put_", "split_copy", "view_as_real", "view_as_complex", "channel_shuffle",
)

# category of each packet: "conv", "matmul" and "attention" are the MAC-carrying operators every
# counter's convention includes; the rest is the convention-dependent part.
CATEGORY: dict[Any, str] = {}
COMPLETE_FORMULAS: dict[Any, Callable[..., int]] = {}


def _register(formulas: dict, categories: dict, names: tuple[str, ...] | list[str], formula: Callable[..., int],
              category: str, inplace: bool = False) -> None:
    """Register ``formula`` and ``category`` for each ``aten.<name>`` that exists (and ``<name>_`` when
    ``inplace``) in ``formulas`` / ``categories``."""
    for n in names:
        for variant in (n, n + "_") if inplace else (n,):
            packet = getattr(aten, variant, None)
            if packet is not None:
                formulas[packet] = formula
                categories[packet] = category


_add = partial(_register, COMPLETE_FORMULAS, CATEGORY)
_add(["convolution", "_convolution", "cudnn_convolution", "convolution_overrideable", "_slow_conv2d_forward"],
     partial(_half_macs, tfc.conv_flop), "conv")
_add(["mm"], partial(_half_macs, tfc.mm_flop), "matmul")
_add(["addmm"], partial(_half_macs, tfc.addmm_flop), "matmul")
_add(["bmm"], partial(_half_macs, tfc.bmm_flop), "matmul")
_add(["baddbmm"], partial(_half_macs, tfc.baddbmm_flop), "matmul")
_add(["_scaled_dot_product_efficient_attention", "_scaled_dot_product_flash_attention",
      "_scaled_dot_product_cudnn_attention", "_scaled_dot_product_flash_attention_for_cpu",
      "_scaled_dot_product_fused_attention_overrideable"], _attention, "attention")
_add(_ELEMENTWISE, partial(_n_per_output, 1), "elementwise", inplace=True)
_add(_REDUCTIONS, partial(_n_per_input, 1), "reduction")
_add(["_softmax", "_log_softmax", "_safe_softmax", "softmax", "log_softmax"], partial(_n_per_input, 3), "softmax")
_add(["native_layer_norm"], partial(_norm_count, 2), "normalisation")
_add(["native_group_norm"], partial(_norm_count, 1), "normalisation")
_add(["_native_batch_norm_legit"], partial(_norm_count, 1), "normalisation")
_add(["_native_batch_norm_legit_no_training", "native_batch_norm"], _batch_norm_eval, "normalisation")
_add(["upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d", "_upsample_nearest_exact2d"],
     partial(_n_per_output, 1), "interpolation")
_add(["upsample_linear1d"], partial(_n_per_output, 2), "interpolation")
_add(["upsample_bilinear2d", "_upsample_bilinear2d_aa", "grid_sampler_2d"], partial(_n_per_output, 4), "interpolation")
_add(["upsample_trilinear3d"], partial(_n_per_output, 8), "interpolation")
_add(["upsample_bicubic2d", "_upsample_bicubic2d_aa"], partial(_n_per_output, 16), "interpolation")
_add(["avg_pool2d", "max_pool2d_with_indices", "avg_pool1d", "max_pool2d", "avg_pool3d",
      "max_pool3d_with_indices"], _pool, "pooling")
_add(["_adaptive_avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "_adaptive_avg_pool3d"],
     partial(_n_per_input, 1), "pooling")
_ZERO_NAMES = frozenset(_ZERO)
MAC_CATEGORIES = ("conv", "matmul", "attention")


def raw_formula(packet: Any) -> Callable[..., int]:
    """The formula of ``packet`` taking the operator's own arguments and ``out_val=`` (FlopCounterMode's call)."""
    f = COMPLETE_FORMULAS[packet]
    return f if getattr(f, "func", None) is _half_macs else tfc.shape_wrapper(f)


def op_name(packet: Any) -> str:
    """``aten.bmm`` -> ``"aten::bmm"`` (the spelling of fvcore's and the census's operator names)."""
    return packet if isinstance(packet, str) else "aten::" + str(packet).split(".")[-1]


def category_of(op: str) -> str:
    """Category of an ``aten::name`` operator under the complete rule ("zero" / "unknown" included)."""
    base = op.split("::")[-1]
    packet = getattr(aten, base, None)
    if op == ATTENTION_SOFTMAX:
        return "softmax"
    if packet in CATEGORY:
        return CATEGORY[packet]
    return "zero" if base in _ZERO_NAMES or base.rstrip("_") in _ZERO_NAMES else "unknown"


@dataclass
class CompleteCount:
    """One forward under the complete rule (MACs); ``by_module`` is keyed by top-level child name."""

    total: int
    by_operator: dict[str, int]
    by_category: dict[str, int]
    by_module: dict[str, int]
    unknown: list[str] = field(default_factory=list)
    by_module_path: dict[str, int] = field(default_factory=dict)  # every module, dotted path from the root

    @property
    def mac_ops(self) -> int:
        """Convolution + matmul + attention MACs: the part every official convention includes."""
        return sum(self.by_category.get(c, 0) for c in MAC_CATEGORIES)


def _overloads(packet: Any) -> list[Any]:
    """Every ``OpOverload`` of an ATen operator packet (``aten.add`` -> ``aten.add.Tensor``, ...)."""
    return [getattr(packet, name) for name in packet.overloads()]


class CompleteCounter(tfc.FlopCounterMode):
    """``FlopCounterMode`` whose registry is exactly :data:`COMPLETE_FORMULAS` (MACs, module docstring)."""

    def __init__(self) -> None:
        super().__init__(display=False)
        self.flop_registry = {k: raw_formula(k) for k in COMPLETE_FORMULAS}
        # FlopCounterMode decomposes every operator *overload* missing from its registry (it holds packets):
        # ``upsample_nearest*`` has a Python decomposition (index arithmetic + ``_unsafe_index``) that would
        # never reach the interpolation rule, so interpolation overloads are listed too and count as
        # themselves (other decompositions, e.g. ``native_batch_norm`` -> ``_native_batch_norm_legit*``,
        # land on operators with the right rule and are kept).
        self.flop_registry.update({overload: self.flop_registry[packet] for packet in COMPLETE_FORMULAS
                                   if CATEGORY[packet] == "interpolation" for overload in _overloads(packet)})
        self.ops_seen: set[str] = set()

    def _count_flops(self, func_packet: Any, out: Any, args: tuple, kwargs: dict) -> Any:
        name = op_name(func_packet)  # FlopCounterMode calls this for every operator that runs
        self.ops_seen.add(name)
        out = super()._count_flops(func_packet, out, args, kwargs)
        if CATEGORY.get(func_packet) == "attention":  # the fused kernel's scaling and softmax, per score
            scores = int(prod(args[0].shape[:-1])) * int(args[1].shape[-2])
            for parent in set(self.mod_tracker.parents):
                self.flop_counts[parent][ATTENTION_SOFTMAX] += 4 * scores
        return out

    def result(self, model: nn.Module) -> CompleteCount:
        counts = self.get_flop_counts()
        glob = counts.get("Global", {})
        by_op: dict[str, int] = {}
        by_cat: dict[str, int] = {}
        for packet, n in glob.items():
            by_op[op_name(packet)] = by_op.get(op_name(packet), 0) + int(n)
            cat = category_of(op_name(packet))
            by_cat[cat] = by_cat.get(cat, 0) + int(n)
        root = type(model).__name__
        paths = {}
        for name, ops in counts.items():
            head, _, rest = name.partition(".")
            if head == root and rest:
                paths[rest] = int(sum(ops.values()))
        by_mod = {k: v for k, v in paths.items() if "." not in k}
        unknown = sorted(op for op in self.ops_seen if category_of(op) == "unknown")
        return CompleteCount(int(sum(glob.values())), dict(sorted(by_op.items())), dict(sorted(by_cat.items())),
                             by_mod, unknown, paths)


def complete_count(model: nn.Module, inputs: tuple, *, shape_only: bool) -> CompleteCount:
    """Count one forward of ``model(*inputs)`` under the complete rule (MACs).

    ``inputs``: batch-1 tensors in the model's range; ``shape_only`` runs under
    :class:`~bench.complexity.shape_only.ShapeOnlyMode`. Raises what the forward raises.
    """
    from .counters import maybe_shape_only

    with torch.no_grad(), maybe_shape_only(shape_only), CompleteCounter() as counter:
        model(*inputs)
    return counter.result(model)
