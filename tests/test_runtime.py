"""Runtime protocol, statistics and memory: fake clocks/events for the logic, small real models for memory."""

from __future__ import annotations

import contextlib
import io
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from bench import runtime as rt
from bench.env import environment
from bench.records import read_json, write_json
from bench.stats import percentile, summarize

MIB = 2**20


# ------------------------------------------------------------------------------------------ fakes


class FakeClock:
    """A nanosecond clock that only moves when the fake model 'runs'."""

    def __init__(self) -> None:
        self.now = 1_000

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: float) -> None:
        self.now += int(round(ms * 1e6))


class ScriptedModel:
    """forward(x) advances the clock by the next scripted duration (ms) and counts calls."""

    def __init__(self, clock, durations_ms):
        self.clock = clock
        self.durations = list(durations_ms)
        self.calls = 0
        self.inputs = []

    def __call__(self, x):
        self.clock.advance(self.durations[self.calls])
        self.inputs.append(x)
        self.calls += 1
        return x


class FakeGPU:
    """A device timeline: work is queued by forward, events stamp the queue position, sync drains it."""

    def __init__(self) -> None:
        self.queued_ms = 0.0  # device time of everything enqueued so far
        self.syncs = 0
        self.log: list[str] = []

    def advance(self, ms: float) -> None:
        self.queued_ms += ms
        self.log.append(f"work{ms:g}")

    def synchronize(self) -> None:
        self.syncs += 1
        self.log.append("sync")

    def event(self):
        gpu = self

        class FakeEvent:
            def __init__(self) -> None:
                self.t: float | None = None

            def record(self) -> None:
                self.t = gpu.queued_ms
                gpu.log.append("record")

            def elapsed_time(self, other) -> float:
                assert self.t is not None and other.t is not None, "event not recorded"
                assert gpu.log[-1] == "sync", "elapsed_time read before synchronize"
                return other.t - self.t

        return FakeEvent()


class FakeTimer:
    """Timer for measure_runtime: each timed call takes the next scripted duration."""

    name = "fake"

    def __init__(self, durations_ms):
        self.durations = list(durations_ms)
        self.calls = 0

    def time(self, fn):
        out = fn()
        ms = self.durations[self.calls]
        self.calls += 1
        return out, ms


# ------------------------------------------------------------------------------------------ stats


def test_summarize_hand_computed():
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s.n == 5
    assert s.median == 3.0
    assert s.mean == 22.0
    assert s.min == 1.0 and s.max == 100.0
    # p90: position 0.9 * 4 = 3.6 -> 4 + 0.6 * (100 - 4)
    assert s.p90 == pytest.approx(61.6)
    assert s.iqr == pytest.approx(4.0 - 2.0)
    assert s.std == pytest.approx(math.sqrt((21**2 + 20**2 + 19**2 + 18**2 + 78**2) / 4))
    assert s.cv == pytest.approx(s.std / 22.0)


def test_summarize_matches_numpy():
    xs = list(np.random.default_rng(3).gamma(2.0, 5.0, size=37))
    s = summarize(xs)
    assert s.median == pytest.approx(np.median(xs))
    assert s.p90 == pytest.approx(np.percentile(xs, 90))
    assert s.iqr == pytest.approx(np.percentile(xs, 75) - np.percentile(xs, 25))
    assert s.std == pytest.approx(np.std(xs, ddof=1))
    assert s.mean == pytest.approx(np.mean(xs))


def test_stats_edge_cases():
    one = summarize([7.5])
    assert (one.median, one.std, one.iqr, one.p90) == (7.5, 0.0, 0.0, 7.5)
    assert summarize([0.0, 0.0]).cv is None
    with pytest.raises(ValueError):
        summarize([])
    with pytest.raises(ValueError):
        summarize([1.0, float("nan")])
    with pytest.raises(ValueError):
        percentile([1.0], 101)


# ------------------------------------------------------------------------------------------ timers


def test_perf_counter_timer_uses_clock_in_ns():
    clock = FakeClock()
    model = ScriptedModel(clock, [12.5])
    out, ms = rt.PerfCounterTimer(clock).time(lambda: model("x"))
    assert out == "x" and ms == 12.5 and model.calls == 1


