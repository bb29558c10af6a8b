"""The suite's own counting arithmetic on tiny hand-built nets, every figure worked out by hand.

Fast (no model zoo, no ``measure_complexity``): these tests are the selection ``nox -s mutation`` runs
against each mutant of ``bench/complexity/{complete,census,crosscheck,counters}.py``. Units: MACs, one
multiply-add = 1; a KxK convolution C_in -> C_out over H x W output positions is K*K*C_in*C_out*H*W
(per group: C_in / groups), bias never counted.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bench.complexity.complete import complete_count


class _Fn(nn.Module):
    """A module whose forward is ``fn`` (nothing for a module-hook counter to see)."""

    def __init__(self, fn) -> None:  # noqa: ANN001
        super().__init__()
        self.fn = fn

    def forward(self, *a: torch.Tensor) -> torch.Tensor:
        return self.fn(*a)


# ---- the complete count ---------------------------------------------------------------------------------------


class _Nearest(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (F.interpolate(x, scale_factor=2, mode="nearest"),
                F.interpolate(x, size=(5, 4), mode="nearest-exact"),
                F.interpolate(x.flatten(2), scale_factor=3, mode="nearest"),
                F.interpolate(x[:, :, None], scale_factor=2, mode="nearest"))


@pytest.mark.parametrize("shape_only", [False, True])
def test_nearest_interpolation_counts_one_per_output_element(shape_only: bool) -> None:
    """Regression: FlopCounterMode decomposed ``upsample_nearest*`` into index arithmetic (24 "MACs" of
    add/mul on index vectors for the first case) before the rule saw it. On 1x2x3x3: nearest x2 -> 1x2x6x6
    = 72; nearest-exact to 5x4 -> 40; 1-D x3 on 1x2x9 -> 54; 3-D x2 on 1x2x1x3x3 -> 1x2x2x6x6 = 144."""
    c = complete_count(_Nearest(), (torch.rand(1, 2, 3, 3),), shape_only=shape_only)
    assert c.by_operator == {"aten::upsample_nearest2d": 72, "aten::_upsample_nearest_exact2d": 40,
                             "aten::upsample_nearest1d": 54, "aten::upsample_nearest3d": 144}
    assert c.by_category == {"interpolation": 310} and c.total == 310


def _by(fn, *inputs: torch.Tensor, shape_only: bool = False):  # noqa: ANN001, ANN202
    c = complete_count(_Fn(fn), inputs, shape_only=shape_only)
    return c.by_operator, c.by_category


R = torch.rand

# (name, module or function, input shapes, by_operator, category): every count by hand in its comment
_RULES = [
    # conv 3->8 k3 on 10x10: 3*8*9*100
    ("conv", nn.Conv2d(3, 8, 3, padding=1), [(1, 3, 10, 10)], {"aten::convolution": 21_600}, "conv"),
    # grouped conv 4->8, 2 groups: (4/2)*8*9*100
    ("grouped conv", nn.Conv2d(4, 8, 3, padding=1, groups=2), [(1, 4, 10, 10)], {"aten::convolution": 14_400}, "conv"),
    # transposed 4->2 k2 s2 per *input* position: 25 positions * 4*2*4
    ("transposed conv", nn.ConvTranspose2d(4, 2, 2, stride=2), [(1, 4, 5, 5)], {"aten::convolution": 800}, "conv"),
    # (5x4) @ (4x3): 5*4*3
    ("mm", lambda a, b: a @ b, [(5, 4), (4, 3)], {"aten::mm": 60}, "matmul"),
    # Linear 4->3 on 2x5 tokens: 10*4*3 (bias add not counted)
    ("addmm", nn.Linear(4, 3), [(2, 5, 4)], {"aten::addmm": 120}, "matmul"),
    # 2 x (5x4 @ 4x3)
    ("bmm", lambda a, b: a @ b, [(2, 5, 4), (2, 4, 3)], {"aten::bmm": 120}, "matmul"),
    ("baddbmm", torch.baddbmm, [(2, 5, 3), (2, 5, 4), (2, 4, 3)], {"aten::baddbmm": 120}, "matmul"),
    # broadcast add: 1 per *output* element, 1*3*4*4
    ("add", lambda a, b: a + b, [(1, 3, 4, 4), (1, 3, 1, 1)], {"aten::add": 48}, "elementwise"),
    ("relu_ (in place)", lambda a: F.relu(a, inplace=True), [(1, 3, 4, 4)], {"aten::relu_": 48}, "elementwise"),
    # reductions: 1 per *input* element (48 in, 1 out)
    ("sum", lambda a: a.sum(), [(1, 3, 4, 4)], {"aten::sum": 48}, "reduction"),
    ("var", lambda a: a.var(dim=1), [(1, 4, 3, 3)], {"aten::var": 36}, "reduction"),
    # softmax / log_softmax 3 per element
    ("softmax", lambda a: a.softmax(-1), [(1, 3, 4, 4)], {"aten::_softmax": 144}, "softmax"),
    ("log_softmax", lambda a: a.log_softmax(1), [(1, 4, 3, 3)], {"aten::_log_softmax": 108}, "softmax"),
    # layer norm over 2*3*4 = 24 elements: 5 each with an affine transform, 4 without
    ("layer norm", nn.LayerNorm(4), [(2, 3, 4)], {"aten::native_layer_norm": 120}, "normalisation"),
    ("layer norm, no affine", nn.LayerNorm(4, elementwise_affine=False), [(2, 3, 4)],
     {"aten::native_layer_norm": 96}, "normalisation"),
    # group norm on 36 elements
    ("group norm", nn.GroupNorm(2, 4), [(1, 4, 3, 3)], {"aten::native_group_norm": 180}, "normalisation"),
    ("group norm, no affine", nn.GroupNorm(2, 4, affine=False), [(1, 4, 3, 3)],
     {"aten::native_group_norm": 144}, "normalisation"),
    # batch norm on 2*4*3*3 = 72 elements: inference 2 (affine) / 1; training 5 / 4 (+ 1 for the add_ of
    # num_batches_tracked)
    ("batch norm eval", nn.BatchNorm2d(4).eval(), [(2, 4, 3, 3)],
     {"aten::_native_batch_norm_legit_no_training": 144}, "normalisation"),
    ("batch norm eval, no affine", nn.BatchNorm2d(4, affine=False).eval(), [(2, 4, 3, 3)],
     {"aten::_native_batch_norm_legit_no_training": 72}, "normalisation"),
    ("batch norm train", nn.BatchNorm2d(4).train(), [(2, 4, 3, 3)],
     {"aten::_native_batch_norm_legit": 360, "aten::add_": 1}, None),
    ("batch norm train, no affine", nn.BatchNorm2d(4, affine=False).train(), [(2, 4, 3, 3)],
     {"aten::_native_batch_norm_legit": 288, "aten::add_": 1}, None),
    # interpolation, taps per output element: 1x2x6x6 = 72 outputs
    ("bilinear", lambda a: F.interpolate(a, scale_factor=2, mode="bilinear"), [(1, 2, 3, 3)],
     {"aten::upsample_bilinear2d": 288}, "interpolation"),
    ("bicubic", lambda a: F.interpolate(a, scale_factor=2, mode="bicubic"), [(1, 2, 3, 3)],
     {"aten::upsample_bicubic2d": 1_152}, "interpolation"),
    # 1x2x6 = 12 outputs * 2 taps; 1x2x6x6x6 = 432 outputs * 8 taps; grid_sample 1x2x4x5 = 40 * 4
    ("linear", lambda a: F.interpolate(a, scale_factor=2, mode="linear"), [(1, 2, 3)],
     {"aten::upsample_linear1d": 24}, "interpolation"),
    ("trilinear", lambda a: F.interpolate(a, scale_factor=2, mode="trilinear"), [(1, 2, 3, 3, 3)],
     {"aten::upsample_trilinear3d": 3_456}, "interpolation"),
    ("grid_sample", lambda a, g: F.grid_sample(a, g, align_corners=False), [(1, 2, 3, 3), (1, 4, 5, 2)],
     {"aten::grid_sampler_2d": 160}, "interpolation"),
    # pooling: kernel taps per output: avg 2x2 -> 1x2x2x3 = 12 outputs * 4; max 3x3 stride 1 -> 1x2x2x4
    # = 16 * 9; adaptive average to 2x2: 1 per input (48)
    ("avg_pool2d", lambda a: F.avg_pool2d(a, 2), [(1, 2, 4, 6)], {"aten::avg_pool2d": 48}, "pooling"),
    ("max_pool2d", lambda a: F.max_pool2d(a, 3, stride=1), [(1, 2, 4, 6)],
     {"aten::max_pool2d_with_indices": 144}, "pooling"),
    ("adaptive avg pool", lambda a: F.adaptive_avg_pool2d(a, 2), [(1, 2, 4, 6)],
     {"aten::_adaptive_avg_pool2d": 48}, "pooling"),
    # data movement counts 0 and is not listed
    ("pixel_shuffle", lambda a: F.pixel_shuffle(torch.cat([a, a], dim=1), 2), [(1, 2, 3, 3)], {}, None),
]


@pytest.mark.parametrize("name, fn, shapes, by_op, category", _RULES, ids=[r[0] for r in _RULES])
def test_complete_rule_per_operator(name: str, fn, shapes, by_op: dict, category: str | None) -> None:  # noqa: ANN001
    ops, cats = _by(fn, *(R(*s) for s in shapes))
    assert ops == by_op
    if category is not None:
        assert cats == {category: sum(by_op.values())}


@pytest.mark.parametrize("shape_only", [False, True])
def test_complete_count_attention_and_totals(shape_only: bool) -> None:
    """SDPA, q 1x2x6x4, k = v 1x2x5x4 (CPU flash kernel): QK^T 2*6*5*4 = 240 and AV 240 -> 480 MACs;
    per score (2*6*5 = 60) 1 for the scale and 3 for the softmax: 240. Then conv 2->3 (1x1) on the 6x4
    result: 2*3*24 = 144. mac_ops = conv + matmul + attention = 624; total 864."""

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Conv2d(2, 3, 1, bias=False)

        def forward(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
            return self.proj(F.scaled_dot_product_attention(q, k, k))

    c = complete_count(Net(), (R(1, 2, 6, 4), R(1, 2, 5, 4)), shape_only=shape_only)
    assert c.by_operator == {"aten::_scaled_dot_product_flash_attention_for_cpu": 480,
                             "attention: scale + softmax": 240, "aten::convolution": 144}
    assert c.by_category == {"attention": 480, "softmax": 240, "conv": 144}
    assert c.total == 864 and c.mac_ops == 624 and c.unknown == []
    assert c.by_module == {"proj": 144} and c.by_module_path == {"proj": 144}


def test_complete_count_by_module_path_and_unknown() -> None:
    """head conv 3->4 (3x3) on 4x4: 9*3*4*16 = 1,728; body.0 conv 4->4 (1x1): 256; body.1.0 Linear 4->2
    on the 16 (transposed, non-contiguous) tokens: mm 128 + bias add 32 (both called as ``body[i]``);
    atan (no rule): 0 and reported; mean over the 32
    outputs: 32."""

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Conv2d(3, 4, 3, padding=1)
            self.body = nn.Sequential(nn.Conv2d(4, 4, 1), nn.Sequential(nn.Linear(4, 2)))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = self.body[0](self.head(x))
            return torch.atan(self.body[1](f.flatten(2).transpose(1, 2))).mean()

    c = complete_count(Net(), (R(1, 3, 4, 4),), shape_only=False)
    # ``body`` itself is never called (its children are): no entry of its own
    assert c.by_module == {"head": 1_728}
    assert c.by_module_path == {"head": 1_728, "body.0": 256, "body.1": 160, "body.1.0": 160}
    assert c.by_category == {"conv": 1_984, "matmul": 128, "elementwise": 32, "reduction": 32}
    assert c.total == 2_176 and c.mac_ops == 2_112 and c.unknown == ["aten::atan"]


def test_category_and_op_names() -> None:
    from bench.complexity.complete import ATTENTION_SOFTMAX, category_of, op_name

    aten = torch.ops.aten
    assert op_name(aten.bmm) == "aten::bmm" and op_name("aten::mm") == "aten::mm"
    flash = aten._scaled_dot_product_flash_attention_for_cpu
    assert op_name(flash) == "aten::_scaled_dot_product_flash_attention_for_cpu"
    expected = {"aten::convolution": "conv", "aten::addmm": "matmul", "aten::relu_": "elementwise",
                "aten::mean": "reduction", "aten::_softmax": "softmax", ATTENTION_SOFTMAX: "softmax",
                "aten::native_group_norm": "normalisation", "aten::upsample_nearest2d": "interpolation",
                "aten::avg_pool2d": "pooling", "aten::_scaled_dot_product_efficient_attention": "attention",
                "aten::view": "zero", "aten::copy_": "zero", "aten::detach_": "zero", "aten::pixel_shuffle": "zero",
                "aten::atan": "unknown", "aten::no_such_op": "unknown"}
    assert {op: category_of(op) for op in expected} == expected


# ---- the op census: what each module-hook counter cannot see ------------------------------------------------

_W1x1 = torch.ones(4, 4, 1, 1)
_M = torch.ones(4, 5)


class _CensusNet(nn.Module):
    """Batch 2 at 8x8. head nn.Conv2d 3->4 (3x3): every counter hooks it. body: an nn.Sequential around a
    module calling F.conv2d 4->4 (1x1): 4*4*64*2 = 2,048 MACs no counter sees (thop skips containers).
    GELU: no NTIRE hook, no thop rule; ptflops has one. Tokens 2x64x4 times a 4x5 matrix, once with ``@``
    (no counter sees it) and once with ``torch.matmul`` (ptflops patches it): 2*64*4*5 = 2,560 each.
    up: nn.ConvTranspose2d 4->6 (2x2, stride 2, 2 groups) to 16x16: per position 4*4*(6/2) = 48 MACs;
    an output-size formula visits 256 - 64 = 192 positions too many per image: 48*192*2 = 18,432."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, 4, 3, padding=1)
        self.body = nn.Sequential(_Fn(lambda x: F.conv2d(x, _W1x1)))
        self.act = nn.GELU()
        self.up = nn.ConvTranspose2d(4, 6, 2, stride=2, groups=2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        f = self.act(self.body(self.head(x)))
        t = f.flatten(2).transpose(1, 2)
        return self.up(f), t @ _M, torch.matmul(t, _M)


def test_census_outside_macs_per_counter() -> None:
    from bench.complexity.census import OpCensus

    net = _CensusNet()
    x = R(2, 3, 8, 8)
    matmul_before = torch.matmul
    with torch.no_grad(), OpCensus(net) as census:
        net(x)
    assert census.ops == {"aten::convolution": 3, "aten::gelu": 1, "aten::view": 5, "aten::transpose": 1,
                          "aten::expand": 4, "aten::bmm": 2, "aten::_unsafe_view": 2}
    blind = {"aten::convolution": 1, "aten::gelu": 1, "aten::bmm": 2}
    assert census.outside == {"ntire22_hook": blind, "thop": blind,
                              "ptflops": {"aten::convolution": 1, "aten::bmm": 1}}
    both = {"aten::convolution": 2_048, "aten::bmm": 5_120}
    assert census.outside_macs == {"ntire22_hook": both, "thop": both,
                                   "ptflops": {"aten::convolution": 2_048, "aten::bmm": 2_560}}
    assert (census.transposed_excess, census.transposed_calls) == (18_432, 1)
    assert census.unclaimed_leaf_types("ntire22_hook") == ["module:GELU", "module:_Fn"]
    assert census.unclaimed_leaf_types("thop") == ["module:GELU", "module:_Fn"]
    assert census.unclaimed_leaf_types("ptflops") == ["module:_Fn"]
    # everything is put back: no hooks left, ptflops' patches undone
    assert torch.matmul is matmul_before
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())


