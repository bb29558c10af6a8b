"""SPAN (ch28/ch26), BSRN, LKDN, MDRN: strict official checkpoints and exact official complexity integers.

Every row of ``reference/official_complexity.csv`` for these models (measured by running the official
implementations) is reproduced exactly: ``params``, thop's ``params_thop`` / multi-adds for a 1280x720
HR output, fvcore's total and per-operator split at 1x3x256x256, the NTIRE 2022/23 hook counter, and
the NTIRE activations / conv-call counts. Output parity with the official models is covered by
``tests/test_parity.py``.

The counts themselves are asserted through the suite's own counters in ``tests/test_complexity.py``;
this file keeps the family-specific checks.
"""

from __future__ import annotations

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
