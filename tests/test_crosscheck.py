"""Issue 13: every counter's blind spots and inflations found and explained; the complete count.

Each case replays a public counter bug on a tiny model whose MACs are worked out by hand in the
test's docstring (one multiply-add = 1 MAC; a KxK convolution from C_in to C_out over H x W output
positions is K*K*C_in*C_out*H*W MACs; bias not counted).
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bench.complexity import measure_complexity
from bench.complexity.complete import complete_count
from bench.complexity.crosscheck import deshare, shared_modules, uncounted_convs

LR, HR = (16, 16), (32, 32)  # x2: thop / ptflops count at LR 16x16 too


def _count(net: nn.Module, **kw):  # noqa: ANN202
    return measure_complexity(net, 2, lr_size=LR, hr_size=HR, **kw)


def _warnings_of(rec, counter: str) -> list[str]:  # noqa: ANN001
    return [w for w in rec.warnings if w.startswith(counter + " is ")]


# ---- SDPA: fvcore and torch miss attention ----------------------------------------------------------------


class _Attention(nn.Module):
    """head conv 3->128 (3x3), self-attention with 2 heads of 64 channels over the 16x16 = 256 LR tokens
    (q = k = v = the features), tail conv 128->12 (3x3), PixelShuffle(2)."""

    def __init__(self, explicit: bool) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, 128, 3, padding=1)
        self.tail = nn.Conv2d(128, 12, 3, padding=1)
        self.up = nn.PixelShuffle(2)
        self.explicit = explicit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.head(x)
        b, c, h, w = f.shape
        t = f.flatten(2).transpose(1, 2).reshape(b, h * w, 2, c // 2).transpose(1, 2).contiguous()
        if self.explicit:
            o = (t @ t.transpose(-2, -1) * (c // 2) ** -0.5).softmax(-1) @ t
        else:
            o = F.scaled_dot_product_attention(t, t, t)
        f = o.transpose(1, 2).reshape(b, h * w, c).transpose(1, 2).reshape(b, c, h, w)
        return self.up(self.tail(f))


CONVS = 9 * 3 * 128 * 256 + 9 * 128 * 12 * 256
ATTENTION = 2 * (2 * 256 * 256 * 64)
SCORES = 2 * 256 * 256


def test_sdpa_hand_counts() -> None:
    """By hand: head 9*3*128*256 = 884,736; tail 9*128*12*256 = 3,538,944; convs 4,423,680.
    Attention per head: QK^T 256*256*64 = 4,194,304 and AV 256*256*64 = 4,194,304; 2 heads: 16,777,216.
    True multiply-add count 4,423,680 + 16,777,216 = 21,200,896 (4.79x the 4,423,680 fvcore reports).
    Complete count adds, per score (2*256*256 = 131,072 scores), 1 for the scaling and 3 for the softmax:
    21,200,896 + 4*131,072 = 21,725,184."""
    assert CONVS == 4_423_680 and ATTENTION == 16_777_216 and CONVS + ATTENTION == 21_200_896
    assert CONVS + ATTENTION + 4 * SCORES == 21_725_184


@pytest.mark.parametrize("execution", ["shape", "real"])
def test_sdpa_undercount_is_a_warning_with_its_macs(execution: str) -> None:
    rec = _count(_Attention(explicit=False), execution=execution)
    # the official figures stay exactly what the tools give
    assert rec.fvcore_flops_lr256 == 4_423_680 and rec.torch_flops_lr256 // 2 == 4_423_680
    assert "aten::scaled_dot_product_attention" in rec.uncounted["fvcore"]
    assert rec.complete_macs_lr256 == 21_725_184
    assert rec.complete_by_category == {"attention": 16_777_216, "conv": 4_423_680, "softmax": 524_288}
    fv, = _warnings_of(rec, "fvcore")
    assert fv.startswith("fvcore is low by 16,777,216 MACs (79.13% of the 21,200,896")
    assert "scaled_dot_product_attention has no fvcore handle" in fv
    th, = _warnings_of(rec, "torch_flops")
    assert th.startswith("torch_flops is low by 16,777,216 MACs")
    assert "no formula for aten::_scaled_dot_product_flash_attention_for_cpu" in th
    for counter in ("ntire22_hook", "thop", "ptflops"):  # attention is a function: no module hook sees it
        w, = _warnings_of(rec, counter)
        assert f"{counter} is low by 16,777,216 MACs" in w
    # the structured form says the same
    by_counter = {f["counter"]: f for f in rec.crosscheck}
    assert by_counter["fvcore"]["macs"] == 16_777_216 and by_counter["fvcore"]["direction"] == "low"
    assert by_counter["fvcore"]["reference"] == 21_200_896


def test_explicit_attention_counts_the_same() -> None:
    """The same model with explicit matmuls: fvcore counts 21,200,896, the complete count is unchanged
    (the bmm's 16,777,216 + mul 131,072 + softmax 3*131,072 = 393,216), fvcore and torch agree with it."""
    rec = _count(_Attention(explicit=True))
    assert rec.fvcore_flops_lr256 == 21_200_896 and rec.torch_flops_lr256 == 2 * 21_200_896
    assert rec.complete_macs_lr256 == 21_725_184
    assert rec.complete_by_operator == {"aten::_softmax": 393_216, "aten::bmm": 16_777_216,
                                        "aten::convolution": 4_423_680, "aten::mul": 131_072}
    assert not _warnings_of(rec, "fvcore") and not _warnings_of(rec, "torch_flops")  # they agree: no blame
    hook, = _warnings_of(rec, "ntire22_hook")
    assert hook.startswith("ntire22_hook is low by 16,777,216 MACs") and "aten::bmm x2" in hook


# ---- a module shared by two parents ------------------------------------------------------------------------


class _SharedConv(nn.Module):
    """head conv 3->8, one conv 8->8 placed in two nn.Sequential parents (called twice), tail conv 8->12."""

    def __init__(self) -> None:
        super().__init__()
        shared = nn.Conv2d(8, 8, 3, padding=1)
        self.head = nn.Conv2d(3, 8, 3, padding=1)
        self.a = nn.Sequential(shared, nn.ReLU())
        self.b = nn.Sequential(shared)
        self.tail = nn.Conv2d(8, 12, 3, padding=1)
        self.up = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.tail(self.b(self.a(self.head(x)))))