def test_census_depth_ends_at_zero_and_counts_each_call() -> None:
    """The same nn.Conv2d 4->4 (3x3) called twice, then F.conv2d outside it: only the last is blind:
    9*4*4*16 = 2,304 MACs at 4x4, batch 1."""
    from bench.complexity.census import OpCensus

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(self.conv(x))
            return F.conv2d(y, self.conv.weight, padding=1)

    net = Net()
    x = R(1, 4, 4, 4)
    with torch.no_grad(), OpCensus(net) as census:
        net(x)
    assert census.ops == {"aten::convolution": 3}
    for counter in ("ntire22_hook", "thop", "ptflops"):
        assert census.outside[counter] == {"aten::convolution": 1}
        assert census.outside_macs[counter] == {"aten::convolution": 2_304}
    assert (census.transposed_excess, census.transposed_calls) == (0, 0)


def test_significant_operators() -> None:
    from bench.complexity.census import is_significant, torch_flop_formula_missing

    assert is_significant("aten::convolution") and is_significant("aten::im2col")
    assert is_significant("aten::upsample_bilinear2d")
    assert is_significant("aten::_scaled_dot_product_efficient_attention")
    assert not is_significant("aten::add") and not is_significant("aten::view") and not is_significant("conv")
    ops = ["aten::convolution", "aten::gelu", "aten::add", "aten::bmm",
           "aten::_scaled_dot_product_flash_attention_for_cpu", "aten::upsample_nearest2d"]
    assert torch_flop_formula_missing(ops) == ["aten::_scaled_dot_product_flash_attention_for_cpu", "aten::gelu",
                                               "aten::upsample_nearest2d"]