def test_cuda_event_timer_records_around_forward_and_syncs():
    gpu = FakeGPU()
    gpu.advance(500.0)  # work queued before the measurement must not count
    model = ScriptedModel(gpu, [3.0])
    timer = rt.CudaEventTimer(gpu.event, gpu.synchronize, sync_before=True)
    _, ms = timer.time(lambda: model(None))
    assert ms == 3.0
    assert gpu.log[-5:] == ["sync", "record", "work3", "record", "sync"]
    official = rt.CudaEventTimer(gpu.event, gpu.synchronize, sync_before=False)
    gpu.log.clear()
    _, ms = official.time(lambda: ScriptedModel(gpu, [4.0])(None))
    assert ms == 4.0 and gpu.log == ["record", "work4", "record", "sync"]  # the official loop's order


# ------------------------------------------------------------------------------------------ protocol loops


def test_time_repeated_discards_warmup_and_counts_repeats():
    gpu = FakeGPU()
    durations = [1000.0, 50.0, 20.0, 10.0, 11.0, 9.0, 10.5]  # 3 warm-up (start-up cost) + 4 timed
    model = ScriptedModel(gpu, durations)
    timer = rt.CudaEventTimer(gpu.event, gpu.synchronize)
    times = rt.time_repeated(model, "x", timer, warmup=3, repeats=4)
    assert times == [10.0, 11.0, 9.0, 10.5]
    assert model.calls == 7
    assert summarize(times).median == 10.25
    with pytest.raises(ValueError):
        rt.time_repeated(model, "x", timer, warmup=-1, repeats=4)
    with pytest.raises(ValueError):
        rt.time_repeated(model, "x", timer, warmup=0, repeats=0)


def test_time_per_image_includes_first_and_copies_outside_timing():
    gpu = FakeGPU()
    model = ScriptedModel(gpu, [1033.8, 7.1, 11.0])
    copied = []

    def to_device(img):
        gpu.advance(100.0)  # a host->device copy: queued before the start event, so not timed
        copied.append(img)
        return img

    timer = rt.CudaEventTimer(gpu.event, gpu.synchronize, sync_before=False)
    times = rt.time_per_image(model, ["a", "b", "c"], timer, to_device)
    assert times == pytest.approx([1033.8, 7.1, 11.0])
    assert copied == ["a", "b", "c"] and model.inputs == ["a", "b", "c"]
    with pytest.raises(ValueError):
        rt.time_per_image(model, [], timer)


def test_interleaved_and_random_orders():
    assert rt.interleaved_order(2, 3) == [0, 1, 0, 1, 0, 1]
    seq = rt.interleaved_order(3, 4, "random", seed=1)
    assert len(seq) == 12
    assert all(sorted(seq[i : i + 3]) == [0, 1, 2] for i in range(0, 12, 3))
    with pytest.raises(ValueError):
        rt.interleaved_order(2, 2, "zigzag")


# ------------------------------------------------------------------------------------------ measure_runtime


class Tiny(nn.Module):
    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * scale * scale, 3, padding=1)
        self.up = nn.PixelShuffle(scale)

    def forward(self, x):
        return self.up(self.conv(x))


def test_robust_mode_with_fake_timer():
    timer = FakeTimer([900.0, 30.0, 5.0, 4.0, 6.0])
    rec = rt.measure_runtime(Tiny(), 2, input_size=(8, 8), warmup=2, repeats=3, timer=timer, memory=False)
    assert rec.status == "ok", rec.message
    assert rec.times_ms == [5.0, 4.0, 6.0]
    assert (rec.median_ms, rec.min_ms, rec.mean_ms) == (5.0, 4.0, 5.0)
    assert rec.warmup == 2 and rec.repeats == 3 and timer.calls == 5
    assert rec.protocol["grad_mode"] == "torch.inference_mode()"
    assert rec.protocol["timer"] == "fake"
    assert rec.ave_time_ms is None and rec.splits == {}


