"""Time one model: :func:`measure_runtime` (robust or NTIRE protocol, see :mod:`bench.runtime`), here or in
a fresh process (:func:`measure_runtime_isolated`). Returns a :class:`~bench.runtime.record.RuntimeRecord`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import output_check
from ..env import environment
from ..stats import ave_time_ms, split_mean_ms, summarize
from .inputs import make_input, make_u8, to_device
from .memory import (
    MIB,
    cpu_forward_peak_bytes,
    cuda_forward_peak_bytes,
    memory_method,
    module_bytes,
    ntire_max_allocated_mib,
    tensor_bytes,
)
from .prepare import (
    DEFAULT_CPU_THREADS,
    DTYPES,
    forward_fn,
    grad_context,
    prepare_model,
    resolve_model,
    torch_device,
    using_cudnn_benchmark,
    using_threads,
)
from .record import RuntimeRecord
from .timers import Timer, default_timer, default_timer_name, time_per_image, time_repeated, warmup_until_stable

MODES = ("robust", "ntire")
DEFAULT_WARMUP = {"robust": 10, "ntire": 0}


def measure_runtime(
    model: str | nn.Module,
    scale: int,
    *,
    device: str | torch.device = "cpu",
    input_size: tuple[int, int] | Sequence[int] | None = (256, 256),
    warmup: int | str | None = None,
    repeats: int = 30,
    mode: str = "robust",
    dtype: str = "fp32",
    channels_last: bool = False,
    compile: bool = False,
    threads: int | None = None,
    cudnn_benchmark: bool = False,
    datasets: Mapping[str, Sequence[torch.Tensor]] | None = None,
    dataset_name: str | None = None,
    memory: bool = True,
    pretrained: bool | str | Path = False,
    seed: int = 0,
    in_channels: int = 3,
    timer: Timer | None = None,
) -> RuntimeRecord:
    """Time ``model`` (zoo name or module) at ``scale``; see :mod:`bench.runtime` for both protocols.

    ``input_size`` is the LR (H, W) of a synthetic 8-bit input. ``warmup`` defaults to 10 (robust) and
    0 (ntire; a non-zero value is refused there); ``"auto"`` warms up until timings settle (see
    :func:`warmup_until_stable`; the record's ``warmup`` is the count that ran). In ntire mode
    ``datasets`` maps split names (e.g. ``{"valid": [...], "test": [...]}``) to LR uint8 images;
    without it, ``repeats`` synthetic images of ``input_size`` form one split. ``in_channels``
    (default 3, RGB) shapes synthetic inputs for non-SR test modules. ``timer`` replaces the default
    timer (tests). A module passed in is moved to ``device``/``dtype`` in place. Errors while running
    (out of memory, an op missing for a dtype, a failed ``torch.compile``) give ``status="failed"``;
    CUDA absent gives ``status="skipped"``. On CPU, in both modes, ``threads=None`` means
    :data:`DEFAULT_CPU_THREADS` (1): single-thread timings are reproducible run to run on a shared or
    virtualised machine (seen here: two consecutive medians within 2% with 1 thread, up to 50% apart
    with 2), and it is the thread count the challenge sandbox times submissions with
    (:mod:`challenge.sandbox`); pass ``threads=N`` to use more cores. The record's ``protocol.threads``
    says which.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    auto_warmup = warmup == "auto"
    if warmup is None or auto_warmup:
        warmup = DEFAULT_WARMUP[mode]
    if isinstance(warmup, str):
        raise ValueError(f"warmup must be an integer or 'auto', got {warmup!r}")
    if mode == "ntire" and (warmup or auto_warmup):
        raise ValueError("ntire mode reproduces the official loop, which has no warm-up: use warmup=0")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}")
    dev = torch_device(device)
    if threads is None and dev.type == "cpu":
        threads = DEFAULT_CPU_THREADS
    scale = int(scale)
    name, net = resolve_model(model, scale, pretrained)
    data_range = float(getattr(net, "data_range", 1.0))
    size = tuple(int(v) for v in input_size) if input_size is not None else None
    base: dict[str, Any] = {
        "model": name,
        "scale": scale,
        "device": str(dev),
        "mode": mode,
        "dtype": dtype,
        "input_size": list(size) if size is not None and datasets is None else None,
        "warmup": int(warmup),
        "repeats": int(repeats),
        "dataset": dataset_name,
    }
    protocol: dict[str, Any] = {
        "name": "esr-bench robust" if mode == "robust" else "NTIRE ESR test_demo.py loop",
        "timer": (timer.name if timer is not None else default_timer_name(dev)),
        "timed_region": "model forward only (input already on the device; output not copied back)",
        "grad_mode": "torch.inference_mode()" if mode == "robust" else "autograd on, params requires_grad=False",
        "warmup": int(warmup),
        "repeats": int(repeats),
        "batch": 1,
        "input": "random 8-bit LR image / (255 / data_range)" if datasets is None else f"dataset {dataset_name}",
        "data_range": data_range,
        "dtype": dtype,
        "channels_last": bool(channels_last),
        "compile": bool(compile),
        "cudnn_benchmark": bool(cudnn_benchmark) if dev.type == "cuda" else None,
        "threads": None,
        "seed": seed,
        "weights": "pretrained" if pretrained not in (False, None) else "random init (runtime is value-independent)",
    }
    if mode == "ntire":
        protocol["statistic"] = "mean per split; ave_time_ms = mean of split means; first image included"
    else:
        protocol["statistic"] = "median of repeats (mean/std/min/p90/IQR/CV also given)"
    if dev.type == "cuda" and not torch.cuda.is_available():
        return _error_record(base, "skipped", "CUDA is not available (torch.cuda.is_available() is False)")
    if size is None and datasets is None:
        raise ValueError("give input_size or datasets")
    if mode == "robust" and datasets is not None:
        raise ValueError("datasets are timed in ntire mode only; robust mode times one fixed input")

    torch_dtype = DTYPES[dtype]
    ref_net = output_check.fp32_reference(net, dtype)  # taken before the timed model is cast in place
    with using_threads(threads), using_cudnn_benchmark(cudnn_benchmark):
        protocol["threads"] = torch.get_num_threads()
        env = environment(dev)
        try:
            rec = _measure(
                net, name, scale, dev, size, warmup, repeats, mode, torch_dtype, channels_last, compile,
                datasets, memory, seed, timer, data_range, base, in_channels, auto_warmup,
            )
        except (RuntimeError, NotImplementedError) as exc:
            # Out of memory, an operator missing for this dtype/device, a torch.compile failure, ...
            rec = _error_record(base, "failed", f"{type(exc).__name__}: {exc}".strip()[:2000])
        finally:
            if dev.type == "cuda":
                torch.cuda.empty_cache()
    if auto_warmup:
        protocol["warmup"] = f"auto: {rec.warmup} (>= 10, until the median of 5 moves < 5%)"
    rec.protocol = protocol
    rec.env = env
    if rec.status == "ok":  # a time is a result only if the output is (bench/output_check.py)
        x0 = (make_input(size, data_range, seed, in_channels) if datasets is None
              else next(iter(datasets.values()))[0].float() / (255.0 / data_range))
        with using_threads(threads), grad_context(mode):
            output_check.check_record(rec, forward_fn(net, scale), to_device(x0, dev, torch_dtype, channels_last),
                                      None if ref_net is None else forward_fn(ref_net.to(dev), scale),
                                      data_range, dtype)
    rec.memory_method = memory_method(dev, mode) if memory and rec.status == "ok" else ""
    return rec