# ---- cross-checks: the arithmetic of the findings -----------------------------------------------------------

def _complete(by_category: dict, by_operator: dict | None = None, paths: dict | None = None):  # noqa: ANN202
    from bench.complexity.complete import CompleteCount

    return CompleteCount(sum(by_category.values()), by_operator or {}, by_category, {}, [], paths or {})


def _census(counter: str, macs: dict, calls: dict, excess: int = 0, transposed: int = 0):  # noqa: ANN202
    from types import SimpleNamespace

    return SimpleNamespace(outside_macs={counter: macs}, outside={counter: calls}, transposed_excess=excess,
                           transposed_calls=transposed)


def test_finding_message_and_where() -> None:
    from bench.complexity.crosscheck import Finding, _where

    assert Finding("fvcore", "low", 300, 1_500, "why").message() == (
        "fvcore is low by 300 MACs (20.00% of the 1,500 multiply-add MACs of the complete count, LR 256x256): why")
    # a zero reference divides by 1
    zero = Finding("thop", "high", 5, 0, "c", "HR 1x1").message()
    assert zero.startswith("thop is high by 5 MACs (500.00% of the 0 ")
    assert _where({"": 1, "a": 2}) == "2 module(s): (root), a"
    assert _where({k: 1 for k in "abcd"}) == "4 module(s): a, b, c, d"
    assert _where({k: 1 for k in "abcdef"}) == "6 module(s): a, b, c, d and 2 more"


def test_left_over_tolerance_is_one_per_mille() -> None:
    """gap = reference - explained - value; reported only above 0.1% of the reference (100 of 100,000)."""
    from bench.complexity.crosscheck import _left_over

    assert _left_over("x", 99_900, 100_000, 0, "S", "d") == []
    assert _left_over("x", 100_100, 100_000, 0, "S", "d") == []
    low, = _left_over("x", 99_899, 100_000, 0, "S", "d")
    assert (low.direction, low.macs, low.reference, low.size) == ("low", 101, 100_000, "S")
    assert low.cause == "not explained by the per-operator diff (d)"
    high, = _left_over("x", 99_000, 100_000, 1_101, "S", "d")  # 100,000 - 1,101 - 99,000 = -101
    assert (high.direction, high.macs) == ("high", 101)
    assert _left_over("x", 3, 0, 2, "S", "d")[0].macs == 5  # reference 0: any gap counts


def test_fvcore_check_string_padding_and_custom_functions() -> None:
    """Complete: conv 1,300 + matmul 200 (+ 999 elementwise, not a MAC) = 1,500 MACs. fvcore counts conv
    1,000 + matmul 200 (its non-MAC upsample key is ignored) and misses two 'same' convs (100 + 200)."""
    from types import SimpleNamespace

    from bench.complexity.crosscheck import check_fvcore, fvcore_mac_ops

    assert fvcore_mac_ops({"conv": 1, "matmul": 2, "bmm": 4, "einsum": 8, "linear": 16, "addmm": 32, "mm": 64,
                           "upsample_bilinear2d": 128, "batch_norm": 256}) == 127
    complete = _complete({"conv": 1_300, "matmul": 200, "elementwise": 999})
    fv = SimpleNamespace(by_operator={"conv": 1_000, "matmul": 200, "upsample_bilinear2d": 50},
                         missing={"aten::_convolution_mode": {"body.0": 100, "body.1": 200}},
                         unsupported={"aten::_convolution_mode": 2})
    f, = check_fvcore(fv, complete, "LR 16x16")
    assert (f.counter, f.direction, f.macs, f.reference, f.size) == ("fvcore", "low", 300, 1_500, "LR 16x16")
    assert f.cause.endswith("which fvcore has no handle for; 2 call(s) in 2 module(s): body.0, body.1")
    # an operator without a known reason, and a custom autograd Function hiding 500 MACs
    fv = SimpleNamespace(by_operator={"conv": 700}, missing={"aten::foo": {"": 300}},
                         unsupported={"aten::foo": 1, "prim::PythonOp._ConvFn": 3})
    foo, hidden = check_fvcore(fv, complete, "LR 16x16")
    assert (foo.macs, foo.cause) == (300, "aten::foo has no fvcore handle; 1 call(s) in 1 module(s): (root)")
    assert (hidden.direction, hidden.macs) == ("low", 500) and "(prim::PythonOp._ConvFn)" in hidden.cause
    # nothing hidden: no custom-Function finding, and fvcore above the reference is "high"
    fv = SimpleNamespace(by_operator={"conv": 1_700}, missing={}, unsupported={"prim::PythonOp.F": 1})
    high, = check_fvcore(fv, complete)
    assert (high.direction, high.macs, high.size) == ("high", 200, "LR 256x256")
    assert high.cause == "not explained by the per-operator diff (fvcore 1,700 vs complete 1,500)"


