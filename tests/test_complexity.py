"""Complexity analysis: official integers, published figures, shape-only == real, blind spots flagged."""

from __future__ import annotations

import copy
import functools
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bench.cli import main
from bench.complexity import lr_size_for_hr, measure_complexity
from bench.complexity.counters import thop_count
from models import create_model, list_models
from models.published import ablations, published_row, table6
from tests.conftest import SHARED, read_reference_csv

OFFICIAL = read_reference_csv(SHARED / "reference" / "official_complexity.csv")
EXACT = ("params", "params_thop", "fvcore_flops_lr256", "ntire22_hook_flops_lr256", "thop_macs_hr1280x720",
         "fvcore_flops_hr1280x720", "ntire_activations_lr256", "ntire_convs_lr256")
WITHIN_0_1_PCT = ("ptflops_macs_hr1280x720", "torch_flops_lr256")


@functools.cache
def record(name: str, scale: int):
    return measure_complexity(name, scale)


def _require_zoo(name: str) -> None:
    assert name in list_models(), f"{name} missing from the zoo"


@pytest.mark.parametrize("row", OFFICIAL, ids=lambda r: f"{r['zoo_name']}-x{r['scale']}")
def test_official_complexity_rows(row: dict) -> None:
    """Each official_complexity.csv row (official code + checkpoint) is reproduced to the integer."""
    _require_zoo(row["zoo_name"])
    scale = int(row["scale"])
    rec = record(row["zoo_name"], scale)
    assert rec.status == "ok", rec.message
    assert rec.protocol["lr_for_hr"] == [int(row["lr_h_for_hr1280x720"]), int(row["lr_w_for_hr1280x720"])]
    assert rec.protocol["data_range"] == float(row["data_range"])
    for key in EXACT:
        assert getattr(rec, key) == int(row[key]), key
    for key in WITHIN_0_1_PCT:
        assert getattr(rec, key) == pytest.approx(int(row[key]), rel=1e-3), key
    expected_ops = dict(kv.split("=") for kv in row["fvcore_by_operator_lr256"].split(";"))
    assert rec.fvcore_by_operator == {k: int(v) for k, v in expected_ops.items()}
    _check_complete(rec)


def _check_complete(rec) -> None:  # noqa: ANN001
    """The complete count is documented per operator, and every counter's gap to it is explained exactly."""
    from bench.complexity.complete import MAC_CATEGORIES
    from bench.complexity.crosscheck import TOLERANCE, fvcore_mac_ops

    assert rec.complete_unknown_ops == [] and rec.complete_by_operator
    assert sum(rec.complete_by_operator.values()) == sum(rec.complete_by_category.values()) == rec.complete_macs_lr256
    macs = sum(rec.complete_by_category.get(c, 0) for c in MAC_CATEGORIES)
    fv_low = sum(f["macs"] for f in rec.crosscheck if f["counter"] == "fvcore" and f["direction"] == "low")
    gap = fvcore_mac_ops(rec.fvcore_by_operator) + fv_low - macs
    if "einsum" in rec.fvcore_by_operator:
        # fvcore estimates a general einsum with numpy's einsum_path ("optimized flop" / 2): bicubic's resize
        # einsums come out 0.02% above their M x N x K, under the tolerance, so no warning
        assert abs(gap) <= TOLERANCE * macs and not fv_low
    else:
        assert gap == 0
    hook_low = sum(f["macs"] for f in rec.crosscheck if f["counter"] == "ntire22_hook" and f["direction"] == "low")
    assert rec.ntire22_hook_flops_lr256 >= macs - hook_low  # its conv part + activations


ARCH_ONLY = read_reference_csv(SHARED / "reference" / "official_complexity_archonly.csv")
# The reference lists CARN's params_trainable as its params; the official MeanShift layers are frozen
# (24 parameters), see tests/test_zoo_archonly.py.
_ARCH_ONLY_ERRATA = {("carn", "params_trainable"): 1_591_939}


