"""CUDA smoke check for ``nox -s gpu`` (< 3 minutes): exits 0 with a message when no CUDA device is present.

On a GPU, for AGDN-S and RLFN-NTIRE22 (a model not registered in this checkout is skipped):

1. the CUDA output matches the CPU output (fp32, max |diff| < 1e-3);
2. robust-mode runtime at LR 256x256, x4 (warm-up 10, 30 timed forwards, CUDA events): fp32, fp16,
   fp32 channels-last; forward and total peak memory (``max_memory_allocated``);
3. the NTIRE loop (no warm-up, first image included) over 10 synthetic 256x256 images;
4. the fast AGDN-S form (``models.agdn_fast``): its CUDA output against the reference's (same weights),
   then one interleaved comparison (``compare_runtime``) of AGDN-S, AGDN-S fast, AGDN-S fast with
   CUDA graphs and RLFN-NTIRE22, printing each ratio to RLFN-NTIRE22.

It prints one short table. Exit code 1 if a check fails (CUDA/CPU mismatch or a failed measurement).
``--cpu-dry-run`` runs the same code path on the CPU at a tiny size (for the test suite, no numbers).
"""

from __future__ import annotations

import sys
import time

import torch

MODELS = ("agdn-s", "rlfn-ntire22")
SIZE = (256, 256)


def _parity(name: str, device: str) -> float:
    from models import create_model

    model = create_model(name, 4)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * model.data_range
    with torch.inference_mode():
        ref = model(x)
        out = model.to(device)(x.to(device)).cpu()
    return float((out - ref).abs().max() / model.data_range)


def _fast_agdn(device: str, size: tuple[int, int], warmup: int, repeats: int) -> bool:
    """Fast AGDN-S vs reference on ``device``: output agreement, then interleaved ratios to RLFN-NTIRE22."""
    from dataclasses import replace

    from bench.runtime import compare_runtime
    from models import create_model, list_models
    from models.agdn_fast import optimize

    if "agdn-s-fast" not in list_models():
        print("agdn-s-fast: not registered in this checkout, skipped")
        return True
    ref = create_model("agdn-s", 4).to(device)
    fast = optimize(ref)
    graphs = optimize(ref, cuda_graphs=True)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)).to(device)
    with torch.inference_mode():
        y = ref(x)
        diff = max(float((fast(x) - y).abs().max()), float((graphs(x) - y).abs().max()),
                   float((graphs(x) - y).abs().max()))  # the second graph call replays the captured graph
    ok = diff < 1e-3
    graphs.esr_spec = replace(ref.esr_spec, name="agdn-s-fast+graphs")  # its own row in the comparison
    rec = compare_runtime(["agdn-s", "agdn-s-fast", graphs], 4, reference="rlfn-ntire22", device=device,
                          input_size=size, warmup=warmup, rounds=repeats)
    if rec.status != "ok":
        print(f"fast AGDN-S comparison: {rec.status}: {rec.message}")
        return False
    print(f"fast AGDN-S: max |fast - reference| {diff:.1e} on {device}; interleaved medians, ratio to rlfn-ntire22:")
    for name, r in rec.records.items():
        print(f"  {name:<20}{r.median_ms:>9.2f} ms  ratio {rec.ratios[name]:.2f}")
    return ok


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    dry = "--cpu-dry-run" in argv
    if not dry and not torch.cuda.is_available():
        print("gpu smoke check: no CUDA device available, skipped")
        return 0
    from bench.env import environment
    from bench.runtime import measure_runtime
    from models import list_models

    device = "cpu" if dry else "cuda"
    size, warmup, repeats, images = ((16, 16), 1, 2, 2) if dry else (SIZE, 10, 30, 10)
    t0 = time.perf_counter()
    env = environment(device)
    print(
        f"device: {env['device_name']} | driver {env['driver']} | CUDA {env['cuda']} | cuDNN {env['cudnn']} | "
        f"torch {env['torch']} | LR {size[0]}x{size[1]} x4, warm-up {warmup}, {repeats} repeats, "
        "cudnn.benchmark off"
    )
    ok = True
    rows = []
    for name in MODELS:
        if name not in list_models():
            print(f"{name}: not registered in this checkout, skipped")
            continue
        diff = _parity(name, device)
        ok &= diff < 1e-3
        row = {"model": name, "cuda_vs_cpu": diff}
        for label, kw in (
            ("fp32", {}),
            ("fp16", {"dtype": "fp16"}),
            ("fp32_cl", {"channels_last": True}),
        ):
            if dry and label == "fp16":
                continue  # fp16 convolutions are not implemented on every CPU build
            rec = measure_runtime(name, 4, device=device, input_size=size, warmup=warmup, repeats=repeats, **kw)
            if rec.status != "ok":
                ok = False
                print(f"{name} {label}: {rec.status}: {rec.message}")
                continue
            row[label] = rec.median_ms
            row[f"{label}_cv"] = rec.cv
            if label == "fp32":
                row["fwd_mib"], row["total_mib"] = rec.peak_mem_forward_mib, rec.peak_mem_total_mib
        nt = measure_runtime(name, 4, device=device, input_size=size, mode="ntire", repeats=images)
        if nt.status == "ok":
            row["ntire_first"], row["ntire_mean"] = nt.times_ms[0], nt.ave_time_ms
            row["ntire_mem"] = nt.cuda_max_allocated_mib
        else:
            ok = False
            print(f"{name} ntire: {nt.status}: {nt.message}")
        rows.append(row)

    def f(v: object, nd: int = 2) -> str:
        return "-" if v is None else f"{v:.{nd}f}"

    head = (
        f"{'model':<14}{'cuda~cpu':>10}{'fp32 ms':>9}{'cv':>6}{'fp16 ms':>9}{'cl ms':>8}{'fwd MiB':>9}"
        f"{'tot MiB':>9}{'ntire1st':>9}{'ntireAvg':>9}{'ntireMiB':>9}"
    )
    print(head)
    for r in rows:
        print(
            f"{r['model']:<14}{r['cuda_vs_cpu']:>10.1e}{f(r.get('fp32')):>9}{f(r.get('fp32_cv')):>6}"
            f"{f(r.get('fp16')):>9}{f(r.get('fp32_cl')):>8}{f(r.get('fwd_mib'), 1):>9}{f(r.get('total_mib'), 1):>9}"
            f"{f(r.get('ntire_first')):>9}{f(r.get('ntire_mean')):>9}{f(r.get('ntire_mem'), 1):>9}"
        )
    ok &= _fast_agdn(device, size, warmup, repeats)
    print(f"gpu smoke check: {'ok' if ok else 'FAILED'} in {time.perf_counter() - t0:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
