"""Which operators ran, and which counter could see them (for the record's ``uncounted`` lists).

:class:`OpCensus` is a dispatch mode plus module hooks: for every ATen operator it records whether it
ran inside a module that the NTIRE hooks, thop or ptflops have a rule for (for ptflops also inside one
of the ``torch.*`` / ``F.*`` functions it patches). Only operators that carry real work are reported
(matmuls, convolutions, interpolation, pooling, normalisation, activations, attention); element-wise
arithmetic is ignored by every counter and is not listed. For the multiply-add operators (convolution,
matmul, attention) ``outside_macs`` also holds the MACs each counter could not see, under the
complete rule (:mod:`bench.complexity.complete`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from math import prod

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from .complete import CATEGORY, MAC_CATEGORIES, raw_formula
from .ntire import HOOK_FLOP_TYPES

__all__ = ["OpCensus", "is_significant", "THOP_SKIPPED_CONTAINERS"]

_SIGNIFICANT_PREFIXES = (
    "aten::convolution", "aten::_convolution", "aten::mm", "aten::bmm", "aten::addmm", "aten::baddbmm",
    "aten::dot", "aten::_scaled_dot_product", "aten::upsample", "aten::_upsample", "aten::max_pool",
    "aten::avg_pool", "aten::adaptive_", "aten::native_layer_norm", "aten::native_batch_norm",
    "aten::_native_batch_norm", "aten::native_group_norm", "aten::gelu", "aten::sigmoid", "aten::silu",
    "aten::tanh", "aten::_softmax", "aten::_log_softmax", "aten::hardswish", "aten::hardsigmoid",
    "aten::mish", "aten::relu", "aten::leaky_relu", "aten::elu", "aten::hardtanh", "aten::_prelu_kernel",
    "aten::grid_sampler", "aten::linalg_vector_norm", "aten::var", "aten::std", "aten::im2col",
)
THOP_SKIPPED_CONTAINERS = (nn.Sequential, nn.ModuleList)


def is_significant(op: str) -> bool:
    return op.startswith(_SIGNIFICANT_PREFIXES)


class OpCensus(TorchDispatchMode):
    """Record ``op -> count`` overall and outside the modules each module-hook counter understands."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        from ptflops import pytorch_ops
        from thop.profile import register_hooks as thop_rules

        self._thop_types = set(thop_rules)
        self._ptflops_types = set(pytorch_ops.MODULES_MAPPING)
        self.model = model
        self.ops: dict[str, int] = {}
        self.outside: dict[str, dict[str, int]] = {"ntire22_hook": {}, "thop": {}, "ptflops": {}}
        self.outside_macs: dict[str, dict[str, int]] = {"ntire22_hook": {}, "thop": {}, "ptflops": {}}
        self._ptflops_functions: contextlib.ExitStack | None = None
        self.leaf_types_called: set[type] = set()
        # nn.ConvTranspose* calls: MACs an output-size formula adds over the input positions really visited
        self.transposed_excess = 0
        self.transposed_calls = 0
        self._depth = {"ntire22_hook": 0, "thop": 0, "ptflops": 0}
        self._handles: list = []

    def _claims(self, m: nn.Module) -> Iterable[str]:
        if isinstance(m, HOOK_FLOP_TYPES):
            yield "ntire22_hook"
        if type(m) in self._thop_types and not isinstance(m, THOP_SKIPPED_CONTAINERS):
            yield "thop"
        if type(m) in self._ptflops_types:
            yield "ptflops"

    def __enter__(self) -> OpCensus:
        for m in self.model.modules():
            claims = tuple(self._claims(m))
            leaf = not any(True for _ in m.children())

            def pre(mod: nn.Module, _inp: tuple, claims: tuple = claims, leaf: bool = leaf) -> None:
                for c in claims:
                    self._depth[c] += 1
                if leaf:
                    self.leaf_types_called.add(type(mod))

            def post(mod: nn.Module, inp: tuple, out: object, claims: tuple = claims) -> None:
                for c in claims:
                    self._depth[c] -= 1
                if isinstance(mod, nn.modules.conv._ConvTransposeNd) and isinstance(out, torch.Tensor):
                    per_position = prod(mod.kernel_size) * mod.in_channels * (mod.out_channels // mod.groups)
                    extra = prod(out.shape[2:]) - prod(inp[0].shape[2:])
                    self.transposed_excess += int(per_position * out.shape[0] * extra)
                    self.transposed_calls += 1

            self._handles.append(m.register_forward_pre_hook(pre))
            self._handles.append(m.register_forward_hook(post, always_call=True))
        self._ptflops_functions = contextlib.ExitStack()
        self._ptflops_functions.enter_context(_ptflops_patched_functions(self._depth))
        return super().__enter__()

    def __exit__(self, *exc: object) -> object:
        for h in self._handles:
            h.remove()
        self._handles.clear()
        if self._ptflops_functions is not None:
            self._ptflops_functions.close()
            self._ptflops_functions = None
        return super().__exit__(*exc)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        name = "aten::" + func.name().split("::")[-1].split(".")[0]
        self.ops[name] = self.ops.get(name, 0) + 1
        blind = [c for c, depth in self._depth.items() if depth == 0] if is_significant(name) else []
        for counter in blind:
            self.outside[counter][name] = self.outside[counter].get(name, 0) + 1
        out = func(*args, **(kwargs or {}))
        packet = func._overloadpacket
        if blind and CATEGORY.get(packet) in MAC_CATEGORIES:
            macs = int(raw_formula(packet)(*args, **(kwargs or {}), out_val=out))
            for counter in blind:
                self.outside_macs[counter][name] = self.outside_macs[counter].get(name, 0) + macs
        return out

    def unclaimed_leaf_types(self, counter: str) -> list[str]:
        """Leaf module types that ran and that ``counter`` has no rule for (treated as zero)."""
        out = []
        for t in self.leaf_types_called:
            probe_claims = {
                "ntire22_hook": issubclass(t, HOOK_FLOP_TYPES),
                "thop": t in self._thop_types,
                "ptflops": t in self._ptflops_types,
            }
            if not probe_claims[counter]:
                out.append(f"module:{t.__name__}")
        return sorted(out)


@contextlib.contextmanager
def _ptflops_patched_functions(depth: dict[str, int]) -> Iterator[None]:
    """Patch the functions ptflops patches (its own ``patch_functional``/``patch_tensor_ops``), counting
    nothing but the depth: an operator run inside one of them is visible to ptflops."""
    import torch._dynamo  # noqa: F401  (imported before ptflops' patches, as in counters.ptflops_count)
    from ptflops import pytorch_engine as pe

    wrapper = pe.torch_function_wrapper
    original = wrapper.__call__

    def tracked(self, *args, **kwargs):  # noqa: ANN001, ANN202
        depth["ptflops"] += 1
        try:
            return self.op(*args, **kwargs)
        finally:
            depth["ptflops"] -= 1

    wrapper.__call__ = tracked
    pe.patch_functional([])
    pe.patch_tensor_ops([])
    try:
        yield
    finally:
        pe.unpatch_functional()
        pe.unpatch_tensor_ops()
        wrapper.__call__ = original


def torch_flop_formula_missing(ops: Iterable[str]) -> list[str]:
    """Significant operators that ``FlopCounterMode`` has no formula for."""
    from torch.utils.flop_counter import flop_registry

    known = {f"aten::{p._qualified_op_name.split('::')[-1]}" for p in flop_registry if hasattr(p, "_qualified_op_name")}
    return sorted(op for op in ops if is_significant(op) and op not in known)