def test_robust_default_warmup_is_at_least_10():
    timer = FakeTimer([100.0] * 10 + [1.0, 2.0])
    rec = rt.measure_runtime(Tiny(), 2, input_size=(8, 8), repeats=2, timer=timer, memory=False)
    assert rec.warmup >= 10 and rec.times_ms == [1.0, 2.0]


def test_ntire_mode_first_image_included_and_ave_time():
    valid = [torch.randint(0, 256, (1, 3, 8, 8), dtype=torch.uint8) for _ in range(3)]
    test = [torch.randint(0, 256, (1, 3, 8, 8), dtype=torch.uint8) for _ in range(2)]
    timer = FakeTimer([1033.8, 7.0, 9.0, 10.0, 12.0])
    seen_grad = []

    class Probe(Tiny):
        def forward(self, x):
            seen_grad.append((torch.is_grad_enabled(), torch.is_inference_mode_enabled(), float(x.max())))
            return super().forward(x)

    model = Probe()
    model.data_range = 255.0
    rec = rt.measure_runtime(
        model, 2, mode="ntire", datasets={"valid": valid, "test": test}, timer=timer, memory=False
    )
    assert rec.status == "ok", rec.message
    assert rec.warmup == 0 and rec.repeats == 5
    assert rec.times_ms == [1033.8, 7.0, 9.0, 10.0, 12.0]
    assert rec.splits["valid"]["first_ms"] == 1033.8
    assert rec.splits["valid"]["mean_ms"] == pytest.approx((1033.8 + 7 + 9) / 3)
    assert rec.splits["test"]["mean_ms"] == pytest.approx(11.0)
    assert rec.ave_time_ms == pytest.approx(((1033.8 + 7 + 9) / 3 + 11.0) / 2)
    # autograd on, no inference mode, parameters frozen, input in the model's range (0..255)
    assert all(g and not inf for g, inf, _ in seen_grad)
    assert all(not p.requires_grad for p in model.parameters())
    assert max(m for *_, m in seen_grad) > 1.0


def test_ntire_headline_is_ave_time_not_a_pooled_median():
    # valid 100, 1, 1 (mean 34), test 2, 2 (mean 2): Ave Time 18; a median over all 5 images would be 2
    timer = FakeTimer([100.0, 1.0, 1.0, 2.0, 2.0])
    imgs = [torch.zeros(1, 3, 8, 8, dtype=torch.uint8)] * 5
    rec = rt.measure_runtime(Tiny(), 2, mode="ntire", datasets={"valid": imgs[:3], "test": imgs[3:]}, timer=timer,
                             memory=False)
    assert rec.ave_time_ms == 18.0 and rec.median_ms is None and rec.mean_ms is None
    assert rec.splits["valid"]["median_ms"] == 1.0 and rec.splits["test"]["mean_ms"] == 2.0
    assert summarize_headline(rec) == (18.0, "NTIRE Ave Time")
    robust = rt.measure_runtime(Tiny(), 2, input_size=(8, 8), warmup=0, repeats=3, timer=FakeTimer([3.0, 1.0, 2.0]),
                                memory=False)
    assert summarize_headline(robust) == (2.0, "median")


def summarize_headline(rec):
    from bench.records import to_jsonable
    from bench.stats import runtime_headline

    return runtime_headline(to_jsonable(rec))


def test_compare_runtime_defaults_to_one_cpu_thread_like_measure_runtime():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        rec = rt.compare_runtime([Tiny()], 2, input_size=(8, 8), warmup=0, rounds=1)
        single = rt.measure_runtime(Tiny(), 2, input_size=(8, 8), warmup=0, repeats=1, memory=False)
        assert rec.protocol["threads"] == single.protocol["threads"] == rt.DEFAULT_CPU_THREADS == 1
        assert torch.get_num_threads() == 2
        two = rt.compare_runtime([Tiny()], 2, input_size=(8, 8), warmup=0, rounds=1, threads=2)
        assert two.protocol["threads"] == 2
    finally:
        torch.set_num_threads(before)


