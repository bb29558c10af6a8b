"""Baseline zoo part A (IMDN, IMDN-NTIRE22, RFDN-AIM, RLFN, RLFN-NTIRE22, EFDN, DIPNet).

Checks each spec against the weights manifest, and each model's complexity against the integers measured
with the official implementations (``reference/official_complexity.csv``): parameters, fvcore FLOPs and
their per-operator split at 1x3x256x256, thop params/multi-adds for a 1280x720 HR output, and the NTIRE
hook counts (conv activations, conv calls, 2022/23 hook FLOPs). Published NTIRE baseline figures are
checked as printed in ``reference/ntire_esr_rules.yaml``.

thop and the hook counters only need shapes, so they run on the ``meta`` device (proved equal to a
real run below); fvcore traces with the JIT and runs on CPU.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from bench.records import to_jsonable
from models import create_model, get_spec
from tests.conftest import SHARED, read_reference_csv
from tests.test_parity import run_on_parity_input

ZOO_A = ("imdn", "imdn-ntire22", "rfdn-aim", "rlfn", "rlfn-ntire22", "efdn", "dipnet")
MANIFEST_MODEL = {
    "imdn": "IMDN", "imdn-ntire22": "IMDN-NTIRE22", "rfdn-aim": "RFDN-AIM", "rlfn": "RLFN",
    "rlfn-ntire22": "RLFN-NTIRE22", "efdn": "EFDN", "dipnet": "DIPNet",
}
COMPLEXITY_ROWS = [
    r for r in read_reference_csv(SHARED / "reference" / "official_complexity.csv") if r["zoo_name"] in ZOO_A
]
MANIFEST_ROWS = [
    r for r in read_reference_csv(SHARED / "weights" / "MANIFEST.csv") if r["model"] in MANIFEST_MODEL.values()
]


@cache
def measure(name: str, scale: int) -> dict:
    """The suite's complexity record (bench.complexity), shared with tests/test_complexity.py."""
    from tests.test_complexity import record

    return to_jsonable(record(name, scale))


def test_every_zoo_a_model_has_reference_rows() -> None:
    assert {r["zoo_name"] for r in COMPLEXITY_ROWS} == set(ZOO_A)
    assert len(COMPLEXITY_ROWS) == 10


def test_every_checkpoint_is_covered() -> None:
    covered = {(n, s) for n in ZOO_A for s in get_spec(n).checkpoints}
    assert covered == {(next(k for k, v in MANIFEST_MODEL.items() if v == r["model"]), int(r["scale"]))
                       for r in MANIFEST_ROWS}


def _ntire_rules() -> dict:
    return yaml.safe_load((SHARED / "reference" / "ntire_esr_rules.yaml").read_text())["years"]


def _published_cases() -> list[tuple[str, str, dict]]:
    years = {str(k): v for k, v in _ntire_rules().items()}
    megsr = next(r for r in years["2023"]["results_top"] if r.get("team") == "MegSR")
    return [
        ("imdn-ntire22", "hook", years["2022"]["baseline"]),
        ("rfdn-aim", "hook", years["2023"]["baseline"]),
        ("dipnet", "hook", megsr),  # NTIRE 2023 winner
        ("rlfn-ntire22", "fvcore", years["2024"]["baseline"]),
        ("efdn", "fvcore", years["2025"]["baseline"]),
    ]


PUBLISHED_CASES = _published_cases()


@pytest.mark.parametrize(("name", "counter", "published"), PUBLISHED_CASES, ids=[c[0] for c in PUBLISHED_CASES])
def test_ntire_published_figures(name: str, counter: str, published: dict) -> None:
    """NTIRE tables print params in M (3 decimals), FLOPs in G and activations in M (2 or more decimals)."""
    got = measure(name, 4)
    flops = got["ntire22_hook_flops_lr256"] if counter == "hook" else got["fvcore_flops_lr256"]
    assert abs(got["params"] / 1e6 - published["params_m"]) <= 0.0005
    assert abs(flops / 1e9 - published["flops_g"]) <= 0.005
    assert abs(got["ntire_activations_lr256"] / 1e6 - published["acts_m"]) <= 0.005
    assert got["ntire_convs_lr256"] == published["convs"]


def test_ntire2024_baseline_exact_integers() -> None:
    exact = {str(k): v for k, v in _ntire_rules().items()}["2024"]["baseline_exact"]
    got = measure("rlfn-ntire22", 4)
    assert (got["params"], got["fvcore_flops_lr256"], got["ntire_activations_lr256"], got["ntire_convs_lr256"]) == (
        exact["params"], exact["flops"], exact["activations"], exact["convs"])


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_imdn_matches_agdn_paper_table5(scale: int) -> None:
    """Table 5 prints IMDN's thop params in K and multi-adds in G (1280x720 output), digits truncated
    (x2: 158.85 G is printed 158.8, as in the IMDN paper)."""
    published = get_spec("imdn").published(scale)
    got = measure("imdn", scale)
    assert got["params_thop"] // 1000 == published["params_k"]
    assert got["thop_macs_hr1280x720"] // 100_000_000 == round(published["madds_g"] * 10)


@pytest.mark.parametrize("name", ["rlfn", "rfdn-aim", "rlfn-ntire22"])
def test_models_trained_on_0_255_input_need_their_range(name: str) -> None:
    """Feeding 0-1 input to a 0-255 model is caught: the output leaves the official one by far more than
    float noise (these nets are nearly linear, so the damage comes from their biases: 25.5-31.7 dB here)."""
    row = next(r for r in read_reference_csv(SHARED / "reference" / "parity" / "INDEX.csv")
               if r["zoo_name"] == name and r["scale"] == "4")
    ref = np.load(SHARED / "reference" / "parity" / row["file"])
    model = create_model(name, 4, pretrained=True)
    assert model.data_range == 255.0

    def psnr(out: np.ndarray) -> float:
        mse = float(np.mean((np.clip(out, 0, 1) - np.clip(ref["output"], 0, 1)) ** 2))
        return 10 * math.log10(1.0 / max(mse, 1e-20))

    right = psnr(run_on_parity_input(model, ref["input_uint8"]))
    model.data_range = 1.0  # the mistake: feed 0-1 and read 0-1
    wrong = psnr(run_on_parity_input(model, ref["input_uint8"]))
    assert right > 80.0
    assert wrong < 35.0


def test_dipnet_is_rlfn_layout_without_conv_biases() -> None:
    model = create_model("dipnet", 4)
    convs = [m for n, m in model.named_modules() if isinstance(m, nn.Conv2d) and ".esa." not in n]
    assert convs and all(c.bias is None for c in convs)
    assert all(m.bias is not None for n, m in model.named_modules() if isinstance(m, nn.Conv2d) and ".esa." in n)


def test_efdn_output_is_clamped() -> None:
    torch.manual_seed(0)
    model = create_model("efdn", 4)
    with torch.no_grad():
        for p in model.tail[0].parameters():
            p.mul_(50.0)
        y = model(torch.rand(1, 3, 24, 24))
    assert float(y.min()) == 0.0 and float(y.max()) == 1.0
