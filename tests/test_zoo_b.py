"""SPAN (ch28/ch26), BSRN, LKDN, MDRN: strict official checkpoints and exact official complexity integers.

Every row of ``reference/official_complexity.csv`` for these models (measured by running the official
implementations) is reproduced exactly: ``params``, thop's ``params_thop`` / multi-adds for a 1280x720
HR output, fvcore's total and per-operator split at 1x3x256x256, the NTIRE 2022/23 hook counter, and
the NTIRE activations / conv-call counts. Output parity with the official models is covered by
``tests/test_parity.py``.

Cost: thop runs on the ``meta`` device (its rules only read shapes); fvcore must trace real tensors,
so one forward at 256x256 per row serves fvcore and the hook counters together.
"""

from __future__ import annotations

import copy
import logging
import math

import pytest
import torch
from torch import nn

from models import create_model, get_spec
from models.weights import CheckpointError
from tests.conftest import SHARED, read_reference_csv

FAMILY_MODELS = ("span-ch28", "span-ch26", "bsrn", "lkdn", "mdrn")
ROWS = [r for r in read_reference_csv(SHARED / "reference" / "official_complexity.csv")
        if r["zoo_name"] in FAMILY_MODELS]
MANIFEST = read_reference_csv(SHARED / "weights" / "MANIFEST.csv")
MANIFEST_MODEL = {"span-ch28": "SPAN-ch28", "span-ch26": "SPAN-ch26", "bsrn": "BSRN", "lkdn": "LKDN",
                  "mdrn": "MDRN"}
_NTIRE_ACTS = (nn.ReLU, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.ReLU6)


def _row_id(row: dict[str, str]) -> str:
    return f"{row['zoo_name']}-x{row['scale']}"


def test_every_model_and_scale_has_a_reference_row() -> None:
    have = {(r["zoo_name"], int(r["scale"])) for r in ROWS}
    want = {(name, s) for name in FAMILY_MODELS for s in get_spec(name).scales}
    assert have == want