def test_torch_check_per_operator() -> None:
    """FlopCounterMode (FLOPs, 2 per MAC): convolution 2,001 -> 1,000 MACs, bmm 400 -> 200, add ignored;
    complete: convolution 1,000, bmm 200, CPU flash attention 480 it has no formula for."""
    from bench.complexity.crosscheck import check_torch, torch_mac_ops

    aten = torch.ops.aten
    official = {aten.convolution: 2_001, aten.bmm: 400, aten.add: 10}
    assert torch_mac_ops(official) == {"aten::convolution": 1_000, "aten::bmm": 200}
    flash = "aten::_scaled_dot_product_flash_attention_for_cpu"
    complete = _complete({"conv": 1_000, "matmul": 200, "attention": 480, "elementwise": 7},
                         {"aten::convolution": 1_000, "aten::bmm": 200, flash: 480, "aten::add": 7})
    f, = check_torch(official, complete, "LR 8x8")
    assert (f.counter, f.direction, f.macs, f.reference, f.size) == ("torch_flops", "low", 480, 1_680, "LR 8x8")
    assert f.cause == f"FlopCounterMode has no formula for {flash} (counts 0 of its 480 MACs)"
    # torch above the complete count on an operator: not "low" per operator, a left-over "high"
    high, = check_torch({aten.convolution: 2_400}, _complete({"conv": 1_000}, {"aten::convolution": 1_000}))
    assert (high.direction, high.macs) == ("high", 200)
    assert high.cause == "not explained by the per-operator diff (FlopCounterMode 1,200 MACs vs complete 1,000)"


def test_hook_check_low_and_high_cancel_exactly() -> None:
    """Complete: conv 9,000 + matmul 3,000 = 12,000 MACs. The hook counter sees conv 8,000 + 3,000 too many
    from a transposed conv's output-size formula, and a Linear's 1,000: 12,000 as well. Outside its hooks:
    F.conv2d 1,000 (x1) and two bmm 2,000 (x2). Findings (by operator name): low 2,000, low 1,000, high 3,000;
    nothing left."""
    from types import SimpleNamespace

    from bench.complexity.crosscheck import check_hook

    census = _census("ntire22_hook", {"aten::convolution": 1_000, "aten::bmm": 2_000, "aten::mm": 0},
                     {"aten::convolution": 1, "aten::bmm": 2, "aten::mm": 1}, excess=3_000, transposed=1)
    ntire = SimpleNamespace(conv_flops=11_000, linear_flops=1_000)
    bmm, conv, up = check_hook(ntire, census, _complete({"conv": 9_000, "matmul": 3_000}), "LR 4x4")
    assert (conv.direction, conv.macs, conv.reference) == ("low", 1_000, 12_000)
    assert conv.cause == ("aten::convolution x1: convolution(s) run outside the modules it hooks (functional "
                          "F.conv2d or an unknown conv module); the official hooks sit on "
                          "nn.Conv2d/ConvTranspose2d/Linear/BN/ReLU modules only")
    assert (bmm.macs, bmm.cause.split(";")[0]) == (2_000, "aten::bmm x2: matmul(s) outside nn.Linear (q @ k, "
                                                          "torch.matmul, einsum, bmm)")
    assert (up.direction, up.macs, up.size) == ("high", 3_000, "LR 4x4")
    assert up.cause.startswith("1 nn.ConvTranspose call(s): its formula multiplies by the output positions")
    # without the transposed excess in its figure, 3,000 are left over: "low"
    *_, left = check_hook(SimpleNamespace(conv_flops=8_000, linear_flops=1_000), census,
                          _complete({"conv": 9_000, "matmul": 3_000}), "LR 4x4")
    # 12,000 - (1,000 + 2,000 - 3,000) - 9,000
    assert (left.counter, left.direction, left.macs, left.size) == ("ntire22_hook", "low", 3_000, "LR 4x4")
    assert left.cause == "not explained by the per-operator diff (hook conv+Linear 9,000 vs complete 12,000)"


def test_module_counter_check_shared_modules() -> None:
    """thop: complete 10,000 MACs; outside: attention 2,000 (x1), an op without a category 7 (x1); a
    transposed conv 3,000 too many; a module shared by a.0 and b.0 (1,000 MACs a call in the complete
    count) counted 3,000 too many (20,000 vs 17,000 with one instance per parent): 4.00x. Params 2,268 vs
    1,684: 584 high."""
    from bench.complexity.crosscheck import check_module_counter

    census = _census("thop", {"aten::_scaled_dot_product_flash_attention_for_cpu": 2_000, "aten::foo": 7},
                     {"aten::_scaled_dot_product_flash_attention_for_cpu": 1, "aten::foo": 1}, 3_000, 1)
    complete = _complete({"conv": 8_000, "attention": 2_000}, paths={"a.0": 1_000, "a": 1_500})
    shared = {"a.0": ["a.0", "b.0"]}
    att, foo, up, sh = check_module_counter("thop", census, complete, 20_000, 17_000, shared, (2_268, 1_684), "HR 8x8")
    assert (att.macs, att.reference, att.size) == (2_000, 10_000, "HR 8x8")
    assert att.cause.endswith("F.scaled_dot_product_attention (a function, not a module); thop hooks nn modules only")
    assert foo.cause == "aten::foo x1: aten::foo; thop hooks nn modules only"
    assert (up.direction, up.macs) == ("high", 3_000)
    assert (sh.counter, sh.direction, sh.macs) == ("thop", "high", 3_000)
    assert sh.cause == ("module(s) shared by several parents (a.0 = b.0) (counted 4.00x): thop registers its "
                        "hooks once per path to a module and adds each parent's total; its params are 584 high "
                        "too (2,268 vs 1,684 = sum(numel), shared parameters counted once per parent)")
    # ptflops: no transposed finding (it counts per input position); the shared module found by its second
    # path; equal params say nothing; two shared modules: 1,000 + 500 true MACs, 3,000 excess = 3.00x
    census = _census("ptflops", {}, {}, 3_000, 1)
    complete = _complete({"conv": 8_000}, paths={"b.0": 1_000, "c": 500})
    shared = {"a.0": ["a.0", "b.0"], "c": ["c", "d"]}
    sh, = check_module_counter("ptflops", census, complete, 20_000, 17_000, shared, (5, 5))
    assert sh.cause == ("module(s) shared by several parents (a.0 = b.0; c = d) (counted 3.00x): ptflops "
                        "registers its hook once per path to a module")
    assert sh.size == "HR 1280x720"
    # not found in the complete count: no "counted" figure; no excess or no figures: no finding
    sh, = check_module_counter("ptflops", census, _complete({"conv": 1}), 20_000, 17_000, shared)
    assert "(counted" not in sh.cause and sh.macs == 3_000
    assert check_module_counter("ptflops", census, complete, 17_000, 17_000, shared) == []
    assert check_module_counter("ptflops", census, complete, None, 17_000, shared) == []
    assert check_module_counter("ptflops", census, complete, 20_000, None, shared) == []