@pytest.mark.parametrize("row", ARCH_ONLY, ids=lambda r: f"{r['zoo_name']}-x{r['scale']}")
def test_arch_only_rows(row: dict) -> None:
    """official_complexity_archonly.csv through the same record (CARN: multi-scale forward(x, scale))."""
    _require_zoo(row["zoo_name"])
    rec = record(row["zoo_name"], int(row["scale"]))
    assert rec.status == "ok", rec.message
    for key in ("params", "params_trainable", "params_thop", "thop_macs_hr1280x720"):
        expected = _ARCH_ONLY_ERRATA.get((row["zoo_name"], key), int(row[key]))
        assert getattr(rec, key) == expected, key
    _check_complete(rec)


def test_every_zoo_model_has_a_reference_row() -> None:
    """Every zoo model's complete count is checked: the two reference files' rows, plus the rest here."""
    covered = {r["zoo_name"] for r in OFFICIAL} | {r["zoo_name"] for r in ARCH_ONLY}
    rest = set(list_models()) - covered
    # the fast forms count as their reference architecture (tests/test_agdn_fast.py checks every counter)
    assert rest == {"bicubic", "agdn-s", "agdn-fast", "agdn-s-fast"}
    for name in ("bicubic", "agdn-s"):
        _check_complete(record(name, 4))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_agdn_table5_thop_figures(scale: int) -> None:
    """Table 5: AGDN 279K/61.4G, 285K/27.9G, 293K/16.1G are thop params and multi-adds, rounded."""
    pub = published_row("AGDN", scale)
    rec = record("agdn", scale)
    assert round(rec.params_thop / 1e3) == pub["params_k"]
    assert round(rec.thop_macs_hr1280x720 / 1e9, 1) == pub["madds_g"]
    # the paper's count is not sum(numel): thop misses LayerNorm weights, temperatures and scales
    assert rec.params - rec.params_thop == 1491


def test_agdn_s_published_figures() -> None:
    """AGDN-S: 69K / 3.7G (table 5, thop) and 0.069 M / 4.39 G (NTIRE 2024 table 6, fvcore)."""
    rec = record("agdn-s", 4)
    pub5 = published_row("AGDN-S", 4)
    assert round(rec.params_thop / 1e3) == pub5["params_k"] == 69
    assert round(rec.thop_macs_hr1280x720 / 1e9, 1) == pub5["madds_g"] == 3.7
    pub6 = next(r for r in table6() if "AGDN-S" in r["team"])
    assert round(rec.params / 1e6, 3) == pub6["params_m"] == 0.069
    assert round(rec.fvcore_flops_lr256 / 1e9, 2) == pub6["flops_g"] == 4.39
    assert rec.params == 69272 and rec.fvcore_flops_lr256 == 4387685760


_ABLATION_OPTIONS = {
    "base": {"spatial_attn": "none", "channel_attn": "none", "sgsa": False},
    "mvsa": {"spatial_attn": "mvsa", "channel_attn": "none", "sgsa": False},
    "rcca": {"spatial_attn": "none", "channel_attn": "rcca", "sgsa": False},
    "mvsa+rcca": {"spatial_attn": "mvsa", "channel_attn": "rcca", "sgsa": False},
    "agdn": {},
    "agdn-woTLC": {"tlc": False},
    "blocks5": {"num_block": 5},
    "blocks6": {"num_block": 6},
}
# exact thop parameter counts of the official code (agdn_paper_ablations.csv header and the brief)
_ABLATION_THOP_PARAMS = {"base": 126552, "mvsa": 144766, "rcca": 132467, "mvsa+rcca": 150681, "agdn": 292683,
                         "blocks5": 215229, "blocks6": 253956}
_ABLATION_ROWS = [r for r in ablations() if r["table"] in (1, 3, 4)]


@pytest.mark.parametrize("row", _ABLATION_ROWS, ids=lambda r: f"table{r['table']}-{r['variant']}")
def test_ablation_rows(row: dict) -> None:
    """Tables 1, 3 and 4 (x4): thop params (K) and multi-adds (G) as printed."""
    net = create_model("agdn", 4, **_ABLATION_OPTIONS[row["variant"]])
    x = torch.empty(1, 3, *lr_size_for_hr(4))
    macs, params = thop_count(copy.deepcopy(net), (x,), shape_only=True)
    assert round(params / 1e3) == row["params_k"]
    assert round(macs / 1e9, 1) == row["madds_g"]
    if row["variant"] in _ABLATION_THOP_PARAMS:
        assert params == _ABLATION_THOP_PARAMS[row["variant"]]


