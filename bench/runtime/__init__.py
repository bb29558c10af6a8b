"""Runtime and peak memory of SR models, measured two ways, each record saying which.

``mode="robust"`` (the recommended protocol)
    One fixed LR input already on the device; ``warmup`` untimed-for-the-statistics forwards
    (default 10), then ``repeats`` timed forwards under ``torch.inference_mode()``. CUDA: a pair of
    ``torch.cuda.Event`` recorded around the forward only, after a ``torch.cuda.synchronize()``, then
    synchronised; CPU: ``time.perf_counter_ns`` around the forward. Statistics: median, mean, sample
    std, min, p90, IQR, CV (see :mod:`bench.stats`). ``cudnn.benchmark`` is off unless asked for.

``mode="ntire"`` (a faithful reproduction of the official NTIRE ESR ``test_demo.py`` loop)
    Parameters get ``requires_grad=False`` but no ``no_grad`` / ``inference_mode`` is used; no
    warm-up; one image at a time (batch 1, whole image), the host->device copy outside the timed
    region, ``cuda.Event`` start/end around the forward then ``torch.cuda.synchronize()``; every image
    counts, the first one (which pays start-up costs) included. Per split the mean is reported;
    ``ave_time_ms`` ("Ave Time" of the official table) is the mean of the split means (valid, test) and
    is the record's headline figure (the top-level median/mean/... stay ``None``: a statistic pooled
    over both splits is not an official figure). Memory: ``torch.cuda.max_memory_allocated()`` after
    each split, never reset, model load included.

Peak memory (``peak_mem_forward_mib``) is the memory allocated *by one forward* above what was
already allocated (weights, input): on CUDA ``reset_peak_memory_stats`` + ``max_memory_allocated``
around one synchronised forward; on CPU the c10 CPU allocator peak seen by ``torch.profiler`` with
``profile_memory=True`` (allocations and frees during that forward, in time order). The output
tensor is part of the forward peak. ``peak_mem_total_mib`` = parameter and buffer bytes + input bytes +
that forward peak, the same sum on CPU and CUDA. The NTIRE "Mem" figure, ``torch.cuda.max_memory_allocated()``
never reset since before the model was moved to the GPU (warm-ups and every forward included), exists
on CUDA only and is ``cuda_max_allocated_mib``. ``memory_method`` in each record spells out the methods.

Timers and the CUDA event/synchronise functions are injectable (``timer=``), so the protocol logic is
unit-tested on CPU with a fake clock and fake events.

Modules: :mod:`~bench.runtime.measure` (:func:`measure_runtime`), :mod:`~bench.runtime.compare`
(:func:`compare_runtime`), :mod:`~bench.runtime.timers` (timers and timing loops),
:mod:`~bench.runtime.memory` (peak memory), :mod:`~bench.runtime.record` (the record dataclasses),
:mod:`~bench.runtime.inputs` (sizes and LR inputs), :mod:`~bench.runtime.prepare` (device, dtype,
threads, grad mode).
"""

from ..sizes import lr_size_for_hr, parse_size
from .compare import REFERENCE_MODELS, compare_runtime, interleaved_order, reference_model
from .inputs import dataset_lr_images
from .measure import DEFAULT_WARMUP, MODES, measure_runtime, measure_runtime_isolated
from .memory import MIB, cpu_forward_peak_bytes, cuda_forward_peak_bytes, module_bytes
from .prepare import DEFAULT_CPU_THREADS, DTYPES
from .record import ComparisonRecord, RuntimeRecord
from .timers import CudaEventTimer, PerfCounterTimer, Timer, time_per_image, time_repeated, warmup_until_stable

__all__ = [
    "DTYPES",
    "MODES",
    "REFERENCE_MODELS",
    "RuntimeRecord",
    "ComparisonRecord",
    "Timer",
    "PerfCounterTimer",
    "CudaEventTimer",
    "time_repeated",
    "time_per_image",
    "warmup_until_stable",
    "cpu_forward_peak_bytes",
    "cuda_forward_peak_bytes",
    "measure_runtime",
    "measure_runtime_isolated",
    "compare_runtime",
    "parse_size",
    "lr_size_for_hr",
    "DEFAULT_CPU_THREADS",
    "DEFAULT_WARMUP",
    "MIB",
    "dataset_lr_images",
    "interleaved_order",
    "module_bytes",
    "reference_model",
]