def test_shared_module_inflation_is_explained() -> None:
    """By hand at 16x16: head 9*3*8*256 = 55,296; shared 9*8*8*256 = 147,456 per call, 294,912 for its two
    calls; tail 9*8*12*256 = 221,184; true 571,392 MACs. thop counts the shared conv 4x (1,179,648):
    total 1,456,128, 884,736 high. ptflops counts the shared conv's two calls twice, with their bias adds
    (2*8*256 = 4,096): 299,008 high (its total, biases and ReLU outputs included, is 883,712). Params:
    1,684; thop 2,268 (the shared conv's 9*8*8 + 8 = 584 counted twice)."""
    rec = _count(_SharedConv())
    assert rec.fvcore_flops_lr256 == 571_392 and rec.complete_by_category["conv"] == 571_392
    assert rec.thop_macs_hr1280x720 == 1_456_128 and rec.ptflops_macs_hr1280x720 == 883_712
    assert rec.params == 1_684 and rec.params_thop == 2_268
    th, = _warnings_of(rec, "thop")
    assert th.startswith("thop is high by 884,736 MACs")
    assert "a.0 = b.0" in th and "counted 4.00x" in th and "params are 584 high" in th
    pt, = _warnings_of(rec, "ptflops")
    assert pt.startswith("ptflops is high by 299,008 MACs") and "a.0 = b.0" in pt
    assert not _warnings_of(rec, "fvcore") and not _warnings_of(rec, "torch_flops")
    assert not _warnings_of(rec, "ntire22_hook")


def test_deshare() -> None:
    net = _SharedConv()
    assert shared_modules(net) == {"a.0": ["a.0", "b.0"]}
    flat = deshare(net)
    assert shared_modules(flat) == {} and flat.a[0] is not flat.b[0]
    assert net.a[0] is net.b[0]  # the original is untouched