def test_rlfn_ntire22_published_figures() -> None:
    """NTIRE 2024 baseline: 0.317218 M / 19.6749 G / 80.0452 M activations / 39 convs."""
    _require_zoo("rlfn-ntire22")
    rec = record("rlfn-ntire22", 4)
    assert round(rec.params / 1e6, 6) == 0.317218
    assert round(rec.fvcore_flops_lr256 / 1e9, 4) == 19.6749
    assert round(rec.ntire_activations_lr256 / 1e6, 4) == 80.0452
    assert rec.ntire_convs_lr256 == 39


# ---- shape-only counting equals a real run ---------------------------------------------------------------

_INT_FIELDS = EXACT + WITHIN_0_1_PCT + ("params_before_forward", "params_trainable", "complete_macs_lr256",
                                        "complete_macs_hr1280x720")


def _small(execution: str, net: nn.Module, scale: int = 4):
    return measure_complexity(net, scale, execution=execution, lr_size=(40, 56), hr_size=(112, 160),
                              by_module=True)


@pytest.mark.parametrize("options", [{"num_feat": 24, "num_block": 1, "tlc_kernel": 16},
                                     {"num_feat": 24, "num_block": 1, "tlc": False}])
def test_shape_only_equals_real(options: dict) -> None:
    """Every counter gives the same integers shape-only and with real tensors (TLC windows included)."""
    net = create_model("agdn", 4, **options)
    shape, real = _small("shape", net), _small("real", net)
    assert set(shape.protocol["execution"].values()) == {"shape-only"}
    assert set(real.protocol["execution"].values()) == {"real"}
    for key in _INT_FIELDS:
        assert getattr(shape, key) == getattr(real, key) is not None, key
    assert shape.fvcore_by_operator == real.fvcore_by_operator
    assert shape.by_module == real.by_module
    assert shape.uncounted == real.uncounted
    assert shape.complete_by_operator == real.complete_by_operator and shape.crosscheck == real.crosscheck


@pytest.mark.parametrize("name", ["bicubic", "carn", "elan-light", "safmn", "shufflemixer"])
def test_shape_only_equals_real_zoo(name: str) -> None:
    """Zoo models without official fvcore/hook rows: shape-only counting equals a real run."""
    _require_zoo(name)
    shape = measure_complexity(name, 2, execution="shape", lr_size=(32, 48), hr_size=(64, 96))
    real = measure_complexity(name, 2, execution="real", lr_size=(32, 48), hr_size=(64, 96))
    assert set(shape.protocol["execution"].values()) == {"shape-only"}
    for key in _INT_FIELDS:
        assert getattr(shape, key) == getattr(real, key) is not None, key
    assert shape.fvcore_by_operator == real.fvcore_by_operator