class _NtireHooks:
    """NTIRE counters via forward hooks: activations/convs (2023-2026) and 2022/23 ``get_model_flops``."""

    def __init__(self, model: nn.Module) -> None:
        self.activations = self.convs = self.hook_flops = 0
        self._handles = [m.register_forward_hook(self._hook) for m in model.modules()]

    def _hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            self.activations += output.numel()
            self.convs += 1
        if isinstance(module, nn.Conv2d):  # MACs per output element: k*k * in_ch * out_ch / groups
            per_position = math.prod(module.kernel_size) * module.in_channels * (module.out_channels // module.groups)
            self.hook_flops += per_position * output.shape[0] * math.prod(output.shape[2:])
        elif isinstance(module, _NTIRE_ACTS):
            self.hook_flops += output.numel()
        elif isinstance(module, nn.BatchNorm2d):
            self.hook_flops += inputs[0].numel() * (2 if module.affine else 1)

    def remove(self) -> None:
        for h in self._handles:
            h.remove()


@pytest.fixture(scope="module")
def quiet_fvcore():
    logging.disable(logging.WARNING)  # fvcore logs every skipped operator
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.parametrize("row", ROWS, ids=[_row_id(r) for r in ROWS])
def test_official_complexity_reproduced(row: dict[str, str], quiet_fvcore) -> None:
    from fvcore.nn import FlopCountAnalysis

    scale = int(row["scale"])
    model = create_model(row["zoo_name"], scale)
    assert model.data_range == float(row["data_range"])

    # fvcore at 1x3x256x256 (NTIRE 2024-2026 "FLOPs"); the trace's forward also feeds the NTIRE hooks
    hooks = _NtireHooks(model)
    analysis = FlopCountAnalysis(model, torch.rand(1, 3, 256, 256))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    total = analysis.total()
    hooks.remove()
    by_op = {k: v for k, v in analysis.by_operator().items() if v}
    expected_by_op = dict(kv.split("=") for kv in row["fvcore_by_operator_lr256"].split(";"))
    assert total == int(row["fvcore_flops_lr256"])
    assert by_op == {k: int(v) for k, v in expected_by_op.items()}
    assert hooks.activations == int(row["ntire_activations_lr256"])
    assert hooks.convs == int(row["ntire_convs_lr256"])
    assert hooks.hook_flops == int(row["ntire22_hook_flops_lr256"])
    assert sum(p.numel() for p in model.parameters()) == int(row["params"])  # after a forward, as NTIRE

    # thop (the papers' Multi-Adds) for a 1280x720 HR output: shapes only, so on the meta device
    import thop

    h, w = math.ceil(720 / scale), math.ceil(1280 / scale)
    assert (h, w) == (int(row["lr_h_for_hr1280x720"]), int(row["lr_w_for_hr1280x720"]))
    meta_model = copy.deepcopy(model).to("meta")
    macs, thop_params = thop.profile(meta_model, inputs=(torch.empty(1, 3, h, w, device="meta"),), verbose=False)
    assert int(macs) == int(row["thop_macs_hr1280x720"])
    assert int(thop_params) == int(row["params_thop"])


def test_thop_on_meta_equals_thop_on_real_tensors() -> None:
    import thop

    model = create_model("mdrn", 4)
    x = torch.rand(1, 3, 20, 28)
    real = thop.profile(copy.deepcopy(model), inputs=(x,), verbose=False)
    meta = thop.profile(copy.deepcopy(model).to("meta"), inputs=(x.to("meta"),), verbose=False)
    assert real == meta and real[0] > 0


def test_mdrn_same_padding_convs_are_what_fvcore_skips() -> None:
    """The ~2.0 G gap between the NTIRE hook counter and fvcore on MDRN is exactly its 'same' convs."""
    model = create_model("mdrn", 4)
    same = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.padding == "same"]
    assert len(same) == 1 + 2 * 8  # fea_conv + the two ECCA convs of each block
    macs = sum(math.prod(m.kernel_size) * m.in_channels * (m.out_channels // m.groups) * 256 * 256 for m in same)
    relus = 8 * (56 // 16)  # CCA ReLU outputs (1x1 spatial), counted by the hook counter only
    row = next(r for r in ROWS if r["zoo_name"] == "mdrn" and r["scale"] == "4")
    by_op = dict(kv.split("=") for kv in row["fvcore_by_operator_lr256"].split(";"))
    assert int(row["ntire22_hook_flops_lr256"]) - int(by_op["conv"]) == macs + relus


@pytest.mark.parametrize("name", FAMILY_MODELS)
def test_spec_matches_manifest(name: str) -> None:
    spec = get_spec(name)
    rows = [r for r in MANIFEST if r["model"] == MANIFEST_MODEL[name]]
    assert sorted(int(r["scale"]) for r in rows) == sorted(spec.scales)
    for r in rows:
        ckpt = spec.checkpoint(int(r["scale"]))
        assert ckpt is not None
        assert (ckpt.file, ckpt.sha256, ckpt.source_repo, ckpt.commit, ckpt.source_path) == (
            r["file"], r["sha256"], r["source_repo"], r["commit"], r["source_path"])
        assert (ckpt.state_dict_key or "") == r["state_dict_key"]
        assert ckpt.strip_prefix == r["strip_prefix"]
        assert ckpt.bytes == int(r["bytes"])
        assert spec.data_range == float(r["data_range"])


@pytest.mark.parametrize(("name", "published"), [("bsrn", "BSRN"), ("lkdn", "LKDN")])
def test_table5_rows_are_linked(name: str, published: str) -> None:
    spec = get_spec(name)
    assert spec.published_name == published
    for s in spec.scales:
        row = spec.published(s)
        assert row["model"] == published and row["scale"] == s
        # the paper's thop params (K) are these models' own counts, rounded
        assert row["params_k"] == round(sum(p.numel() for p in create_model(name, s).parameters()) / 1000)


@pytest.mark.parametrize(("name", "scale"), [(n, s) for n in FAMILY_MODELS for s in get_spec(n).scales])
def test_official_checkpoint_loads_strictly(name: str, scale: int) -> None:
    model = create_model(name, scale, pretrained=True)
    ckpt = torch.load(SHARED / "weights" / get_spec(name).checkpoint(scale).file, map_location="cpu",
                      weights_only=True)
    key = get_spec(name).checkpoint(scale).state_dict_key
    state = ckpt[key] if key else ckpt
    own = model.state_dict()
    assert own.keys() == state.keys()
    assert all(torch.equal(own[k], state[k]) for k in state)


def test_wrong_checkpoint_is_refused() -> None:
    """A BSRN x4 checkpoint does not fit BSRN x2 (upsampler shape): no silent partial load."""
    with pytest.raises(CheckpointError):
        create_model("bsrn", 2, pretrained=SHARED / "weights" / "BSRN_x4.pth")


def test_span_aliases_and_fused_form() -> None:
    assert get_spec("span").name == "span-ch28"
    assert get_spec("spantiny").name == "span-ch26"
    model = create_model("span-ch28", 4)
    assert {type(m).__name__ for m in model.modules() if isinstance(m, nn.Conv2d)} == {"Conv2d"}
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == 22  # deploy form: fused 3x3 convs only
    with torch.no_grad():
        y = model(torch.rand(2, 3, 9, 11))
    assert y.shape == (2, 3, 36, 44)
