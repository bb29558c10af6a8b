"""The NTIRE 2022/2023 ESR counters: ``get_model_flops`` (hook counter) and ``get_model_activation``.

Re-implemented from the challenge rules (``ntire_esr_rules.yaml``) and the behaviour of the official
``utils/model_summary.py`` of ofsoundof/NTIRE2022_ESR, which reproduces the official integers:

FLOPs (forward hooks on module instances, accumulated per call, so a reused module counts each call):
- ``nn.Conv2d`` / ``nn.ConvTranspose2d`` (and subclasses): ``prod(kernel) * in_channels *
  (out_channels / groups) * batch * prod(output spatial dims)``; bias not counted;
- ``nn.ReLU`` / ``PReLU`` / ``ELU`` / ``LeakyReLU`` / ``ReLU6``: ``output.numel()``;
- ``nn.BatchNorm2d``: ``batch * num_features * prod(output spatial)``, doubled when affine;
- ``nn.Linear``: ``batch * input.shape[1] * output.shape[1]`` (``input.shape[0] * output.shape[0]``
  for a 1-D input), the official formula, which ignores the token axis of 3-D inputs;
- everything else (matmul, einsum, interpolate, pooling, GELU, Sigmoid, LayerNorm, functional
  convolutions, ``nn.Conv3d``) counts 0.
Activations: ``output.numel()`` summed over every ``nn.Conv2d`` / ``nn.ConvTranspose2d`` call; convs: the
number of those calls (NTIRE 2022-2026). The input is 1x3x256x256 LR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from math import prod

import torch
from torch import nn

__all__ = ["NtireCounts", "NtireCounter", "HOOK_FLOP_TYPES"]

_CONV_TYPES = (nn.Conv2d, nn.ConvTranspose2d)
_RELU_TYPES = (nn.ReLU, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.ReLU6)
HOOK_FLOP_TYPES = _CONV_TYPES + _RELU_TYPES + (nn.BatchNorm2d, nn.Linear)


@dataclass
class NtireCounts:
    """Totals of one forward pass; ``*_by_module`` are keyed by the top-level child name."""

    flops: int = 0
    conv_flops: int = 0  # the part of ``flops`` that comes from convolutions
    linear_flops: int = 0  # the part that comes from ``nn.Linear``
    activations: int = 0
    convs: int = 0
    flops_by_module: dict[str, int] = field(default_factory=dict)
    activations_by_module: dict[str, int] = field(default_factory=dict)
    convs_by_module: dict[str, int] = field(default_factory=dict)


def _conv_flops(module: nn.Module, output: torch.Tensor) -> int:
    per_position = prod(module.kernel_size) * module.in_channels * (module.out_channels // module.groups)
    return int(per_position) * int(output.shape[0]) * int(prod(output.shape[2:]))


def _flops_of(module: nn.Module, inputs: tuple, output: torch.Tensor) -> tuple[int, bool]:
    """(FLOPs of one call under the NTIRE 2022/23 rules, whether it is a convolution)."""
    if isinstance(module, _CONV_TYPES):
        return _conv_flops(module, output), True
    if isinstance(module, _RELU_TYPES):
        return int(output.numel()), False
    if isinstance(module, nn.Linear):
        x = inputs[0]
        if x.dim() == 1:
            return int(x.shape[0] * output.shape[0]), False
        return int(x.shape[0] * x.shape[1] * output.shape[1]), False
    if isinstance(module, nn.BatchNorm2d):
        n = int(output.shape[0]) * module.num_features * int(prod(output.shape[2:]))
        return (2 * n if module.affine else n), False
    return 0, False


class NtireCounter:
    """Context manager that installs the NTIRE hooks on ``model`` and removes them on exit."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.counts = NtireCounts()
        self._handles: list = []

    def __enter__(self) -> NtireCounter:
        owner: dict[int, str] = {}  # every module inside a top-level child (the child included) -> its name
        for name, child in self.model.named_children():
            for m in child.modules():
                owner.setdefault(id(m), name)
        for m in self.model.modules():
            if isinstance(m, HOOK_FLOP_TYPES):
                key = owner.get(id(m), "(root)")
                self._handles.append(m.register_forward_hook(self._hook(key)))
        return self

    def _hook(self, key: str) -> Callable:
        counts = self.counts

        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            flops, is_conv = _flops_of(module, inputs, output)
            counts.flops += flops
            counts.flops_by_module[key] = counts.flops_by_module.get(key, 0) + flops
            if isinstance(module, nn.Linear):
                counts.linear_flops += flops
            if is_conv:
                counts.conv_flops += flops
                counts.activations += int(output.numel())
                counts.convs += 1
                counts.activations_by_module[key] = counts.activations_by_module.get(key, 0) + int(output.numel())
                counts.convs_by_module[key] = counts.convs_by_module.get(key, 0) + 1

        return hook

    def __exit__(self, *exc: object) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()