class _ValueDependent(nn.Module):
    """Chooses a branch from tensor values: cannot be counted shape-only."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 3 * 4, 3, padding=1)
        self.up = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.a(x)
        if y.abs().sum().item() >= 0:  # always true, but needs the values
            y = F.relu(y)
        return self.up(self.b(y))


def test_value_dependent_model_falls_back_to_real() -> None:
    rec = measure_complexity(_ValueDependent(), 2, lr_size=(16, 16), hr_size=(32, 32))
    assert set(rec.protocol["execution"].values()) == {"real"}
    conv = 9 * 3 * 8 * 16 * 16 + 9 * 8 * 12 * 16 * 16
    assert rec.ntire22_hook_flops_lr256 == conv  # F.relu is functional: the hook counter ignores it
    assert rec.fvcore_flops_lr256 == conv
    assert rec.ntire_activations_lr256 == 8 * 256 + 12 * 256 and rec.ntire_convs_lr256 == 2


# ---- blind spots ------------------------------------------------------------------------------------------


class _ConvFn(torch.autograd.Function):
    """A convolution hidden inside a custom autograd Function (like a custom CUDA kernel)."""

    @staticmethod
    def forward(ctx, x, weight, bias, padding):  # noqa: ANN001, ANN205
        return F.conv2d(x, weight, bias, padding=padding)

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001, ANN205
        raise NotImplementedError


class _FusedConv(nn.Conv2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ConvFn.apply(x, self.weight, self.bias, self.padding)


class _CustomKernelNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, 16, 3, padding=1)
        self.body = _FusedConv(16, 16, 3, padding=1)
        self.tail = nn.Conv2d(16, 3 * 4, 3, padding=1)
        self.up = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.tail(self.body(self.head(x))))


@pytest.mark.parametrize("execution", ["shape", "real"])
def test_custom_autograd_function_is_flagged(execution: str) -> None:
    rec = measure_complexity(_CustomKernelNet(), 2, execution=execution, lr_size=(32, 32), hr_size=(64, 64))
    hw = 32 * 32
    head, body, tail = 27 * 16 * hw, 144 * 16 * hw, 144 * 12 * hw
    assert rec.ntire22_hook_flops_lr256 == head + body + tail
    assert rec.fvcore_flops_lr256 == head + tail < rec.ntire22_hook_flops_lr256
    assert rec.torch_flops_lr256 == 2 * (head + body + tail)  # dispatch-level counting sees inside
    assert any(op.startswith("prim::PythonOp") for op in rec.uncounted["fvcore"])
    fv = [w for w in rec.warnings if w.startswith("fvcore is low")]
    assert len(fv) == 1 and fv[0].startswith(f"fvcore is low by {body:,} MACs")
    assert "custom autograd Function" in fv[0] and "_ConvFn" in fv[0]
    assert rec.complete_by_category == {"conv": head + body + tail}
    # thop and ptflops match module types exactly: the nn.Conv2d subclass is invisible to both
    assert any(w.startswith(f"thop is low by {body:,} MACs") for w in rec.warnings)
    assert not any(w.startswith(("torch_flops is", "ntire22_hook is")) for w in rec.warnings)


class _SamePadding(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 16, 3, padding="same")  # traced as aten::_convolution_mode
        self.b = nn.Conv2d(16, 12, 3, padding=1)
        self.up = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.b(self.a(x)))


class _FunctionalConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 16, 3, padding=1)
        self.w = nn.Parameter(torch.zeros(12, 16, 3, 3))
        self.up = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(F.conv2d(self.a(x), self.w, padding=1))


def test_string_padding_is_explained() -> None:
    """fvcore 0.1.5 has no handle for aten::_convolution_mode (MDRN's case): flagged and named."""
    rec = measure_complexity(_SamePadding(), 2, lr_size=(16, 16), hr_size=(32, 32))
    a, b = 27 * 16 * 256, 144 * 12 * 256
    assert rec.ntire22_hook_flops_lr256 == a + b and rec.fvcore_flops_lr256 == b
    assert "aten::_convolution_mode" in rec.uncounted["fvcore"]
    assert any("padding='same'" in w for w in rec.warnings)


def test_functional_conv_is_explained() -> None:
    """The hook counter sees nn.Conv2d modules only (ELAN's shift convolutions): flagged and named."""
    rec = measure_complexity(_FunctionalConv(), 2, lr_size=(16, 16), hr_size=(32, 32))
    a, b = 27 * 16 * 256, 144 * 12 * 256
    assert rec.fvcore_flops_lr256 == a + b and rec.ntire22_hook_flops_lr256 == a
    assert rec.ntire_convs_lr256 == 1
    assert "aten::convolution" in rec.uncounted["ntire22_hook"] and "aten::convolution" in rec.uncounted["thop"]
    hook = [w for w in rec.warnings if w.startswith("ntire22_hook is")]
    assert len(hook) == 1 and hook[0].startswith(f"ntire22_hook is low by {b:,} MACs")
    assert "aten::convolution x1" in hook[0] and "functional F.conv2d" in hook[0]
    assert not any(w.startswith("fvcore is") for w in rec.warnings)


class _FusesOnFirstForward(nn.Module):
    """Re-parameterises itself on its first call (two parallel 3x3 convs -> one), like some NTIRE entries."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 12, 3, padding=1)
        self.b = nn.Conv2d(3, 12, 3, padding=1)
        self.up = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.b is not None:
            self.a.weight.data = self.a.weight.data + self.b.weight.data
            self.a.bias.data = self.a.bias.data + self.b.bias.data
            self.b = None
        return self.up(self.a(x))


@pytest.mark.parametrize("execution", ["shape", "real"])
def test_params_after_forward(execution: str) -> None:
    net = _FusesOnFirstForward()
    rec = measure_complexity(net, 2, execution=execution, lr_size=(16, 16), hr_size=(32, 32))
    assert rec.params_before_forward == 2 * (324 + 12) and rec.params == 324 + 12
    assert rec.ntire_convs_lr256 == 1 and rec.params_thop == 324 + 12  # later counters see the fused model
    assert any("re-parameterises" in w for w in rec.warnings)
    assert net.b is not None  # the caller's model is untouched


class _Broken(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a(x).view(7, -1, 5)  # impossible shape


def test_failing_model_gives_failed_record() -> None:
    rec = measure_complexity(_Broken(), 2, lr_size=(16, 16), hr_size=(32, 32))
    assert rec.status == "failed" and rec.params_before_forward == 112
    assert rec.fvcore_flops_lr256 is None and rec.thop_macs_hr1280x720 is None and rec.ntire22_hook_flops_lr256 is None
    assert "first_pass failed" in rec.message and "fvcore_lr256 failed" in rec.message


def test_counting_never_changes_the_model() -> None:
    net = create_model("agdn-s", 4)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rec = measure_complexity(net, 4, lr_size=(48, 48), hr_size=(96, 96))
    assert rec.status == "ok"
    after = net.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    for m in net.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks
        assert "total_ops" not in m._buffers and not hasattr(m, "__flops__")


def test_uncounted_lists_agdn() -> None:
    rec = record("agdn-s", 4)
    assert "aten::gelu" in rec.uncounted["fvcore"]
    assert "aten::bmm" in rec.uncounted["thop"]  # SGSA's q @ k^T: thop never sees matmuls
    assert "module:WithBiasLayerNorm" in rec.uncounted["thop"]
    assert "aten::upsample_bilinear2d" in rec.uncounted["ntire22_hook"]
    # fvcore and torch count every multiply-add; SGSA's 8 matmuls (q @ k^T, attn @ v) are invisible to the
    # module-hook counters: 127,401,984 MACs at LR 256x256, 113,246,208 at the HR 1280x720 size (180x320 LR)
    assert [w.split(" (")[0] for w in rec.warnings] == [
        "ntire22_hook is low by 127,401,984 MACs", "thop is low by 113,246,208 MACs",
        "ptflops is low by 113,246,208 MACs"]
    assert all("aten::bmm x8" in w for w in rec.warnings)
    assert rec.complete_by_category["matmul"] == 127_401_984


# ---- CLI --------------------------------------------------------------------------------------------------


def test_cli_json(capsys: pytest.CaptureFixture) -> None:
    assert main(["complexity", "agdn-s", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["kind"] == "complexity" and rec["model"] == "agdn-s" and rec["scale"] == 4
    for key in EXACT + WITHIN_0_1_PCT + ("fvcore_by_operator", "uncounted", "warnings", "protocol", "env"):
        assert key in rec
    assert rec["params"] == 69272 and rec["fvcore_flops_lr256"] == 4387685760


def test_cli_all_summary_table(capsys: pytest.CaptureFixture) -> None:
    from bench.commands.complexity import _print_summary
    from bench.records import to_jsonable

    ok = to_jsonable(record("agdn-s", 4))
    failed = {**ok, "model": "broken", "params_thop": None, "fvcore_flops_lr256": None, "status": "failed"}
    _print_summary([ok, failed])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:6] == ["agdn-s", "4", "69,272", "68,780", "4.3877", "4.2414"]
    assert lines[2].split()[3:5] == ["-", "-"] and "failed" in lines[2]


def test_cli_table_and_errors(capsys: pytest.CaptureFixture) -> None:
    assert main(["complexity", "agdn-s", "--by-module", "--by-op"]) == 0
    out = capsys.readouterr().out
    assert "fvcore FLOPs, LR 256x256" in out and "4,387,685,760" in out and "upsampler" in out
    # --by-op: the complete count per operator and each convention's distance from it
    lines = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.strip()}
    assert lines["aten::bmm"][1:3] == ["matmul", "127,401,984"]
    assert lines["aten::convolution"][1:3] == ["conv", "4,241,409,408"]
    assert lines["total"][1] == "4,703,225,136"
    assert lines["fvcore_flops_lr256"][1:] == ["4,387,685,760", "4,703,225,136", "-6.71%"]
    assert lines["torch_flops_lr256"][1] == "4,368,811,392"  # FLOPs halved to MACs
    assert main(["complexity"]) == 2
    assert main(["complexity", "agdn-s", "--scale", "2"]) == 2
    assert main(["complexity", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert "--all" in err and "x2" in err and "unknown model" in err


def test_agdn_x4_report_shows_each_convention_distance_from_complete() -> None:
    """Issue 13 acceptance: the report table for AGDN x4 has every convention next to the complete count."""
    from bench.records import to_jsonable
    from reports.loader import ResultSet
    from reports.tables import complete_distance_table

    rec = record("agdn", 4)
    rs = ResultSet()
    rs.add(to_jsonable(rec))
    t = complete_distance_table(rs)
    assert len(t.rows) == 6 and not t.notes
    rows = {r["convention"]: r for r in t.rows}
    fv = rows["fvcore FLOPs, 256² LR [G]"]
    assert fv["g"] == rec.fvcore_flops_lr256 / 1e9 and fv["complete_g"] == rec.complete_macs_lr256 / 1e9
    assert fv["distance"] == pytest.approx(100 * (rec.fvcore_flops_lr256 / rec.complete_macs_lr256 - 1))
    torch_row = rows["torch FLOPs, 256² LR [G]"]
    assert torch_row["g"] == rec.torch_flops_lr256 // 2 / 1e9  # FLOPs shown as MACs
    thop = rows["thop MACs, 720p HR [G]"]
    assert thop["complete_g"] == rec.complete_macs_hr1280x720 / 1e9 and thop["distance"] < 0
    # every convention counts less than the complete rule for AGDN (elementwise work, SGSA's matmuls)
    assert all(r["distance"] < 0 for r in t.rows)
    empty = complete_distance_table(ResultSet())
    assert not empty.rows and "no complexity record" in empty.notes[0]


def test_a_failed_headline_counter_makes_the_record_partial(monkeypatch) -> None:
    """fvcore failing leaves fvcore_flops_lr256 None and the record "partial" (never "ok"), naming both."""
    from bench.complexity import counters

    def broken(*args, **kwargs):
        raise RuntimeError("tracing exploded")

    monkeypatch.setattr(counters, "fvcore_count", broken)
    rec = measure_complexity(nn.Sequential(nn.Conv2d(3, 12, 3, padding=1)), 2, lr_size=(16, 16), hr_size=(32, 32))
    assert rec.status == "partial" and rec.fvcore_flops_lr256 is None and rec.fvcore_flops_hr1280x720 is None
    assert rec.message.startswith("missing headline figure(s) fvcore_flops_lr256: ")
    assert "fvcore_lr256 failed: RuntimeError: tracing exploded" in rec.message
    # the other counters' figures stay exact: 3*12*9 MACs per output pixel, 16x16 LR; thop at 32/2=16
    assert rec.ntire22_hook_flops_lr256 == 3 * 12 * 9 * 256 and rec.thop_macs_hr1280x720 == 3 * 12 * 9 * 256
    assert rec.params == rec.params_thop == 3 * 12 * 9 + 12


def test_a_non_headline_counter_failing_keeps_the_record_ok(monkeypatch) -> None:
    from bench.complexity import counters

    def broken(*args, **kwargs):
        raise RuntimeError("ptflops exploded")

    monkeypatch.setattr(counters, "ptflops_count", broken)
    rec = measure_complexity(nn.Sequential(nn.Conv2d(3, 12, 3, padding=1)), 2, lr_size=(16, 16), hr_size=(32, 32))
    assert rec.status == "ok" and rec.ptflops_macs_hr1280x720 is None
    assert "ptflops_hr failed: RuntimeError: ptflops exploded" in rec.warnings