# ---- padding='same' -----------------------------------------------------------------------------------------


class _SameConvs(nn.Module):
    """``n_same`` 3x3 convs 8->8 with padding='same' between a head conv 3->8 and a tail 8->12."""

    def __init__(self, n_same: int) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, 8, 3, padding=1)
        self.body = nn.Sequential(*(nn.Conv2d(8, 8, 3, padding="same") for _ in range(n_same)))
        self.tail = nn.Conv2d(8, 12, 3, padding=1)
        self.up = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.tail(self.body(self.head(x))))


@pytest.mark.parametrize("n_same", [1, 91])
def test_same_padding_always_warns_with_its_macs(n_same: int) -> None:
    """Each 'same' conv: 9*8*8*256 = 147,456 MACs at 16x16, invisible to fvcore; head + tail = 276,480.
    One conv: 147,456 uncounted (34.8% of 423,936); 91 convs: 13,418,496 (98.0% of 13,694,976). However
    small, it is a warning with its MACs, and the challenge's uncounted_convs lists every module."""
    rec = _count(_SameConvs(n_same))
    missing = n_same * 147_456
    assert rec.fvcore_flops_lr256 == 276_480
    assert rec.complete_by_category["conv"] == 276_480 + missing
    fv, = _warnings_of(rec, "fvcore")
    assert fv.startswith(f"fvcore is low by {missing:,} MACs") and "padding='same'" in fv
    assert f"{n_same} call(s) in {n_same} module(s): body.0" in fv
    found = uncounted_convs(_SameConvs(n_same), (torch.rand(1, 3, *LR),))
    assert len(found) == 1 and found[0]["op"] == "aten::_convolution_mode" and found[0]["macs"] == missing
    assert found[0]["modules"] == {f"body.{i}": 147_456 for i in range(n_same)}


def test_same_padding_small_share_still_warns() -> None:
    """One 1x1 'same' conv 8->8: 8*8*256 = 16,384 MACs; with head + tail (276,480) and forty 3x3 convs
    8->8 (40*147,456 = 5,898,240) the total is 6,191,104, so it is 0.26% of it: still a warning."""
    net = _SameConvs(0)
    net.body = nn.Sequential(*(nn.Conv2d(8, 8, 3, padding=1) for _ in range(40)), nn.Conv2d(8, 8, 1, padding="same"))
    rec = _count(net)
    fv, = _warnings_of(rec, "fvcore")
    assert fv.startswith("fvcore is low by 16,384 MACs (0.26% of the 6,191,104 ")
    assert uncounted_convs(net, (torch.rand(1, 3, *LR),))[0]["modules"] == {"body.40": 16_384}


def test_uncounted_convs_sees_custom_autograd_functions() -> None:
    from tests.test_complexity import _CustomKernelNet

    found = uncounted_convs(_CustomKernelNet(), (torch.rand(1, 3, 16, 16),))
    assert len(found) == 1 and found[0]["macs"] == 144 * 16 * 256 and "_ConvFn" in found[0]["op"]
    assert uncounted_convs(_SameConvs(0), (torch.rand(1, 3, *LR),)) == []


# ---- foreign counter state --------------------------------------------------------------------------------


class _SharedReLU(nn.Module):
    """head conv 3->8, ReLU, conv 8->12, the same nn.ReLU instance used in two places, PixelShuffle(2)."""

    def __init__(self) -> None:
        super().__init__()
        act = nn.ReLU()
        self.a = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), act)
        self.b = nn.Sequential(nn.Conv2d(8, 12, 3, padding=1), act)
        self.up = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.b(self.a(x)))


def _thop_profiled() -> nn.Module:
    import thop

    net = _SharedReLU()
    # thop registers hooks once per path; only the last set is removed: the ReLU keeps stale hooks
    thop.profile(net, inputs=(torch.rand(1, 3, 16, 16),), verbose=False)
    return net