def test_ntire_mode_on_cpu_defaults_to_one_thread_like_the_challenge_sandbox():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        timer = FakeTimer([1.0, 2.0])
        rec = rt.measure_runtime(Tiny(), 2, mode="ntire", input_size=(8, 8), repeats=2, timer=timer, memory=False)
        assert rec.protocol["threads"] == rt.DEFAULT_CPU_THREADS == 1  # the sandbox child's OMP_NUM_THREADS
        assert torch.get_num_threads() == 2
        timer = FakeTimer([1.0, 2.0])
        rec = rt.measure_runtime(Tiny(), 2, mode="ntire", input_size=(8, 8), repeats=2, timer=timer, memory=False,
                                 threads=2)
        assert rec.protocol["threads"] == 2
    finally:
        torch.set_num_threads(before)


def test_ntire_mode_refuses_warmup_and_synthesises_images():
    with pytest.raises(ValueError, match="no warm-up"):
        rt.measure_runtime(Tiny(), 2, mode="ntire", warmup=5, input_size=(8, 8))
    timer = FakeTimer([50.0, 1.0, 2.0, 3.0])
    rec = rt.measure_runtime(Tiny(), 2, mode="ntire", input_size=(8, 8), repeats=4, timer=timer, memory=False)
    assert rec.times_ms == [50.0, 1.0, 2.0, 3.0] and rec.ave_time_ms == 14.0
    assert list(rec.splits) == ["synthetic"]


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="mode"):
        rt.measure_runtime(Tiny(), 2, mode="fast")
    with pytest.raises(ValueError, match="dtype"):
        rt.measure_runtime(Tiny(), 2, dtype="int8")
    with pytest.raises(ValueError, match="device"):
        rt.measure_runtime(Tiny(), 2, device="mps")
    with pytest.raises(ValueError):
        rt.parse_size("256xfoo")
    assert rt.parse_size("256x128") == (256, 128) and rt.parse_size("64") == (64, 64)
    # --hr uses the Multi-Adds rule of the complexity figures (one rule): ceil(H/s) x ceil(W/s)
    assert rt.lr_size_for_hr(4, (720, 1280)) == (180, 320) and rt.lr_size_for_hr(3, (720, 1280)) == (240, 427)
    assert rt.lr_size_for_hr(4, (720, 1281)) == (180, 321)


def test_runtime_hr_option_uses_the_complexity_lr_size(capsys) -> None:
    """`runtime --hr 1280x720 --scale 3` times a 240x427 LR input (the x3 Multi-Adds input), not a refusal."""
    import argparse

    from bench.commands.runtime import _lr_size

    assert _lr_size(argparse.Namespace(hr="1280x720", input=None, scale=3)) == (240, 427)
    assert _lr_size(argparse.Namespace(hr="1280x720", input=None, scale=4)) == (180, 320)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA path")
def test_cuda_request_without_cuda_is_skipped_record():
    rec = rt.measure_runtime(Tiny(), 2, device="cuda", input_size=(8, 8))
    assert rec.status == "skipped" and "CUDA" in rec.message


def test_threads_recorded_and_restored():
    before = torch.get_num_threads()
    rec = rt.measure_runtime(Tiny(), 2, input_size=(8, 8), warmup=0, repeats=2, threads=1, memory=False)
    assert rec.protocol["threads"] == 1 and rec.env["threads"] == 1
    assert torch.get_num_threads() == before


def test_failure_becomes_failed_record():
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("CUDA out of memory (simulated)")

    rec = rt.measure_runtime(Broken(), 2, input_size=(8, 8), warmup=0, repeats=1)
    assert rec.status == "failed" and "out of memory" in rec.message and rec.median_ms is None


def test_record_roundtrips_as_json(tmp_path):
    rec = rt.measure_runtime(Tiny(), 2, input_size=(8, 8), warmup=1, repeats=3, timer=FakeTimer([9, 1, 2, 3]))
    back = read_json(write_json(tmp_path / "r.json", rec))
    for key in ("kind", "model", "scale", "device", "mode", "dtype", "input_size", "warmup", "repeats",
                "median_ms", "mean_ms", "std_ms", "min_ms", "p90_ms", "iqr_ms", "cv", "times_ms",
                "peak_mem_forward_mib", "peak_mem_total_mib", "memory_method", "status", "message",
                "protocol", "env"):
        assert key in back, key
    assert back["kind"] == "runtime" and back["times_ms"] == [1, 2, 3] and back["median_ms"] == 2


