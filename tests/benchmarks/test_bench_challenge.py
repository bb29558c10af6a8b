"""pytest-benchmark: the cost of ``esr-bench challenge run --measure official`` against the official
evaluation itself (skipped by a plain ``pytest``).

Target (issue 14): on a 20-image set (10 valid + 10 test, NTIRE 2025 layout), ``challenge run
--measure official --data`` for one team costs at most 1.2x the official evaluation's own time. The
official evaluation is reproduced here step by step, independently of esr-bench (one fresh process,
as ``python test_demo.py --model_id N --include_test``): import torch and fvcore, build and load the
model, run both splits image by image (PSNR RGB border 4), count activations/convs with hooks and FLOPs
with fvcore at 1x3x256x256, write results.json. Both sides run with one thread, interleaved (official,
ours, official, ours); the ratio of the fastest of each is reported. Run::

    OMP_NUM_THREADS=1 pytest tests/benchmarks/test_bench_challenge.py --benchmark-only -s
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]

MODEL = '''
import torch
from torch import nn


class MidSR(nn.Module):
    """A plain 48-channel, 10-conv x4 network (RLFN-like cost per pixel)."""

    def __init__(self, ch=48, n=8):
        super().__init__()
        self.head = nn.Conv2d(3, ch, 3, padding=1)
        self.body = nn.Sequential(*[m for _ in range(n) for m in (nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU())])
        self.tail = nn.Conv2d(ch, 48, 3, padding=1)
        self.up = nn.PixelShuffle(4)

    def forward(self, x):
        f = self.head(x)
        return self.up(self.tail(self.body(f) + f))
'''

OFFICIAL = '''
import glob, json, os, sys, time
import numpy as np
import torch
from PIL import Image
from fvcore.nn import FlopCountAnalysis
import importlib.util

root, data = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("m", os.path.join(root, "models", "team01_Mid.py"))
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
model = mod.MidSR()
model.load_state_dict(torch.load(os.path.join(root, "model_zoo", "team01_Mid.pth")), strict=True)
model.eval()
for p in model.parameters():
    p.requires_grad = False
results = {}
for mode in ("valid", "test"):
    times, psnrs = [], []
    for hr_p in sorted(glob.glob(os.path.join(data, f"DIV2K_LSDIR_{mode}_HR", "*.png"))):
        lr_p = hr_p.replace("_HR", "_LR").replace(".png", "x4.png")
        lr = np.asarray(Image.open(lr_p).convert("RGB"))
        x = torch.from_numpy(np.ascontiguousarray(lr)).permute(2, 0, 1).float().div(255.).unsqueeze(0)
        t0 = time.perf_counter()
        y = model(x)
        times.append((time.perf_counter() - t0) * 1000)
        sr = np.uint8((y.data.squeeze().float().clamp_(0, 1).cpu().numpy() * 255.0).round()).transpose(1, 2, 0)
        hr = np.asarray(Image.open(hr_p).convert("RGB"))
        hr = hr[: hr.shape[0] // 4 * 4, : hr.shape[1] // 4 * 4]
        d = (sr.astype(np.float64) - hr.astype(np.float64))[4:-4, 4:-4]
        psnrs.append(20 * np.log10(255.0 / np.sqrt(np.mean(d ** 2))))
    results[f"{mode}_ave_runtime"] = sum(times) / len(times)
    results[f"{mode}_ave_psnr"] = sum(psnrs) / len(psnrs)
acts, convs = [0], [0]
def hook(m, i, o):
    acts[0] += o.numel(); convs[0] += 1
hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
with torch.no_grad():
    model(torch.randn(1, 3, 256, 256))
for h in hs:
    h.remove()
results["flops"] = FlopCountAnalysis(model, torch.rand(1, 3, 256, 256)).total() / 1e9
results["num_parameters"] = sum(p.numel() for p in model.parameters()) / 1e6
results.update(activations=acts[0] / 1e6, num_conv=convs[0])
json.dump({"01_Mid": results}, open("results.json", "w"))
'''


def _setup(tmp: Path) -> tuple[Path, Path]:
    from PIL import Image

    sub, data = tmp / "sub", tmp / "data"
    (sub / "models").mkdir(parents=True)
    (sub / "model_zoo").mkdir()
    (sub / "models" / "team01_Mid.py").write_text(textwrap.dedent(MODEL))
    ns: dict = {}
    exec(compile(MODEL, "mid", "exec"), ns)  # noqa: S102 - our own benchmark model
    torch.manual_seed(0)
    torch.save(ns["MidSR"]().state_dict(), sub / "model_zoo" / "team01_Mid.pth")
    (sub / "submission.toml").write_text('year = 2025\n[[team]]\nid = "01"\nname = "Mid"\nclass = "MidSR"\n')
    rng = np.random.default_rng(0)
    for split in ("valid", "test"):
        (data / f"DIV2K_LSDIR_{split}_HR").mkdir(parents=True)
        (data / f"DIV2K_LSDIR_{split}_LR").mkdir(parents=True)
        for i in range(10):
            hr = rng.integers(0, 256, (768, 768, 3), dtype=np.uint8)
            Image.fromarray(hr).save(data / f"DIV2K_LSDIR_{split}_HR" / f"{i:04d}.png")
            Image.fromarray(hr[::4, ::4]).save(data / f"DIV2K_LSDIR_{split}_LR" / f"{i:04d}x4.png")
    return sub, data


def _wall(cmd: list[str], cwd: Path) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    assert r.returncode in (0, 1), r.stderr[-2000:]
    return wall


def test_bench_challenge_run_vs_official(benchmark, tmp_path):
    sub, data = _setup(tmp_path)
    (tmp_path / "official.py").write_text(OFFICIAL)
    official = [sys.executable, str(tmp_path / "official.py"), str(sub), str(data)]
    ours = [sys.executable, "-m", "bench", "challenge", "run", str(sub), "--out", str(tmp_path / "out"),
            "--data", str(data), "--measure", "official", "--force"]
    walls: dict[str, list[float]] = {"official": [], "ours": []}

    def rounds() -> None:
        for _ in range(2):
            walls["official"].append(_wall(official, tmp_path))
            walls["ours"].append(_wall(ours, tmp_path))

    benchmark.pedantic(rounds, rounds=1, iterations=1)
    ratio = min(walls["ours"]) / min(walls["official"])
    benchmark.extra_info.update(official_s=walls["official"], ours_s=walls["ours"], ratio=ratio)
    print(f"\nofficial {walls['official']} s, challenge run {walls['ours']} s, ratio {ratio:.3f}")
    rec = json.loads((tmp_path / "out" / "challenge" / "01_Mid.json").read_text())
    ref = json.loads((tmp_path / "results.json").read_text())["01_Mid"]
    assert abs(rec["official"]["valid_ave_psnr"] - ref["valid_ave_psnr"]) < 1e-6
    assert rec["official"]["flops"] == ref["flops"] and rec["official"]["num_conv"] == ref["num_conv"]
    assert ratio <= 1.2