class _Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 1)


def test_shared_modules_outermost_and_deshare_nested() -> None:
    block, act = _Block(), nn.ReLU()
    net = nn.Module()
    net.a = nn.Sequential(block, act)
    net.b = nn.Sequential(block)
    net.c = act
    assert shared_modules_of(net) == {"a.0": ["a.0", "b.0"], "a.1": ["a.1", "c"]}
    flat = _deshare(net)
    assert shared_modules_of(flat) == {}
    assert flat.a[0] is not flat.b[0] and flat.a[0].conv is not flat.b[0].conv and flat.a[1] is not flat.c
    assert torch.equal(flat.b[0].conv.weight, block.conv.weight)
    assert net.a[0] is net.b[0] and net.a[1] is net.c  # the original keeps its sharing


def shared_modules_of(net: nn.Module) -> dict:
    from bench.complexity.crosscheck import shared_modules

    return shared_modules(net)


def _deshare(net: nn.Module) -> nn.Module:
    from bench.complexity.crosscheck import deshare

    return deshare(net)


def test_distances_to_the_complete_count() -> None:
    from types import SimpleNamespace

    from bench.complexity.crosscheck import distances

    rec = {"fvcore_flops_lr256": 1_100, "ntire22_hook_flops_lr256": None, "torch_flops_lr256": 2_001,
           "complete_macs_lr256": 1_000, "thop_macs_hr1280x720": 900, "ptflops_macs_hr1280x720": 4_000,
           "fvcore_flops_hr1280x720": 5, "complete_macs_hr1280x720": 4_000}
    assert distances(rec) == [
        {"field": "fvcore_flops_lr256", "macs": 1_100, "complete": 1_000, "diff": 100, "rel": 0.1},
        {"field": "torch_flops_lr256", "macs": 1_000, "complete": 1_000, "diff": 0, "rel": 0.0},
        {"field": "thop_macs_hr1280x720", "macs": 900, "complete": 4_000, "diff": -3_100, "rel": -0.775},
        {"field": "ptflops_macs_hr1280x720", "macs": 4_000, "complete": 4_000, "diff": 0, "rel": 0.0},
        {"field": "fvcore_flops_hr1280x720", "macs": 5, "complete": 4_000, "diff": -3_995, "rel": -0.99875},
    ]
    obj = SimpleNamespace(torch_flops_lr256=300, complete_macs_lr256=100, fvcore_flops_hr1280x720=7,
                          complete_macs_hr1280x720=0)
    assert distances(obj) == [{"field": "torch_flops_lr256", "macs": 150, "complete": 100, "diff": 50, "rel": 0.5}]


# ---- the wrappers around the third-party counters, and uncounted convolutions --------------------------------


class _Attn(nn.Module):
    def forward(self, f: torch.Tensor) -> torch.Tensor:
        t = f.flatten(2).transpose(1, 2)[:, None]  # 1x1x36x4 tokens
        return F.scaled_dot_product_attention(t, t, t[..., :3])


class _FvNet(nn.Module):
    """At 6x6: head conv 3->4 (3x3): 9*3*4*36 = 3,888 (fvcore counts it); body.0 conv 4->4 (3x3,
    padding='same'): 9*4*4*36 = 5,184 (no fvcore handle); attn: SDPA with L = S = 36, E = 4, Ev = 3:
    36*36*(4 + 3) = 9,072 (no fvcore handle)."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, 4, 3, padding=1)
        self.body = nn.Sequential(nn.Conv2d(4, 4, 3, padding="same"), nn.ReLU())
        self.attn = _Attn()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.body(self.head(x))
        return f, self.attn(f)


@pytest.mark.parametrize("shape_only", [False, True])
def test_fvcore_wrapper_missing_handles_per_leaf_module(shape_only: bool) -> None:
    from bench.complexity.counters import fvcore_count

    fv = fvcore_count(_FvNet(), (R(1, 3, 6, 6),), shape_only=shape_only)
    assert (fv.total, fv.by_operator) == (3_888, {"conv": 3_888})
    assert fv.by_module == {"head": 3_888, "body": 0, "attn": 0}
    assert fv.unsupported == {"aten::_convolution_mode": 1, "aten::scaled_dot_product_attention": 1}
    assert fv.missing == {"aten::_convolution_mode": {"body.0": 5_184},
                          "aten::scaled_dot_product_attention": {"attn": 9_072}}


def test_fvcore_wrapper_batch_and_heads() -> None:
    """SDPA on batch 2, 3 heads, L 5, S 7, E 4, Ev 6 in the root module: 2*3*5*7*(4 + 6) = 2,100."""
    from bench.complexity.counters import fvcore_count

    fv = fvcore_count(_Fn(lambda q, k, v: F.scaled_dot_product_attention(q, k, v)),
                      (R(2, 3, 5, 4), R(2, 3, 7, 4), R(2, 3, 7, 6)), shape_only=False)
    assert fv.total == 0 and fv.missing == {"aten::scaled_dot_product_attention": {"": 2_100}}


def test_leaf_counts_keep_the_innermost_modules() -> None:
    from bench.complexity.counters import _leaf_counts

    per_module = {"": {"x": 30}, "a": {"x": 20}, "a.0": {"x": 20}, "ab": {"x": 10}, "c": {"y": 5}, "d": {"x": 0}}
    assert _leaf_counts(per_module, "x") == {"a.0": 20, "ab": 10}
    assert _leaf_counts({"": {"x": 4}}, "x") == {"": 4}


class _Plain(nn.Module):
    """At 6x6: head conv 3->4 (3x3, bias): 3,888 MACs; ReLU; tail conv 4->12 (1x1, no bias): 4*12*36 =
    1,728; PixelShuffle(2). Params 112 + 48 = 160."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, 4, 3, padding=1)
        self.act = nn.ReLU()
        self.tail = nn.Conv2d(4, 12, 1, bias=False)
        self.up = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.tail(self.act(self.head(x))))


