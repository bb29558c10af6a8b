"""A whole-zoo results directory in the record format of a real `esr-bench bench` run, written in a second.

Every zoo model x scale gets a complexity, a runtime and one quality record per dataset (Set5, Set14 and
the built-in samples by default), with the protocol dicts, environment, messages and field sets that the
real job writes (copied in structure from a real run of agdn-s / rlfn-ntire22 / bicubic on Set5).
Models without official weights in the zoo get ``no_checkpoint`` quality records carrying the real
message (path + fetch command). Numbers are plausible but synthetic: only sizes and layout are tested
with this folder, never values.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

ENV = {"torch": "2.13.0+cpu", "python": "3.11.7", "python_implementation": "CPython",
       "platform": "Linux-6.18.44-x86_64-with-glibc2.36", "machine": "x86_64", "numpy": "2.4.6", "esr_bench": "0.1.0",
       "cpu_model": "AMD EPYC", "cpu_count": 2, "threads": 1, "interop_threads": 2, "omp_num_threads": "1",
       "mkldnn": True, "device": "cpu", "device_name": "AMD EPYC", "cuda": None, "cudnn": None, "driver": None,
       "executable": "/work/venv/bin/python"}
COMPLEXITY_PROTOCOL = {
    "lr_ntire": [256, 256], "lr_for_hr": [180, 320], "hr": [720, 1280], "data_range": 1.0,
    "weights": "random init (counts do not depend on weights)",
    "fvcore": "FlopCountAnalysis(...).total(), eval mode, 1 multiply-add = 1",
    "ntire22_hook": "NTIRE 2022/23 get_model_flops rules re-implemented (bench.complexity.ntire)",
    "thop": "thop.profile multi-adds; params = parameters of modules with a thop rule",
    "ptflops": "get_model_complexity_info(backend='pytorch'), functionals counted",
    "torch_flops": "torch.utils.flop_counter.FlopCounterMode, 2 FLOPs per multiply-add",
    "versions": {"torch": "2.13.0+cpu", "fvcore": "0.1.5.post20221221", "thop": "0.1.1-2209072238", "ptflops": "0.7.5"},
    "execution": {"first_pass": "shape-only", "fvcore_lr256": "shape-only"}}
UNCOUNTED = {
    "fvcore": ["aten::add", "aten::add_", "aten::clamp_min", "aten::div", "aten::expand_as", "aten::gelu",
               "aten::linalg_vector_norm", "aten::max_pool2d", "aten::mean", "aten::mul", "aten::pad",
               "aten::pixel_shuffle", "aten::pow", "aten::sigmoid", "aten::sqrt", "aten::sub", "aten::sum"],
    "ntire22_hook": ["aten::bmm", "aten::gelu", "aten::linalg_vector_norm", "aten::sigmoid", "aten::var"],
    "thop": ["aten::bmm", "aten::gelu", "aten::sigmoid", "module:ElementScale", "module:GELU", "module:Sigmoid"],
    "ptflops": ["module:ElementScale", "module:PixelShuffle", "module:Sigmoid"],
    "torch_flops": ["aten::gelu", "aten::linalg_vector_norm", "aten::relu", "aten::sigmoid", "aten::var"]}
QUALITY_PROTOCOL = {
    "name": "paper", "channel": "Y", "border": None, "lr_source": "files", "lr_bicubic": None,
    "ycbcr": "MATLAB rgb2ycbcr luma, float64: 16 + (65.481 R + 128.553 G + 24.966 B) / 255",
    "hr": "modcrop to a multiple of the scale", "model_input": "float32 uint8 / 255 * 1",
    "rounding": "clamp(0, 1) * 255 / 1 (float32), round half to even, uint8",
    "psnr": "float64, 10 log10(255^2 / MSE), mean of per-image values",
    "ssim": "Gaussian 11x11 sigma 1.5, K1 0.01 K2 0.03, L 255, valid windows, mean of per-image",
    "tile": None, "tile_overlap": None, "data_range": 1.0}
RUNTIME_PROTOCOL = {
    "name": "esr-bench robust", "timer": "time.perf_counter_ns",
    "timed_region": "model forward only (input already on the device; output not copied back)",
    "grad_mode": "torch.inference_mode()", "warmup": 2, "repeats": 5, "batch": 1,
    "input": "random 8-bit LR image / (255 / data_range)", "data_range": 1.0, "dtype": "fp32",
    "channels_last": False, "compile": False, "cudnn_benchmark": None, "threads": 1, "seed": 0,
    "weights": "random init (runtime is value-independent)",
    "statistic": "median of repeats (mean/std/min/p90/IQR/CV also given)"}
IMAGES = {"Set5": ["baby", "bird", "butterfly", "head", "woman"],
          "Set14": ["baboon", "barbara", "bridge", "coastguard", "comic", "face", "flowers", "foreman", "lenna",
                    "man", "monarch", "pepper", "ppt3", "zebra"],
          "samples": ["astronaut", "camera", "coffee", "chelsea", "rocket"]}


def _write(root: Path, rel: str, rec: dict) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(rec, indent=2))


def build_zoo_results(root: Path, datasets: tuple[str, ...] = ("Set5", "Set14", "samples"),
                      with_weights: bool = True, visual: bool = True) -> Path:
    """Records for every zoo model x scale (40 pairs) and ``datasets``; see the module docstring."""
    from models import get_spec, list_models

    rng = np.random.default_rng(0)
    created = "2026-11-29T22:33:10Z"
    for model in list_models():
        spec = get_spec(model)
        for scale in spec.scales:
            params = int(rng.integers(50_000, 1_600_000)) if model != "bicubic" else 0
            macs = params * 1280 * 720 / scale**2
            seconds = {"first_pass": round(float(rng.random() * 3), 3),
                       "fvcore_lr256": round(float(rng.random() * 9), 3)}
            _write(root, f"complexity/{model}_x{scale}.json", {
                "model": model, "scale": scale, "kind": "complexity", "params": params,
                "params_before_forward": params, "params_trainable": params, "params_thop": int(params * 0.99),
                "fvcore_flops_lr256": int(macs / 14.0625 * scale**2 / 16), "fvcore_by_operator": {"conv": int(macs)},
                "ntire22_hook_flops_lr256": int(macs / 14), "thop_macs_hr1280x720": int(macs),
                "ptflops_macs_hr1280x720": int(macs * 1.03), "fvcore_flops_hr1280x720": int(macs * 1.02),
                "torch_flops_lr256": int(macs / 7), "ntire_activations_lr256": 190917488, "ntire_convs_lr256": 165,
                "uncounted": UNCOUNTED, "warnings": [], "by_module": None, "status": "ok", "message": "",
                "protocol": {**COMPLEXITY_PROTOCOL, "seconds_by_counter": seconds, "seconds": sum(seconds.values())},
                "env": ENV, "elapsed_s": 22.887, "created": created})
            times = [round(float(t), 6) for t in rng.random(5) * 100 + 50]
            _write(root, f"runtime/{model}_x{scale}.json", {
                "model": model, "scale": scale, "device": "cpu", "mode": "robust", "dtype": "fp32",
                "input_size": [256, 256], "warmup": 2, "repeats": 5, "kind": "runtime",
                "median_ms": float(np.median(times)), "mean_ms": float(np.mean(times)), "std_ms": float(np.std(times)),
                "min_ms": min(times), "p90_ms": max(times), "iqr_ms": 12.5, "cv": 0.13, "times_ms": times,
                "peak_mem_forward_mib": 120.75, "peak_mem_total_mib": 121.77,
                "memory_method": "forward: torch.profiler profile_memory=True, peak of the c10 CPU allocator bytes "
                                 "allocated during one forward (output included; weights and input excluded)",
                "status": "ok", "message": "", "protocol": RUNTIME_PROTOCOL, "env": ENV, "ave_time_ms": None,
                "splits": {}, "dataset": None, "elapsed_s": 21.193, "created": created})
            for ds in datasets:
                has = with_weights and (bool(spec.checkpoints) or model == "bicubic")
                rec = {"model": model, "scale": scale, "dataset": ds, "kind": "quality",
                       "protocol": {**QUALITY_PROTOCOL, "border": scale}, "env": ENV, "created": created}
                if has:
                    per = [{"name": n, "psnr": float(30 + rng.random() * 4), "ssim": float(0.8 + rng.random() / 10)}
                           for n in IMAGES[ds]]
                    rec.update({"dataset_path": f"/data/{ds}", "n_images": len(per),
                                "psnr": float(np.mean([p["psnr"] for p in per])),
                                "ssim": float(np.mean([p["ssim"] for p in per])), "per_image": per, "status": "ok",
                                "message": "", "timing": {"total_s": 2.5, "forward_s": 1.9}, "elapsed_s": 2.5})
                else:
                    rec.update({"status": "no_checkpoint", "psnr": None, "ssim": None, "message": (
                        f"no checkpoint: {model} x{scale}: /root/.cache/esr-bench/weights/{model}_x{scale}.pth not "
                        f"found; run `esr-bench weights fetch {model}` (downloads https://github.com/owner/"
                        f"{model}/raw/0123456789abcdef0123456789abcdef01234567/weights/{model}_x{scale}.pth) or set "
                        "ESR_BENCH_WEIGHTS")})
                _write(root, f"quality/{model}_x{scale}_{ds}.json", rec)
    for variant in ("base", "mvsa", "rcca", "mvsa+rcca", "esa+cca", "blocks5", "blocks6"):
        _write(root, f"complexity/agdn_x4_{variant}.json", {
            "kind": "complexity", "model": "agdn", "scale": 4, "variant": variant, "params": 126552,
            "params_thop": 126552, "thop_macs_hr1280x720": 7_200_000_000, "status": "ok", "message": "",
            "uncounted": UNCOUNTED, "protocol": COMPLEXITY_PROTOCOL, "env": ENV, "created": created})
    if visual:  # a visual comparison of the size the job renders (6 panels of 112x112, with titles)
        from skimage import data

        photo = data.astronaut()  # 512x512 RGB: six 112x112 crops side by side, as the job's figure
        img = np.full((246, 704, 3), 255, np.uint8)
        for i in range(6):
            img[24:136, 8 + i * 116:120 + i * 116] = photo[100 + 20 * i:212 + 20 * i, 150:262]
        (root / "figures").mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(root / "figures" / "visual_Set5_baby_x4.png")
        (root / "figures" / "visual_Set5_baby_x4.json").write_text(json.dumps(
            {"kind": "visual", "image": "baby", "scale": 4, "box": [100, 100, 112, 112], "notes": []}))
    return root