def test_thop_state_left_by_the_user_is_cleaned() -> None:
    """thop's own profile of a model with a shared ReLU leaves hooks behind that fail with ``'ReLU' object
    has no attribute 'total_ops'``. Counted on a cleaned copy: conv MACs 9*3*8*256 + 9*8*12*256 =
    276,480, params 224 + 876 = 1,100, hook FLOPs + ReLU outputs 8*256 + 12*256 = 281,600."""
    net = _thop_profiled()
    with pytest.raises(AttributeError, match="total_ops"):
        net(torch.rand(1, 3, 16, 16))
    rec = _count(net)
    assert rec.status == "ok" and rec.params == 1_100 and rec.fvcore_flops_lr256 == 276_480
    assert rec.ntire22_hook_flops_lr256 == 281_600 and rec.torch_flops_lr256 == 2 * 276_480
    assert rec.thop_macs_hr1280x720 == 276_480
    assert rec.foreign_state == ["thop: total_ops/total_params buffers on 1 module(s)", "thop: 2 forward hooks"]
    assert any("counted on a cleaned copy" in w for w in rec.warnings)
    assert not any("has no attribute" in w for w in rec.warnings)
    assert net.a[1]._forward_hooks  # the caller's model keeps its state


def test_thop_buffers_are_cleaned() -> None:
    import thop

    net = _SharedReLU()
    with pytest.raises(RuntimeError):  # the user's profile fails mid-way: buffers and hooks stay
        thop.profile(net, inputs=(torch.rand(1, 4, 16, 16),), verbose=False)
    clean = _count(_SharedReLU())
    rec = _count(net)
    # 7 modules (root, a, a.0, the ReLU, b, b.0, up), each with an ops and a params hook
    assert rec.foreign_state == ["thop: total_ops/total_params buffers on 7 module(s)", "thop: 14 forward hooks"]
    for key in ("params", "params_thop", "fvcore_flops_lr256", "thop_macs_hr1280x720", "ptflops_macs_hr1280x720",
                "ntire22_hook_flops_lr256", "torch_flops_lr256", "complete_macs_lr256"):
        assert getattr(rec, key) == getattr(clean, key) is not None, key


# ---- the complete count ---------------------------------------------------------------------------------


def test_complete_count_rules() -> None:
    """Hand count at 8x8, batch 1: conv 3->4 (3x3): 9*3*4*64 = 6,912; BatchNorm2d eval (affine): 2*256 = 512;
    GELU: 256; bilinear x2 to 16x16: 4*4*256 = 4,096; string-padding conv 4->4 (3x3) at 16x16:
    9*4*4*256 = 36,864; LayerNorm over 4 channels (affine): 5*1,024 = 5,120; Linear 4->4 on 256 tokens:
    4,096; mean over 1,024: 1,024; add: 1,024. Total 59,904."""

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.same = nn.Conv2d(4, 4, 3, padding="same")
            self.ln = nn.LayerNorm(4)
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = F.gelu(self.bn(self.conv(x)))
            y = self.same(F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False))
            t = self.fc(self.ln(y.flatten(2).transpose(1, 2)))
            return t + t.mean()

    for shape_only in (True, False):
        c = complete_count(Net().eval(), (torch.rand(1, 3, 8, 8),), shape_only=shape_only)
        assert c.by_category == {"conv": 6_912 + 36_864, "normalisation": 512 + 5_120, "elementwise": 256 + 1_024,
                                 "interpolation": 4_096, "matmul": 4_096, "reduction": 1_024}
        assert c.total == 59_904 and c.unknown == []
        assert c.by_module == {"conv": 6_912, "bn": 512, "same": 36_864, "ln": 5_120, "fc": 4_096}


def test_complete_count_sees_inside_custom_functions() -> None:
    from tests.test_complexity import _CustomKernelNet

    c = complete_count(_CustomKernelNet().eval(), (torch.rand(1, 3, 16, 16),), shape_only=True)
    assert c.by_category == {"conv": (27 * 16 + 144 * 16 + 144 * 12) * 256}


def test_first_pass_complete_equals_standalone() -> None:
    net = _Attention(explicit=True)
    rec = _count(net)
    alone = complete_count(copy.deepcopy(net).eval(), (torch.rand(1, 3, *LR),), shape_only=True)
    assert rec.complete_macs_lr256 == alone.total and rec.complete_by_operator == alone.by_operator