@pytest.mark.parametrize("shape_only", [False, True])
def test_thop_ptflops_torch_wrappers(shape_only: bool, capsys: pytest.CaptureFixture) -> None:
    """thop: 3,888 + 1,728 = 5,616 MACs, 160 params. ptflops adds the head's bias adds (4*36 = 144) and
    counts the ReLU twice (its module rule and the F.relu it patches, 144 each): 6,048. FlopCounterMode:
    2 FLOPs per MAC, 11,232."""
    from bench.complexity.counters import ptflops_count, thop_count, torch_flops_count

    x = (R(1, 3, 6, 6),)
    assert thop_count(_Plain(), x, shape_only=shape_only) == (5_616, 160)
    assert ptflops_count(_Plain(), x, shape_only=shape_only) == 6_048
    assert torch_flops_count(_Plain(), x, shape_only=shape_only) == 11_232
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""  # the counters' own prints are swallowed


def test_ptflops_failure_is_raised_with_its_message() -> None:
    from bench.complexity.counters import ptflops_count

    def boom(x: torch.Tensor) -> torch.Tensor:
        raise ValueError("the forward broke here")

    with pytest.raises(RuntimeError, match="^ptflops failed: .*the forward broke here"):
        ptflops_count(_Fn(boom), (R(1, 3, 6, 6),), shape_only=False)


class _ConvFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        return F.conv2d(x, w, padding=1)


class _HiddenConvNet(nn.Module):
    """At 4x4: head conv 3->4 (3x3) 9*3*4*16 = 1,728 (fvcore counts it); a custom autograd Function running
    a 3x3 conv 4->4: 9*4*4*16 = 2,304 hidden from fvcore; a 'same' 1x1 conv 4->4: 4*4*16 = 256."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, 4, 3, padding=1)
        self.w = nn.Parameter(torch.rand(4, 4, 3, 3))
        self.same = nn.Conv2d(4, 4, 1, padding="same")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.same(_ConvFn.apply(self.head(x), self.w))


@pytest.mark.parametrize("shape_only", [False, True])
def test_uncounted_convs_string_padding_and_custom_functions(shape_only: bool) -> None:
    from bench.complexity.crosscheck import uncounted_convs

    mode, hidden = uncounted_convs(_HiddenConvNet(), (R(1, 3, 4, 4),), shape_only=shape_only)
    assert mode == {"op": "aten::_convolution_mode", "modules": {"same": 256}, "macs": 256,
                    "cause": "convolutions with string padding (padding='same'/'valid') are traced as "
                             "aten::_convolution_mode, which fvcore has no handle for"}
    assert hidden["macs"] == 2_304 and hidden["modules"] == {} and "_ConvFn" in hidden["op"]
    assert hidden["cause"] == "convolutions inside custom autograd Functions / kernels, opaque to torch.jit"
    # the caller's own conv count (every conv: 1,728 + 2,304 + 256 = 4,288) gives the same remainder;
    # a count with nothing beyond fvcore's and the 'same' conv leaves no custom-Function entry
    _, hidden = uncounted_convs(_HiddenConvNet(), (R(1, 3, 4, 4),), conv_macs=4_288)
    assert hidden["macs"] == 2_304
    assert uncounted_convs(_HiddenConvNet(), (R(1, 3, 4, 4),), conv_macs=1_984) == [mode]


# ---- registry construction, execution modes, and the cases the first mutation run found uncovered -----------


def test_register_existing_packets_and_in_place_variants() -> None:
    from bench.complexity.complete import _register

    aten = torch.ops.aten
    formulas: dict = {}
    categories: dict = {}
    _register(formulas, categories, ["relu", "addmm", "no_such_op"], len, "x", inplace=True)
    assert formulas == dict.fromkeys([aten.relu, aten.relu_, aten.addmm, aten.addmm_], len)
    assert categories == dict.fromkeys(formulas, "x")
    formulas.clear()
    categories.clear()
    _register(formulas, categories, ["addmm"], abs, "matmul")  # in-place variants only on request
    assert formulas == {aten.addmm: abs} and categories == {aten.addmm: "matmul"}


class _PlaceholderProbe(nn.Module):
    """Records, per forward, whether an intermediate tensor is a shape-only placeholder. At 7x7: conv 3->4
    (3x3, bias) 9*3*4*49 = 5,292 MACs; conv 4->4 (3x3, stride 2, padding='valid') to 3x3: 144*9 = 1,296."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.valid = nn.Conv2d(4, 4, 3, stride=2, padding="valid")
        self.flags: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from bench.complexity.shape_only import is_placeholder

        y = self.conv(x)
        self.flags.append(is_placeholder(y))
        return self.valid(y)


@pytest.mark.parametrize("shape_only", [True, False])
def test_every_wrapper_runs_shape_only_when_asked(shape_only: bool, capsys: pytest.CaptureFixture) -> None:
    """Same integers either way; ``shape_only`` decides whether arithmetic runs. fvcore traces twice
    (its total, then again with the missing handles for the 'valid' conv: 1,296 MACs, counted from the
    output positions, not the 49 input positions a transposed formula would use). thop/complete: 6,588;
    ptflops adds the biases (4*49 + 4*9 = 232): 6,820; FlopCounterMode 2 x 6,588."""
    from bench.complexity.counters import fvcore_count, ptflops_count, thop_count, torch_flops_count

    x = (R(1, 3, 7, 7),)
    runs = {"fvcore": fvcore_count, "thop": thop_count, "ptflops": ptflops_count, "torch": torch_flops_count,
            "complete": complete_count}
    got, flags = {}, {}
    for name, fn in runs.items():
        probe = _PlaceholderProbe()
        got[name] = fn(probe, x, shape_only=shape_only)
        flags[name] = probe.flags
    assert flags == {"fvcore": [shape_only] * 2, "thop": [shape_only], "ptflops": [shape_only],
                     "torch": [shape_only], "complete": [shape_only]}
    fv = got["fvcore"]
    assert (fv.total, fv.missing) == (5_292, {"aten::_convolution_mode": {"valid": 1_296}})
    assert got["thop"] == (6_588, 260) and got["ptflops"] == 6_820 and got["torch"] == 13_176
    assert got["complete"].by_operator == {"aten::convolution": 6_588}
    assert capsys.readouterr().out == ""  # no counter (FlopCounterMode's table included) prints


def test_fvcore_wrapper_three_dimensional_attention() -> None:
    """SDPA on 3-D inputs (batch 2, L 5, S 7, E 4, Ev 6): 2*5*7*(4 + 6) = 700."""
    from bench.complexity.counters import fvcore_count

    fv = fvcore_count(_Fn(F.scaled_dot_product_attention), (R(2, 5, 4), R(2, 7, 4), R(2, 7, 6)), shape_only=False)
    assert fv.missing == {"aten::scaled_dot_product_attention": {"": 700}}


def test_ptflops_wrapper_feeds_the_callers_input() -> None:
    """A float64 model counts on the float64 input given (ptflops' own input would be float32 and fail):
    the same 6,820 as above."""
    from bench.complexity.counters import ptflops_count

    assert ptflops_count(_PlaceholderProbe().double(), (R(1, 3, 7, 7, dtype=torch.float64),), shape_only=False) == 6_820