# ------------------------------------------------------------------------------------------ comparison


def test_compare_interleaves_and_reports_ratios():
    calls = []

    class Named(Tiny):
        def __init__(self, tag):
            super().__init__()
            self.tag = tag

        def forward(self, x):
            calls.append(self.tag)
            return super().forward(x)

    a, b = Named("A"), Named("B")
    a.esr_spec = type("S", (), {"name": "agdn-s", "multi_scale": False})()
    b.esr_spec = type("S", (), {"name": "other", "multi_scale": False})()
    # warm-up A, A, B, B; then rounds A B A B A B: A takes 10 ms, B 25 ms
    timer = FakeTimer([99, 99, 99, 99] + [10, 25] * 3)
    rec = rt.compare_runtime([a, b], 2, reference="agdn-s", input_size=(8, 8), warmup=2, rounds=3, timer=timer)
    assert calls == ["A", "A", "B", "B", "A", "B", "A", "B", "A", "B"] + ["A", "B"]  # + each output check
    assert rec.records["agdn-s"].times_ms == [10, 10, 10] and rec.records["other"].times_ms == [25, 25, 25]
    assert rec.ratios == {"agdn-s": 1.0, "other": 2.5}
    assert rt.reference_model(2024) == "rlfn-ntire22" and rt.reference_model(2026) == "span-ch28"
    with pytest.raises(ValueError):
        rt.reference_model(2019)


# ------------------------------------------------------------------------------------------ memory (real, CPU)


def test_forward_peak_elementwise_is_exactly_the_output():
    x = torch.rand(1, 64, 256, 256)
    with torch.inference_mode():
        peak = rt.cpu_forward_peak_bytes(lambda t: t + 1.0, x)
    assert 16 * MIB <= peak <= 16 * MIB + 64  # the output (+ the wrapped scalar 1.0)


def test_conv3x3_forward_peak_is_output_size():
    """Issue acceptance 3: a 3x3 conv 64->64 on 1x64x256x256 fp32 -> forward peak = output's 16 MiB (+-20%).

    In channels-last layout oneDNN convolves in place of the output (peak 16.1 MiB). In NCHW it also
    allocates a blocked-layout copy of the 16 MiB activation, which the honest allocator peak shows:
    it must be at least the output and at most output + one reorder of input and output each.
    """
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 64, 3, padding=1)
    rec = rt.measure_runtime(
        conv, 1, input_size=(256, 256), in_channels=64, warmup=0, repeats=1, channels_last=True, threads=1
    )
    assert rec.status == "ok", rec.message
    assert rec.peak_mem_forward_mib == pytest.approx(16.0, rel=0.2)
    weights_and_input = (64 * 64 * 9 + 64) * 4 / MIB + 16.0
    assert rec.peak_mem_total_mib == pytest.approx(weights_and_input + rec.peak_mem_forward_mib)
    assert rec.cuda_max_allocated_mib is None  # the NTIRE never-reset figure exists on CUDA only
    assert "torch.profiler" in rec.memory_method
    nchw = rt.measure_runtime(conv, 1, input_size=(256, 256), in_channels=64, warmup=0, repeats=1, threads=1)
    assert 16.0 <= nchw.peak_mem_forward_mib <= 48.5


@pytest.mark.parametrize("name", ["agdn-s", "rlfn-ntire22"])
def test_zoo_model_memory_figure_at_256(name):
    rec = rt.measure_runtime(name, 4, input_size=(256, 256), warmup=0, repeats=1, threads=1)
    assert rec.status == "ok", rec.message
    out_mib = 3 * 1024 * 1024 * 4 / MIB  # the x4 output alone: 12 MiB
    assert rec.peak_mem_forward_mib > out_mib
    assert rec.peak_mem_total_mib > rec.peak_mem_forward_mib


# ------------------------------------------------------------------------------------------ env + CLI