# ---- the challenge's fvcore-undercount uses the same cross-check ------------------------------------------


@pytest.mark.parametrize("n_same", [1, 91])
def test_challenge_fvcore_undercount_fires_for_any_same_padding_conv(n_same: int, tmp_path) -> None:  # noqa: ANN001
    """The old rule (hook conv MACs > 1.05 x fvcore) missed small shares; now every case is a warning.
    At 16x16: n_same * 147,456 uncounted MACs (1 conv: 147,456; 91 convs: 13,418,496)."""
    from challenge.worker import Checks, _fvcore_undercount

    c = Checks({"entry": {"root": str(tmp_path)}}, tmp_path / "stage")
    net = _SameConvs(n_same).eval()
    _fvcore_undercount(c, net, torch.rand(1, 3, *LR), 276_480, 276_480 + n_same * 147_456, {})
    f, = c.findings
    assert f.code == "fvcore-undercount" and f.severity == "warning"
    assert f"fvcore misses {n_same * 147_456:,} conv MACs" in f.message and "body.0" in f.message
    assert "padding='same'" in f.message


# ---- a formula that uses the output size -------------------------------------------------------------------


class _Transposed(nn.Module):
    """head conv 3->8 (3x3) at 16x16, then ConvTranspose2d 8->3 (4x4, stride 2) to 32x32, no bias."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, 8, 3, padding=1)
        self.up = nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.head(x))


def test_transposed_conv_output_size_formula_is_explained() -> None:
    """By hand: head 9*3*8*256 = 55,296; the transposed conv visits each of the 256 input positions with
    16*8*3 = 384 MACs: 98,304; true 153,600 (fvcore, torch/2, ptflops without its bias adds agree). The
    NTIRE hook counter and thop multiply by the 1,024 output positions: 393,216, i.e. 294,912 high."""
    rec = _count(_Transposed())
    assert rec.fvcore_flops_lr256 == 153_600 == rec.torch_flops_lr256 // 2 == rec.complete_macs_lr256
    assert rec.ntire22_hook_flops_lr256 == rec.thop_macs_hr1280x720 == 55_296 + 393_216
    for counter in ("ntire22_hook", "thop"):
        w, = _warnings_of(rec, counter)
        assert w.startswith(f"{counter} is high by 294,912 MACs") and "output positions" in w
    assert not _warnings_of(rec, "fvcore") and not _warnings_of(rec, "ptflops")


def test_an_operator_outside_the_rule_is_reported() -> None:
    class Atan(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 12, 1)
            self.up = nn.PixelShuffle(2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.up(torch.atan(self.conv(x)))

    rec = _count(Atan())
    assert rec.complete_unknown_ops == ["aten::atan"]
    assert rec.complete_macs_lr256 == 3 * 12 * 256  # the conv only; atan counted 0 and said so
    assert any(w.startswith("the complete count has no rule for aten::atan") for w in rec.warnings)


def test_first_pass_counts_nearest_interpolation_by_its_rule() -> None:
    """head conv 3->12 (3x3) at 16x16: 9*3*12*256 = 82,944; PixelShuffle(2) -> 3x32x32; plus the input
    upscaled by nearest x2: 3*32*32 = 3,072 (1 per output element) and the add: 3,072. Total 89,088,
    in the record (where FlopCounterMode runs beside the complete counter) as alone."""

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Conv2d(3, 12, 3, padding=1)
            self.up = nn.PixelShuffle(2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.up(self.head(x)) + F.interpolate(x, scale_factor=2, mode="nearest")

    rec = _count(Net())
    assert rec.complete_by_operator == {"aten::add": 3_072, "aten::convolution": 82_944,
                                        "aten::upsample_nearest2d": 3_072}
    assert rec.complete_macs_lr256 == 89_088
    assert rec.torch_flops_lr256 == 2 * 82_944  # FlopCounterMode beside it is unchanged
    alone = complete_count(Net().eval(), (torch.rand(1, 3, *LR),), shape_only=True)
    assert alone.by_operator == rec.complete_by_operator