def test_complete_count_adds_the_softmax_of_every_attention_call() -> None:
    """Two SDPA calls (q 1x2x6x4, k = v 1x2x5x4) in one module: 2 x 480 MACs and 2 x 240 scale + softmax."""
    c = complete_count(_Fn(lambda q, k: F.scaled_dot_product_attention(F.scaled_dot_product_attention(q, k, k), k, k)),
                       (R(1, 2, 6, 4), R(1, 2, 5, 4)), shape_only=False)
    assert c.by_category == {"attention": 960, "softmax": 480}


class _ReLUConv(nn.Conv2d):
    """An nn.Conv2d subclass (the NTIRE hooks claim it; thop and ptflops match exact types only) that runs
    a child ReLU and then its own convolution 2->2 (1x1) functionally: 2*2*16 = 64 MACs at 4x4."""

    def __init__(self) -> None:
        super().__init__(2, 2, 1)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(self.act(x), self.weight)


class _Raises(nn.ReLU):
    """A ReLU subclass (the NTIRE hooks claim it) whose forward raises."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("caught by the parent")


class _CensusEdges(nn.Module):
    """At 4x4, batch 1: _ReLUConv (64 MACs); a child that raises (caught); F.conv2d 2->2 (1x1): 64 MACs
    outside every module; the same nn.ConvTranspose2d 2->2 (2x2, stride 2) called twice on 4x4: per call
    4*2*2 = 16 MACs a position, 64 - 16 = 48 positions too many: 768 each, 1,536; GELU (tanh) and a
    float64 copy, whose keyword arguments must reach the operators."""

    def __init__(self) -> None:
        super().__init__()
        self.block = _ReLUConv()
        self.bad = _Raises()
        self.up = nn.ConvTranspose2d(2, 2, 2, stride=2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y = self.block(x)
        try:
            self.bad(y)
        except ValueError:
            pass
        z = F.conv2d(y, self.block.weight)
        return self.up(z), self.up(z), F.gelu(z, approximate="tanh"), z.to(torch.float64)


def test_census_nested_claims_caught_exceptions_and_keyword_arguments() -> None:
    from bench.complexity.census import OpCensus

    net = _CensusEdges()
    x = R(1, 2, 4, 4)
    with torch.no_grad():
        want = net(x)
        with OpCensus(net) as census:
            got = net(x)
    assert got[3].dtype == torch.float64
    assert all(torch.equal(a, b) for a, b in zip(got, want, strict=True))
    # the hook counter claims the subclass: its inner conv is seen even after the child ReLU returned;
    # after the caught exception every depth is back to zero: the functional conv is blind to all
    assert census.outside_macs == {"ntire22_hook": {"aten::convolution": 64},
                                   "thop": {"aten::convolution": 128}, "ptflops": {"aten::convolution": 128}}
    assert (census.transposed_excess, census.transposed_calls) == (1_536, 2)


def test_uncounted_convs_only_in_custom_functions_and_without_convs() -> None:
    """No nn.Conv2d at all: a 3x3 conv 3->4 in a custom Function at 4x4 (9*3*4*16 = 1,728, all hidden) and a
    second Function without a convolution. Custom Functions without any convolution hide nothing."""
    from bench.complexity.crosscheck import uncounted_convs

    class _MatFn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
            return x @ x.transpose(-1, -2)

    w = torch.rand(4, 3, 3, 3)
    hidden, = uncounted_convs(_Fn(lambda x: _MatFn.apply(_ConvFn.apply(x, w))), (R(1, 3, 4, 4),))
    assert hidden["op"] == "prim::PythonOp._ConvFn, prim::PythonOp._MatFn" and hidden["macs"] == 1_728
    assert uncounted_convs(_Fn(lambda x: _MatFn.apply(x)), (R(1, 3, 4, 4),)) == []
    assert uncounted_convs(_HiddenConvNet(), (R(1, 3, 4, 4),), conv_macs=1_985)[1]["macs"] == 1  # one MAC hidden


def test_uncounted_convs_leaves_the_model_alone_and_falls_back_to_real_tensors() -> None:
    """A model that reads a value of its 8x8 input (192 elements: a placeholder under shape-only counting)
    only when not traced (fvcore traces, the complete count does not): the shape-only complete count
    raises DataDependentError and is redone with real tensors; one that always reads it sends fvcore to
    real tensors too. _HiddenConvNet at 8x8: custom-Function conv 9*4*4*64 = 9,216, 'same' conv 4*4*64 =
    1,024."""
    from bench.complexity.crosscheck import uncounted_convs
    from bench.complexity.shape_only import DataDependentError

    class ReadsValues(_HiddenConvNet):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if not torch.jit.is_tracing():
                assert x.abs().sum().item() >= 0
            return super().forward(x)

    net = ReadsValues().train()
    mode, hidden = uncounted_convs(net, (R(1, 3, 8, 8),))
    assert mode["macs"] == 1_024 and hidden["macs"] == 9_216
    assert all(m.training for m in net.modules())  # counted on a copy in eval mode; the caller's model unchanged

    class AlwaysReads(_HiddenConvNet):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            assert x.abs().sum().item() >= 0
            return super().forward(x)

    for model in (ReadsValues(), AlwaysReads()):  # the premise: shape-only counting cannot run them
        with pytest.raises(DataDependentError):
            complete_count(model, (R(1, 3, 8, 8),), shape_only=True)
    mode, hidden = uncounted_convs(AlwaysReads(), (R(1, 3, 8, 8),))
    assert mode["macs"] == 1_024 and hidden["macs"] == 9_216


def test_crosscheck_boundaries_and_every_field() -> None:
    """One-MAC gaps are reported; zero ones are not; every field of every finding is the right one."""
    from types import SimpleNamespace

    from bench.complexity.crosscheck import (
        _left_over,
        _where,
        check_fvcore,
        check_hook,
        check_module_counter,
        check_torch,
    )

    assert _where({k: 1 for k in "abcde"}) == "5 module(s): a, b, c, d and 1 more"
    assert vars(_left_over("x", 0, 0, -1, "S", "d")[0]) == {
        "counter": "x", "direction": "low", "macs": 1, "reference": 0,
        "cause": "not explained by the per-operator diff (d)", "size": "S"}
    complete = _complete({"conv": 1_500})
    # fvcore: a custom Function hiding exactly 1 MAC, and one hiding nothing
    fv = SimpleNamespace(by_operator={"conv": 1_499}, missing={}, unsupported={"prim::PythonOp.G": 1,
                                                                           "prim::PythonOp.F": 2})
    assert [vars(f) for f in check_fvcore(fv, complete, "S")] == [{
        "counter": "fvcore", "direction": "low", "macs": 1, "reference": 1_500, "size": "S",
        "cause": "fvcore traces with torch.jit and cannot look inside custom autograd Functions / custom kernels "
                 "(prim::PythonOp.F, prim::PythonOp.G)"}]
    fv = SimpleNamespace(by_operator={"conv": 1_500}, missing={}, unsupported={"prim::PythonOp.F": 1})
    assert check_fvcore(fv, complete) == []
    fv = SimpleNamespace(by_operator={"conv": 1_600}, missing={}, unsupported={})
    assert [f.counter for f in check_fvcore(fv, complete)] == ["fvcore"]
    # torch: an operator 1 MAC short
    f, = check_torch({torch.ops.aten.convolution: 2_998}, _complete({"conv": 1_500}, {"aten::convolution": 1_500}))
    assert (f.counter, f.macs, f.size) == ("torch_flops", 1, "LR 256x256")
    f, = check_torch({torch.ops.aten.convolution: 3_200}, _complete({"conv": 1_500}, {"aten::convolution": 1_500}),
                     "S")
    assert (f.counter, f.direction, f.size) == ("torch_flops", "high", "S")
    # hook: an outside op of 1 MAC, a transposed excess of 1, and low/high that do not cancel
    census = _census("ntire22_hook", {"aten::mm": 1}, {"aten::mm": 1}, excess=1, transposed=1)
    findings = check_hook(SimpleNamespace(conv_flops=1_500, linear_flops=0), census, complete)
    assert [(f.counter, f.direction, f.macs, f.reference, f.size) for f in findings] == [
        ("ntire22_hook", "low", 1, 1_500, "LR 256x256"), ("ntire22_hook", "high", 1, 1_500, "LR 256x256")]
    census = _census("ntire22_hook", {"aten::bmm": 3_000}, {"aten::bmm": 1}, excess=2_500, transposed=1)
    # explained = 3,000 - 2,500 = 500: 12,000 - 500 - 11,500 = 0 left over
    findings = check_hook(SimpleNamespace(conv_flops=10_500, linear_flops=1_000), census,
                          _complete({"conv": 9_000, "matmul": 3_000}), "S")
    assert [(f.counter, f.direction, f.macs, f.size) for f in findings] == [
        ("ntire22_hook", "low", 3_000, "S"), ("ntire22_hook", "high", 2_500, "S")]
    nothing = _census("ntire22_hook", {}, {})
    assert check_hook(SimpleNamespace(conv_flops=1_500, linear_flops=0), nothing, complete) == []
    # module counters: their own rule in the cause, every field of the transposed and shared findings
    census = _census("ptflops", {"aten::bmm": 5}, {"aten::bmm": 1})
    f, = check_module_counter("ptflops", census, complete, None, None, {}, None, "S")
    assert vars(f) == {"counter": "ptflops", "direction": "low", "macs": 5, "reference": 1_500, "size": "S",
                       "cause": "aten::bmm x1: matmul(s) outside nn.Linear (q @ k, torch.matmul, einsum, bmm); "
                                "ptflops hooks nn modules and a few torch.*/F.* functions (not the @ operator, "
                                "F.conv2d or SDPA)"}
    census = _census("thop", {}, {}, excess=7, transposed=1)
    up, shared = check_module_counter("thop", census, complete, 10, 4, {"a": ["a", "b"]}, None, "S")
    assert (up.counter, up.direction, up.macs, up.reference, up.size) == ("thop", "high", 7, 1_500, "S")
    assert (shared.counter, shared.reference, shared.size, shared.macs) == ("thop", 1_500, "S", 6)
    assert shared.cause == ("module(s) shared by several parents (a = b): thop registers its hooks once per path to "
                            "a module and adds each parent's total")


def test_deshare_goes_past_empty_child_slots() -> None:
    block = _Block()
    net = nn.Module()
    net.a = nn.Sequential(block)
    net.register_module("gap", None)
    net.b = nn.Sequential(block)
    flat = _deshare(net)
    assert flat.gap is None and flat.a[0] is not flat.b[0]


_SEEN: list[bool] = []  # placeholder flags recorded by _GlobalProbe (its copies share this list)


class _GlobalProbe(_HiddenConvNet):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from bench.complexity.shape_only import is_placeholder

        y = self.head(x)
        _SEEN.append(is_placeholder(y))
        return self.same(_ConvFn.apply(y, self.w))


def test_uncounted_convs_counts_shape_only_by_default() -> None:
    """fvcore's two traces and the complete count all run shape-only, unless told otherwise (at 8x8 the
    'same' conv has 4*4*64 = 1,024 MACs, the custom Function's 9*4*4*64 = 9,216)."""
    from bench.complexity.crosscheck import uncounted_convs

    _SEEN.clear()
    mode, hidden = uncounted_convs(_GlobalProbe(), (R(1, 3, 8, 8),))
    assert (mode["macs"], hidden["macs"]) == (1_024, 9_216)
    assert _SEEN == [True, True, True]
    _SEEN.clear()
    assert uncounted_convs(_GlobalProbe(), (R(1, 3, 8, 8),), shape_only=False)[1]["macs"] == 9_216
    assert _SEEN == [False, False, False]


