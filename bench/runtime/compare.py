"""Fair comparison: several models timed in one run, interleaved, with ratios to a reference model.

:func:`compare_runtime` returns a :class:`~bench.runtime.record.ComparisonRecord`; the reference defaults
to the NTIRE ESR baseline of a year (:data:`REFERENCE_MODELS`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from .. import output_check
from ..env import environment
from .inputs import make_input, to_device
from .prepare import (
    DEFAULT_CPU_THREADS,
    DTYPES,
    forward_fn,
    prepare_model,
    resolve_model,
    torch_device,
    using_cudnn_benchmark,
    using_threads,
)
from .record import ComparisonRecord, RuntimeRecord
from .timers import Timer, default_timer

#: The challenge baseline each NTIRE ESR year ranks against (runtime ratios are reported to it).
REFERENCE_MODELS: dict[int, str] = {2024: "rlfn-ntire22", 2025: "efdn", 2026: "span-ch28"}


def reference_model(year: int) -> str:
    """The NTIRE ESR baseline of ``year`` (2024: rlfn-ntire22, 2025: efdn, 2026: span-ch28)."""
    try:
        return REFERENCE_MODELS[int(year)]
    except KeyError:
        raise ValueError(f"no reference model for year {year}; known: {sorted(REFERENCE_MODELS)}") from None


def interleaved_order(n_models: int, rounds: int, order: str = "interleaved", seed: int = 0) -> list[int]:
    """Model indices in measurement order: ``interleaved`` = A B C A B C ...; ``random`` = each round
    a fresh permutation (seeded), so slow drift (thermal, other load) hits every model alike."""
    if order not in ("interleaved", "random"):
        raise ValueError(f"order must be 'interleaved' or 'random', got {order!r}")
    rng = random.Random(seed)
    seq: list[int] = []
    for _ in range(rounds):
        idx = list(range(n_models))
        if order == "random":
            rng.shuffle(idx)
        seq.extend(idx)
    return seq


def compare_runtime(
    models: Sequence[str | nn.Module],
    scale: int,
    *,
    reference: str | None = None,
    year: int | None = None,
    device: str | torch.device = "cpu",
    input_size: tuple[int, int] = (256, 256),
    warmup: int = 10,
    rounds: int = 30,
    order: str = "interleaved",
    dtype: str = "fp32",
    channels_last: bool = False,
    threads: int | None = None,
    cudnn_benchmark: bool = False,
    seed: int = 0,
    timer: Timer | None = None,
) -> ComparisonRecord:
    """Robust-mode timing of several models in one run, interleaved, with ratios to a reference.

    Each model gets ``warmup`` forwards first (all models, before any timing); then ``rounds`` rounds
    in which each model is timed once (``order``). ``reference`` (default: the baseline of ``year``,
    if given) is added to the list when missing; ratios are median / reference median (``None`` if
    the reference could not be built, with the reason in ``message``). ``threads=None`` means
    :data:`DEFAULT_CPU_THREADS` (1) on CPU, as in :func:`measure_runtime`.
    """
    dev = torch_device(device)
    if threads is None and dev.type == "cpu":
        threads = DEFAULT_CPU_THREADS
    torch_dtype = DTYPES[dtype]
    messages: list[str] = []
    ref_name = reference or (reference_model(year) if year is not None else None)
    entries = [resolve_model(m, scale, False) for m in models]
    if ref_name is not None:
        from models import get_spec
        from models.registry import UnknownModelError

        try:
            ref_name = get_spec(ref_name).name
        except UnknownModelError:
            messages.append(f"reference model {ref_name!r} is not in the zoo; no ratios")
            ref_name = None
        if ref_name is not None and ref_name not in {n for n, _ in entries}:
            entries.append(resolve_model(ref_name, scale, False))
    if len({n for n, _ in entries}) != len(entries):
        raise ValueError("a model appears twice in the comparison")
    base_protocol = {
        "name": "esr-bench interleaved comparison (robust mode)",
        "order": order,
        "rounds": rounds,
        "warmup": warmup,
        "input_size": list(input_size),
        "dtype": dtype,
        "channels_last": channels_last,
        "grad_mode": "torch.inference_mode()",
        "ratio": "median_ms / reference median_ms",
    }
    rec = ComparisonRecord(
        models=[n for n, _ in entries], reference=ref_name, scale=int(scale), device=str(dev), order=order,
        rounds=rounds, protocol=base_protocol,
    )
    if dev.type == "cuda" and not torch.cuda.is_available():
        rec.status, rec.message = "skipped", "CUDA is not available on this machine"
        return rec
    with using_threads(threads), using_cudnn_benchmark(cudnn_benchmark), torch.inference_mode():
        rec.protocol["threads"] = torch.get_num_threads()
        rec.env = environment(dev)
        timer = timer or default_timer(dev, "robust")
        fwd: list[Callable[[torch.Tensor], Any]] = []
        xs: list[torch.Tensor] = []
        refs = [output_check.fp32_reference(net, dtype) for _n, net in entries]
        for _n, net in entries:
            net = prepare_model(net, dev, torch_dtype, channels_last, "robust")
            fwd.append(forward_fn(net, scale))
            x = make_input(input_size, float(getattr(net, "data_range", 1.0)), seed)
            xs.append(to_device(x, dev, torch_dtype, channels_last))
        for i in range(len(entries)):  # warm every model up before any timed round
            for _ in range(warmup):
                out, _ms = timer.time(lambda i=i: fwd[i](xs[i]))
                del out
        times: list[list[float]] = [[] for _ in entries]
        for i in interleaved_order(len(entries), rounds, order, seed):
            out, ms = timer.time(lambda i=i: fwd[i](xs[i]))
            del out
            times[i].append(ms)
    for i, ((n, _net), t) in enumerate(zip(entries, times)):
        r = RuntimeRecord(
            model=n, scale=int(scale), device=str(dev), mode="robust", dtype=dtype, input_size=list(input_size),
            warmup=warmup, repeats=rounds, protocol=dict(base_protocol), env=rec.env,
        )
        r.fill_stats(t)
        with torch.inference_mode():  # an invalid output keeps no time (bench/output_check.py)
            ref_fwd = None if refs[i] is None else forward_fn(refs[i].to(dev), scale)
            output_check.check_record(r, fwd[i], xs[i], ref_fwd, float(getattr(_net, "data_range", 1.0)), dtype)
        rec.records[n] = r
    if ref_name is not None:
        ref_med = rec.records[ref_name].median_ms
        rec.ratios = {n: (r.median_ms / ref_med if ref_med and r.median_ms is not None else None)
                      for n, r in rec.records.items()}
    rec.message = "; ".join(messages)
    return rec
