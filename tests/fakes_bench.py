"""Fast stand-ins for the measurement functions (same signatures as the real ones) and a hand-built results dir.

Used by tests/test_bench_job.py and tests/test_reports.py (also from a subprocess in the kill test).
The fake complexity counts the real parameters of the real module (exact, cheap); the other fakes
return fixed, clearly labelled numbers and record every call.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

CALLS: list[tuple] = []
DELAY = 0.0


def _params(model: Any, scale: int) -> int:
    from models import create_model

    module = create_model(model, scale) if isinstance(model, str) else model
    return sum(p.numel() for p in module.parameters())


def fake_complexity(model, scale, *, device="cpu", by_module=False):
    CALLS.append(("complexity", model if isinstance(model, str) else type(model).__name__, scale))
    time.sleep(DELAY)
    n = _params(model, scale)
    return {"kind": "complexity", "model": model if isinstance(model, str) else "module", "scale": scale,
            "params": n, "params_thop": n, "thop_macs_hr1280x720": None, "fvcore_flops_lr256": None,
            "status": "ok", "message": "", "protocol": {"name": "fake"}, "env": {"fake": True}}


def fake_runtime(model, scale, *, device="cpu", **kw):
    CALLS.append(("runtime", model, scale))
    time.sleep(DELAY)
    return {"kind": "runtime", "model": model, "scale": scale, "device": device, "mode": "fake", "median_ms": 1.0,
            "warmup": kw.get("warmup"), "repeats": kw.get("repeats"),
            "status": "ok", "message": "", "protocol": {"name": "fake", **{k: v for k, v in kw.items()}},
            "env": {"fake": True}}


def fake_quality(model, scale, dataset, *, device="cpu", **kw):
    CALLS.append(("quality", model, scale, dataset))
    time.sleep(DELAY)
    hr = Path(str(dataset)) / "HR"
    per_image = [{"name": p.stem, "psnr": 30.0, "ssim": 0.9} for p in sorted(hr.glob("*.png"))] if hr.is_dir() else []
    return {"kind": "quality", "model": model, "scale": scale, "dataset": Path(str(dataset)).name, "psnr": 30.0,
            "ssim": 0.9, "n_images": 1, "per_image": per_image, "status": "ok", "message": "",
            "protocol": {"name": kw.get("protocol")}, "env": {"fake": True}}


def failing_runtime(model, scale, **kw):
    CALLS.append(("runtime", model, scale))
    raise RuntimeError("simulated runtime failure")


FAKES = {"complexity": fake_complexity, "runtime": fake_runtime, "quality": fake_quality}


def write(root: Path, rel: str, rec: dict) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(rec))


def build_results(root: Path, dataset: str = "B100") -> Path:
    """Two models (AGDN x4, AGDN-S x4), one dataset, hand-written records in the contract format.

    Complexity numbers are the exact counts of the zoo models (params 294,174 / 69,272 are checked by
    the complexity helper; here they are inputs). PSNRs: AGDN 27.721 (published 27.72, agrees), AGDN-S
    27.49 (published 27.52: -0.03 dB, amber).
    """
    env = {"torch": "2.x", "device": "cpu (test)"}
    for model, params, thop, macs, psnr, ssim in (("agdn", 294174, 293046, 16.08e9, 27.721, 0.74118),
                                                  ("agdn-s", 69272, 68800, 3.72e9, 27.49, 0.7301)):
        write(root, f"complexity/{model}_x4.json", {
            "kind": "complexity", "model": model, "scale": 4, "params": params, "params_before_forward": params,
            "params_trainable": params, "params_thop": thop, "fvcore_flops_lr256": int(macs / 14.0625),
            "fvcore_by_operator": {"conv": 1}, "ntire22_hook_flops_lr256": None,
            "thop_macs_hr1280x720": int(macs), "ptflops_macs_hr1280x720": int(macs), "fvcore_flops_hr1280x720": None,
            "torch_flops_lr256": None, "ntire_activations_lr256": 1000000, "ntire_convs_lr256": 10,
            "uncounted": {"thop": ["LayerNorm2d"]}, "warnings": [], "by_module": None, "status": "ok",
            "message": "", "protocol": {"name": "complexity"}, "env": env})
        write(root, f"runtime/{model}_x4.json", {
            "kind": "runtime", "model": model, "scale": 4, "device": "cpu", "mode": "robust", "dtype": "fp32",
            "input_size": [256, 256], "median_ms": 10.0 if model == "agdn-s" else 40.0, "mean_ms": 11.0,
            "iqr_ms": 0.5, "peak_mem_forward_mib": None, "status": "ok", "message": "", "protocol": {"name": "robust"},
            "env": env})
        write(root, f"quality/{model}_x4_{dataset}.json", {
            "kind": "quality", "model": model, "scale": 4, "dataset": dataset, "dataset_path": "/data/x",
            "protocol": {"name": "paper", "channel": "Y", "border": 4}, "n_images": 100, "psnr": psnr, "ssim": ssim,
            "per_image": [], "status": "ok", "message": "", "env": env})
    return root