def test_uncounted_convs_fallback_without_any_convolution() -> None:
    """A custom Function without convolutions in a model that reads a value when not traced: the complete
    count falls back to real tensors, finds no convolution (0), and nothing is hidden."""
    from bench.complexity.crosscheck import uncounted_convs

    class _Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
            return x * x

    def fn(x: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing():
            assert x.abs().sum().item() >= 0
        return _Square.apply(x)

    assert uncounted_convs(_Fn(fn), (R(1, 3, 8, 8),)) == []


def test_ptflops_wrapper_counts_the_callers_values() -> None:
    """A model whose work depends on its input's values (3 convs 3->3 (1x1) when the first value is 3,
    else 1): on the caller's input of threes, 3 * 3*3*16 = 432 MACs + 3 * 3*16 = 144 bias adds at 4x4
    (ptflops' own input would be uninitialised memory)."""
    from bench.complexity.counters import ptflops_count

    class ValueDependent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for _ in range(3 if x[0, 0, 0, 0].item() == 3.0 else 1):
                x = self.conv(x)
            return x

    assert ptflops_count(ValueDependent(), (torch.full((1, 3, 4, 4), 3.0),), shape_only=False) == 576


def test_ntire_hook_counter_splits_conv_and_linear_flops_over_every_call() -> None:
    """Hand count, NTIRE 2022/23 rules: conv 3->4 k3 on 8x8 (pad 1) = 3*4*9*64 = 6,912; ReLU = 256 outputs;
    Linear(4, 6) on (2, 4) = 2*4*6 = 48 and Linear(6, 5) on (2, 6) = 60, called twice -> 120."""
    from bench.complexity.ntire import NtireCounter

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.act = nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()
            self.fc1, self.fc2 = nn.Linear(4, 6), nn.Linear(6, 5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = self.act(self.conv(x)).mean(dim=(2, 3)).expand(2, 4)
            return self.fc2(self.fc1(f)) + self.fc2(self.fc1(f))

    with NtireCounter(Net()) as n, torch.no_grad():
        n.model(torch.zeros(1, 3, 8, 8))
    c = n.counts
    assert c.conv_flops == 6912 and c.linear_flops == 2 * (48 + 60)
    assert c.flops == 6912 + 256 + 2 * (48 + 60) and c.convs == 1 and c.activations == 256
    assert c.flops_by_module == {"conv": 6912, "act": 256, "fc1": 96, "fc2": 120}