def test_environment_fields():
    env = environment("cpu")
    assert env["torch"] == torch.__version__
    assert env["threads"] == torch.get_num_threads()
    for key in ("python", "platform", "cpu_model", "device", "device_name", "cuda", "cudnn", "driver"):
        assert key in env
    json.dumps(env)


def _cli(*argv: str) -> tuple[int, str, str]:
    from bench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_cli_json_fields(tmp_path):
    code, out, _ = _cli(
        "runtime", "agdn-s", "--scale", "4", "--device", "cpu", "--input", "24x24", "--warmup", "1",
        "--repeats", "2", "--threads", "1", "--json", "--out", str(tmp_path),
    )
    assert code == 0
    rec = json.loads(out)
    assert rec["status"] == "ok" and rec["model"] == "agdn-s" and rec["input_size"] == [24, 24]
    assert len(rec["times_ms"]) == 2 and rec["median_ms"] > 0 and rec["peak_mem_forward_mib"] > 0
    assert rec["env"]["threads"] == 1
    assert (tmp_path / "runtime" / "agdn-s_x4_cpu-robust-fp32.json").is_file()


def test_cli_user_errors():
    assert _cli("runtime", "agdn-s", "--scale", "4", "--hr", "1280x0")[0] == 2
    code, _, err = _cli("runtime", "agdn-s", "--scale", "4", "--mode", "ntire", "--warmup", "3")
    assert code == 2 and "warm-up" in err
    assert _cli("runtime", "no-such-model", "--scale", "4")[0] == 2
    if not torch.cuda.is_available():
        code, _, err = _cli("runtime", "agdn-s", "--scale", "4", "--device", "cuda", "--input", "8x8")
        assert code == 2 and "CUDA" in err


def test_gpu_smoke_skips_cleanly_without_cuda_and_dry_runs():
    from bench import gpu_smoke

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if not torch.cuda.is_available():
            assert gpu_smoke.main([]) == 0
            assert "no CUDA device available, skipped" in out.getvalue()
        assert gpu_smoke.main(["--cpu-dry-run"]) == 0
    text = out.getvalue()
    assert "agdn-s" in text and "gpu smoke check: ok" in text


def test_dataset_adapter_reads_lr_files_or_makes_them(monkeypatch, tmp_path):
    """dataset_lr_images goes through bench.data (resolve_dataset -> pairs -> read_image / make_lr)."""
    import sys
    import types

    from PIL import Image

    lr_file = tmp_path / "a_x2.png"
    Image.fromarray(np.full((48, 56, 3), 9, dtype=np.uint8)).save(lr_file)
    pair = types.SimpleNamespace
    fake = types.ModuleType("bench.data")
    calls = {}

    class DS:
        name = "Fake5"

        def pairs(self, scale):
            calls["scale"] = scale
            return [pair(name="a", hr=tmp_path / "hr_a.png", lr=lr_file), pair(name="b", hr="hr_b", lr=None)]

    def resolve_dataset(name, split=None):
        calls["split"] = split
        return DS()

    fake.resolve_dataset = resolve_dataset
    fake.read_image = lambda p: np.asarray(Image.open(p).convert("RGB")) if str(p).endswith(".png") else None
    fake.make_lr = lambda hr, s: np.zeros((56, 48, 3), dtype=np.uint8)
    monkeypatch.setitem(sys.modules, "bench.data", fake)
    import bench

    monkeypatch.setattr(bench, "data", fake, raising=False)
    name, images = rt.dataset_lr_images("fake5", 2, "valid")
    assert name == "Fake5" and calls == {"scale": 2, "split": "valid"}
    assert images[0].shape == (1, 3, 48, 56) and images[0].dtype == torch.uint8 and int(images[0].max()) == 9
    assert images[1].shape == (1, 3, 56, 48)
    # and the CLI times every image once per split, NTIRE style
    code, out, _ = _cli(
        "runtime", "agdn-s", "--scale", "4", "--mode", "ntire", "--dataset", "valid=fake5",
        "--dataset", "test=fake5", "--no-memory", "--threads", "1", "--json",
    )
    rec = json.loads(out)
    assert code == 0, rec["message"]
    assert rec["dataset"] == "Fake5+Fake5" and list(rec["splits"]) == ["valid", "test"]
    assert [s["n"] for s in rec["splits"].values()] == [2, 2] and rec["warmup"] == 0 and rec["repeats"] == 4
    means = [s["mean_ms"] for s in rec["splits"].values()]
    assert rec["ave_time_ms"] == pytest.approx(sum(means) / 2)
    assert rec["input_size"] is None


