"""Parity with the official implementations: stored official outputs on a fixed input, per model/scale."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import create_model, list_models
from tests.conftest import SHARED, read_reference_csv

INDEX = read_reference_csv(SHARED / "reference" / "parity" / "INDEX.csv")


def run_on_parity_input(model: torch.nn.Module, input_uint8: np.ndarray) -> np.ndarray:
    """Feed an HWC uint8 crop as the model expects it (float/255 * data_range); output / data_range."""
    x = torch.from_numpy(np.ascontiguousarray(input_uint8)).permute(2, 0, 1)[None].float() / 255.0
    x = x * model.data_range
    with torch.inference_mode():
        y = model(x)
    return (y[0] / model.data_range).numpy()


@pytest.mark.parametrize("row", INDEX, ids=[r["file"] for r in INDEX])
def test_official_output_reproduced(row: dict[str, str]) -> None:
    assert row["zoo_name"] in list_models(), f"{row['zoo_name']} missing from the zoo"
    scale = int(row["scale"])
    options = {"tlc": row["tlc"] == "True"} if row["model"] in ("AGDN", "AGDN-S") else {}
    model = create_model(row["zoo_name"], scale, pretrained=True, **options)
    assert model.data_range == float(row["data_range"])
    ref = np.load(SHARED / "reference" / "parity" / row["file"])
    out = run_on_parity_input(model, ref["input_uint8"])
    assert out.shape == ref["output"].shape
    diff = float(np.abs(out - ref["output"]).max())
    assert diff <= 1e-4, f"{row['file']}: max |diff| {diff:.3g}"
