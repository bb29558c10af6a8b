"""The fast inference form of AGDN / AGDN-S: official parity, equivalence to the reference, TLC merge."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.quality import evaluate
from models import create_model, get_spec
from models.agdn import AGDN, tlc_windows
from models.agdn_fast import CUDAGraphForward, FastAGDN, optimize, tlc_count_map
from tests.conftest import SHARED, read_reference_csv
from tests.test_parity import run_on_parity_input

INDEX = [r for r in read_reference_csv(SHARED / "reference" / "parity" / "INDEX.csv")
         if r["model"] in ("AGDN", "AGDN-S")]
OFFICIAL = read_reference_csv(SHARED / "reference" / "official_quality.csv")


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("row", INDEX, ids=[r["file"] for r in INDEX])
def test_fast_form_reproduces_official_outputs(row: dict[str, str]) -> None:
    """Every AGDN / AGDN-S parity file (x2/x3/x4, with and without TLC): max |diff| <= 1e-5."""
    model = create_model(row["zoo_name"], int(row["scale"]), pretrained=True, tlc=row["tlc"] == "True", fast=True)
    assert isinstance(model, FastAGDN) and model.tlc == (row["tlc"] == "True")
    ref = np.load(SHARED / "reference" / "parity" / row["file"])
    out = run_on_parity_input(model, ref["input_uint8"])
    assert out.shape == ref["output"].shape
    diff = float(np.abs(out - ref["output"]).max())
    assert diff <= 1e-5, f"{row['file']}: max |diff| {diff:.3g}"


def test_zoo_rows_and_optimize_share_the_official_checkpoint() -> None:
    for name in ("agdn", "agdn-s"):
        ref, fast = get_spec(name), get_spec(f"{name}-fast")
        assert fast.checkpoints == ref.checkpoints and fast.scales == ref.scales
        assert fast.kwargs == {**ref.kwargs, "fast": True}
    net = create_model("agdn-s", 4, pretrained=True)
    opt = optimize(net)
    assert type(opt) is FastAGDN and type(net) is AGDN  # a copy; the reference is untouched
    assert opt.esr_spec is net.esr_spec and opt.data_range == 1.0 and not opt.training
    sd, sd_opt = net.state_dict(), opt.state_dict()
    assert list(sd) == list(sd_opt) and all(torch.equal(sd[k], sd_opt[k]) for k in sd)
    x = torch.rand(1, 3, 40, 36, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        assert torch.equal(opt(x), create_model("agdn-s-fast", 4, pretrained=True)(x))
    with pytest.raises(TypeError, match="AGDN"):
        optimize(torch.nn.Conv2d(3, 3, 1))


@pytest.mark.parametrize(("size", "options"), [
    ((2, 30, 45), {}),  # batch of 2, windows flush with both edges
    ((2, 17, 33), {"tlc": False}),
    ((1, 21, 26), {"spatial_attn": "none", "channel_attn": "none"}),  # ablation switches
    ((1, 24, 19), {"sgsa": False}),
    ((1, 20, 24), {"tlc_kernel": 32}),  # image smaller than the window: one window
])
def test_fast_equals_reference_on_random_weights(size: tuple[int, int, int], options: dict) -> None:
    torch.manual_seed(0)
    ref = AGDN(scale=3, num_feat=24, num_block=2, **{"tlc_kernel": 12, **options}).eval()
    with torch.no_grad():  # non-trivial temperatures, scales and biases
        for p in ref.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    fast = optimize(ref)
    x = torch.rand(size[0], 3, size[1], size[2], generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        y_ref, y_fast = ref(x), fast(x)
    assert y_fast.shape == y_ref.shape == (size[0], 3, 3 * size[1], 3 * size[2])
    assert float((y_fast - y_ref).abs().max()) <= 1e-5


def test_training_mode_runs_the_reference_forward() -> None:
    torch.manual_seed(0)
    ref = AGDN(scale=2, num_feat=12, num_block=1, tlc_kernel=8)
    fast = optimize(ref).train()
    ref.train()
    x = torch.rand(1, 3, 24, 24)
    assert torch.equal(fast(x), ref(x))


def test_tlc_count_map_hand_computed() -> None:
    # 10 x 10 with window 6: rows/cols start at 0 and 4, so indices 4-5 are covered twice
    count = tlc_count_map(10, 10, 6)[..., 0]
    line = torch.tensor([1, 1, 1, 1, 2, 2, 1, 1, 1, 1], dtype=torch.float32)
    assert torch.equal(count, line[:, None] * line[None, :])
    k1, k2, corners = tlc_windows(256, 256, 48)  # AGDN's layout: every pixel in 1, 2 or 4 windows
    assert sorted(torch.unique(tlc_count_map(256, 256, 48)).tolist()) == [1.0, 2.0, 4.0]
    assert float(tlc_count_map(256, 256, 48).sum()) == len(corners) * k1 * k2


def test_cuda_graph_wrapper_passes_through_on_cpu() -> None:
    net = create_model("agdn-s", 4, fast=True)
    wrapped = optimize(net, cuda_graphs=True)
    assert isinstance(wrapped, CUDAGraphForward) and wrapped.data_range == net.data_range
    x = torch.rand(1, 3, 16, 16)
    with torch.inference_mode():
        assert torch.equal(wrapped(x), net(x))


def _quality_rows() -> list[dict[str, str]]:
    # x4 only in CI (x2 quadruples the HR pixels; its parity file is checked above): measured once for the issue
    # on x2 as well, difference < 5e-5 dB
    keep = {("agdn-s", "4"), ("agdn", "4")}
    return [r for r in OFFICIAL if (r["zoo_name"], r["scale"]) in keep and r["official_model"] in ("AGDN", "AGDN-S")]


@pytest.mark.slow
@pytest.mark.parametrize("row", _quality_rows(), ids=lambda r: f"{r['official_model']}-x{r['scale']}-{r['dataset']}")
def test_fast_form_psnr_unchanged(row: dict[str, str]) -> None:
    """Set5 / Set14 (paper protocol): the fast form's PSNR equals the reference's to 4 decimals."""
    name, scale = row["zoo_name"], int(row["scale"])
    dataset = SHARED / "datasets" / row["dataset"]
    ref = evaluate(name, scale, dataset)
    fast = evaluate(f"{name}-fast", scale, dataset)
    assert ref.status == fast.status == "ok", (ref.message, fast.message)
    assert abs(fast.psnr - ref.psnr) < 5e-5, (fast.psnr, ref.psnr)
    assert abs(fast.ssim - ref.ssim) < 5e-6, (fast.ssim, ref.ssim)
    assert abs(fast.psnr - float(row["psnr"])) <= 0.002  # and the official number, as test_quality checks


def test_complexity_counters_see_the_reference_architecture() -> None:
    """thop / ptflops (module hooks), fvcore (jit trace), FlopCounterMode (dispatch): equal counts."""
    import copy

    from bench.complexity.counters import fvcore_count, ptflops_count, thop_count, torch_flops_count

    x = (torch.rand(1, 3, 32, 32),)
    ref, fast = create_model("agdn-s", 4), create_model("agdn-s-fast", 4)
    for count in (thop_count, ptflops_count, torch_flops_count):
        assert count(copy.deepcopy(fast), x, shape_only=False) == count(copy.deepcopy(ref), x, shape_only=False)
    assert fvcore_count(fast, x, shape_only=False).total == fvcore_count(ref, x, shape_only=False).total