def test_isolated_measurement_runs_in_a_fresh_process():
    rec = rt.measure_runtime_isolated("agdn-s", 4, input_size=(24, 24), mode="ntire", repeats=2, memory=False,
                                      threads=1)
    assert rec.status == "ok", rec.message
    assert rec.protocol["process"].startswith("fresh") and len(rec.times_ms) == 2 and rec.kind == "runtime"
    with pytest.raises(TypeError):
        rt.measure_runtime_isolated(Tiny(), 2)


def test_warmup_until_stable_stops_when_timings_settle():
    # start-up decays: 1000, 200, 50, 30, 20, then 10 +- small noise
    durations = [1000.0, 200.0, 50.0, 30.0, 20.0] + [10.0, 10.2, 9.9, 10.1, 10.0] * 10
    clock = FakeClock()
    model = ScriptedModel(clock, durations)
    n = rt.warmup_until_stable(model, None, rt.PerfCounterTimer(clock), min_iters=10, window=5, rtol=0.05)
    # sliding windows: at 10 medians 10.0 vs 50, at 11 vs 30, at 12 vs 20, at 13 vs 10.2 -> within 5%
    assert n == 13
    never = ScriptedModel(clock, [float(2**i) for i in range(40)])
    assert rt.warmup_until_stable(never, None, rt.PerfCounterTimer(clock), max_iters=30) == 30
    timer = FakeTimer([500.0, 100.0] + [5.0] * 30)
    rec = rt.measure_runtime(Tiny(), 2, input_size=(8, 8), warmup="auto", repeats=3, timer=timer, memory=False)
    assert rec.warmup == 10 and rec.times_ms == [5.0, 5.0, 5.0] and rec.protocol["warmup"].startswith("auto")
    with pytest.raises(ValueError):
        rt.measure_runtime(Tiny(), 2, warmup="lots")


def test_cli_compare_with_year_baseline():
    code, out, _ = _cli(
        "runtime", "agdn-s", "--scale", "4", "--compare", "span-ch28", "--year", "2026", "--input", "24x24",
        "--warmup", "0", "--repeats", "2", "--threads", "1", "--json",
    )
    assert code == 0
    rec = json.loads(out)
    assert rec["reference"] == "span-ch28" and rec["models"] == ["agdn-s", "span-ch28"]
    assert rec["ratios"]["span-ch28"] == 1.0
    assert rec["ratios"]["agdn-s"] == pytest.approx(
        rec["records"]["agdn-s"]["median_ms"] / rec["records"]["span-ch28"]["median_ms"]
    )
    assert len(rec["records"]["agdn-s"]["times_ms"]) == 2


def test_cuda_forward_peak_logic_with_fake_allocator(monkeypatch):
    """reset_peak_memory_stats before, max_memory_allocated after, minus what was allocated before."""
    state = {"allocated": 100 * MIB, "peak": 900 * MIB, "log": []}

    def reset(device=None):
        state["log"].append("reset")
        state["peak"] = state["allocated"]

    def forward(x):
        state["log"].append("forward")
        state["peak"] = max(state["peak"], state["allocated"] + 40 * MIB)  # transient activations
        state["allocated"] += 16 * MIB  # the output stays
        return x

    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: state["log"].append("sync"))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", reset)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: state["allocated"])
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: state["peak"])
    peak = rt.cuda_forward_peak_bytes(forward, None, torch.device("cuda"))
    assert peak == 40 * MIB  # not the 900 MiB left over from earlier work, not the 100 MiB of weights
    assert state["log"] == ["sync", "reset", "forward", "sync"]