def _error_record(base: dict[str, Any], status: str, message: str) -> RuntimeRecord:
    return RuntimeRecord(**base, status=status, message=message)


def _measure(
    net: nn.Module,
    name: str,
    scale: int,
    dev: torch.device,
    size: tuple[int, ...] | None,
    warmup: int,
    repeats: int,
    mode: str,
    torch_dtype: torch.dtype,
    channels_last: bool,
    compile: bool,
    datasets: Mapping[str, Sequence[torch.Tensor]] | None,
    memory: bool,
    seed: int,
    timer: Timer | None,
    data_range: float,
    base: dict[str, Any],
    in_channels: int = 3,
    auto_warmup: bool = False,
) -> RuntimeRecord:
    cuda = dev.type == "cuda"
    if cuda:
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)  # "never reset" from here on: model load included
    net = prepare_model(net, dev, torch_dtype, channels_last, mode)
    runner: Any = torch.compile(net) if compile else net
    forward = forward_fn(runner, scale)
    timer = timer or default_timer(dev, mode)
    rec = RuntimeRecord(**base)
    to_dev = lambda t: to_device(t, dev, torch_dtype, channels_last)  # noqa: E731

    with grad_context(mode):
        if mode == "robust":
            x = to_dev(make_input(size, data_range, seed, in_channels))
            if auto_warmup:
                rec.warmup = warmup_until_stable(forward, x, timer, min_iters=warmup)
                warmup = 0
            times = time_repeated(forward, x, timer, warmup=warmup, repeats=repeats)
            rec.fill_stats(times)
            if cuda:
                rec.cuda_max_allocated_mib = ntire_max_allocated_mib(dev)
        else:
            if datasets is None:
                g = random.Random(seed)
                splits = {"synthetic": [make_u8(size, g.randrange(2**31), in_channels) for _ in range(repeats)]}
            else:
                splits = dict(datasets)
            scale_in = 255.0 / data_range
            all_times: list[float] = []
            for split, images in splits.items():
                imgs = (img.float() / scale_in for img in images)
                t = time_per_image(forward, imgs, timer, to_dev)
                info: dict[str, Any] = {"n": len(t), "mean_ms": split_mean_ms(t), "median_ms": summarize(t).median,
                                        "first_ms": t[0], "times_ms": t}
                if cuda:
                    info["max_memory_allocated_mib"] = ntire_max_allocated_mib(dev)
                rec.splits[split] = info
                all_times.extend(t)
            rec.times_ms = all_times  # no pooled statistics: the headline is ave_time_ms
            rec.repeats = len(all_times)
            rec.ave_time_ms = ave_time_ms({k: s["mean_ms"] for k, s in rec.splits.items()})
            if cuda:
                first = next(iter(rec.splits.values()))
                rec.cuda_max_allocated_mib = first["max_memory_allocated_mib"]  # the table reports the valid figure
            x = to_dev(next(iter(splits.values()))[0].float() / scale_in)
        if memory:
            fwd = cuda_forward_peak_bytes(forward, x, dev) if cuda else cpu_forward_peak_bytes(forward, x)
            rec.peak_mem_forward_mib = fwd / MIB
            rec.peak_mem_total_mib = (module_bytes(net) + tensor_bytes([x]) + fwd) / MIB
    return rec


def _isolated_child(model: str, scale: int, kwargs: dict[str, Any]) -> dict[str, Any]:
    from ..records import to_jsonable

    return to_jsonable(measure_runtime(model, scale, **kwargs))


def measure_runtime_isolated(model: str, scale: int, **kwargs: Any) -> RuntimeRecord:
    """:func:`measure_runtime` in a fresh Python process (``multiprocessing`` spawn).

    The official NTIRE script runs one model per process, so its first image pays CUDA context and
    cuDNN start-up; in a long-lived process only the first model would. Use this for ntire-mode
    figures that must match the official first-image behaviour. ``model`` must be a zoo name.
    """
    import multiprocessing as mp

    if not isinstance(model, str):
        raise TypeError("measure_runtime_isolated needs a zoo model name, not a module")
    if kwargs.get("timer") is not None:
        raise ValueError("a custom timer cannot be sent to a fresh process")
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        data = pool.apply(_isolated_child, (model, int(scale), kwargs))
    data.pop("kind", None)
    rec = RuntimeRecord(**data)
    rec.protocol["process"] = "fresh (spawned) Python process"
    return rec

