"""The main job (bench/commands/_bench_job.py) with fake measurements: records, resume, failures, no-checkpoint,
SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.commands._bench_job import ABLATION_VARIANTS, Task, plan, run_bench
from tests import fakes_bench
from tests.fakes_bench import FAKES

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _reset_calls():
    fakes_bench.CALLS.clear()
    fakes_bench.DELAY = 0.0
    yield


def _records(out: Path) -> dict[str, dict]:
    return {str(p.relative_to(out)): json.loads(p.read_text()) for p in sorted(out.rglob("*.json"))
            if p.parent.name in ("complexity", "runtime", "quality")}


def _run(out: Path, **kw):
    kw.setdefault("models", ["agdn-s"])
    kw.setdefault("datasets", ["Set5"])
    kw.setdefault("device", "cpu")
    return run_bench(out=out, measures=FAKES, progress=False, visual=False, **kw)


def test_plan_layout_and_paths() -> None:
    tasks = plan(["agdn", "agdn-s"], None, ["Set5", "/data/Urban100"])
    # agdn: 3 scales x (complexity + runtime + 2 quality); agdn-s: x4 only; + 9 ablation variants of agdn x4
    assert len(tasks) == 3 * 4 + 4 + len(ABLATION_VARIANTS)
    assert Task("quality", "agdn", 2, "/data/Urban100").relpath() == Path("quality/agdn_x2_Urban100.json")
    assert Task("complexity", "agdn", 4, variant="mvsa+rcca").relpath() == Path("complexity/agdn_x4_mvsa+rcca.json")
    assert len({t.relpath() for t in tasks}) == len(tasks)
    assert [t.scale for t in plan(["agdn"], [3], ["Set5"], ablations=True)] == [3, 3, 3]


def test_records_written_and_reused(tmp_path: Path) -> None:
    out = tmp_path / "results"
    s = _run(out)
    assert (s.computed, s.reused, s.failed) == (3, 0, [])
    recs = _records(out)
    assert set(recs) == {"complexity/agdn-s_x4.json", "runtime/agdn-s_x4.json", "quality/agdn-s_x4_Set5.json"}
    assert recs["complexity/agdn-s_x4.json"]["params"] == 69272  # the fake counts the real module
    assert recs["runtime/agdn-s_x4.json"]["protocol"]["repeats"] == 5  # CPU default: quick timings
    assert all(r["status"] == "ok" and r["env"] for r in recs.values())
    assert s.report == out / "report.html" and s.report.is_file()
    n_calls = len(fakes_bench.CALLS)
    s2 = _run(out)
    assert (s2.computed, s2.reused) == (0, 3) and len(fakes_bench.CALLS) == n_calls
    assert _records(out) == recs
    s3 = _run(out, force=True)
    assert (s3.computed, s3.reused) == (3, 0)
    # other settings than the stored ones: only the affected records are redone
    s4 = _run(out, device="cuda")  # runtime on another device (10 warm-up / 30 timed by default)
    assert (s4.computed, s4.reused) == (1, 2)
    assert json.loads((out / "runtime/agdn-s_x4.json").read_text())["repeats"] == 30
    s5 = _run(out, device="cuda", quality_options={"protocol": "ntire"})
    assert (s5.computed, s5.reused) == (1, 2)
    assert json.loads((out / "quality/agdn-s_x4_Set5.json").read_text())["protocol"]["name"] == "ntire"


def test_failure_is_recorded_and_run_continues(tmp_path: Path) -> None:
    out = tmp_path / "results"
    s = run_bench(models=["agdn-s"], datasets=["Set5"], device="cpu", out=out, progress=False, visual=False,
                  measures={**FAKES, "runtime": fakes_bench.failing_runtime})
    rec = json.loads((out / "runtime/agdn-s_x4.json").read_text())
    assert rec["status"] == "failed" and "simulated runtime failure" in rec["message"]
    assert rec["kind"] == "runtime" and rec["model"] == "agdn-s" and rec["scale"] == 4
    assert len(s.failed) == 1 and (out / "quality/agdn-s_x4_Set5.json").is_file()
    assert "simulated runtime failure" in (out / "report.html").read_text()
    s2 = _run(out)  # failed records are retried; the others are reused
    assert (s2.computed, s2.reused, s2.failed) == (1, 2, [])
    kept = _run(out, force=False, retry_failed=False)
    assert kept.computed == 0


def test_missing_weights_give_no_checkpoint_never_a_number(tmp_path: Path) -> None:
    out = tmp_path / "results"
    empty = tmp_path / "no_weights"
    empty.mkdir()
    s = _run(out, weights_dir=str(empty))
    rec = json.loads((out / "quality/agdn-s_x4_Set5.json").read_text())
    assert rec["status"] == "no_checkpoint" and rec["psnr"] is None
    assert "esr-bench weights fetch agdn-s" in rec["message"]
    assert not [c for c in fakes_bench.CALLS if c[0] == "quality"]
    assert {c[0] for c in fakes_bench.CALLS} == {"complexity", "runtime"}
    assert s.no_checkpoint == ["quality agdn-s x4 Set5"]
    # once the weights are there, the no-checkpoint record is recomputed; complexity/runtime are reused
    s2 = _run(out)
    assert (s2.computed, s2.reused) == (1, 2)
    assert json.loads((out / "quality/agdn-s_x4_Set5.json").read_text())["psnr"] == 30.0


def test_ablation_variants_measured_on_built_modules(tmp_path: Path) -> None:
    out = tmp_path / "results"
    _run(out, models=["agdn"], scales=[4], datasets=["Set5"])
    base = json.loads((out / "complexity/agdn_x4_base.json").read_text())
    assert base["variant"] == "base" and base["model"] == "agdn" and base["params"] == 126552
    assert json.loads((out / "complexity/agdn_x4_blocks5.json").read_text())["params"] == 216294
    assert json.loads((out / "complexity/agdn_x4_esa+cca.json").read_text())["status"] == "skipped"
    html = (out / "report.html").read_text()
    assert "126.6" in html  # measured params of the base variant next to the paper's 127


def test_cli_bench_and_report(tmp_path: Path, monkeypatch, capsys, shared: Path) -> None:
    import bench.commands._bench_job
    from bench.cli import main

    monkeypatch.setattr(bench.commands._bench_job, "default_measures", lambda: dict(FAKES))
    monkeypatch.setenv("ESR_BENCH_DATA", str(shared / "datasets"))
    out = tmp_path / "res"
    rc = main(["bench", "--models", "agdn-s", "--datasets", "Set5", "--device", "cpu", "--out", str(out),
               "--no-visual", "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 0 and "3 measured, 0 reused, 0 failed" in text and f"report: {out / 'report.html'}" in text
    assert "agdn-s x4: params 69,272" in text and "Set5 30.00 dB" in text
    assert main(["report", str(out), "--format", "latex", "--out", str(tmp_path / "t.tex")]) == 0
    assert (tmp_path / "t.tex").read_text().count(r"\toprule") >= 3
    assert main(["bench", "--models", "nope", "--out", str(out)]) == 2
    assert main(["bench", "--models", "agdn-s", "--datasets", "NoSuchSet", "--out", str(out)]) == 2
    assert "NoSuchSet" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2


_CHILD = """
import sys
sys.path.insert(0, {repo!r})
from tests import fakes_bench
fakes_bench.DELAY = 0.25
from bench.commands._bench_job import run_bench
run_bench(models=["agdn", "agdn-s"], scales=[4], datasets=["Set5", "Set14"], device="cpu", out={out!r},
          measures=fakes_bench.FAKES, progress=False, visual=False, report=False)
"""


def test_sigkill_halfway_then_rerun_completes_without_corrupt_or_duplicate(tmp_path: Path) -> None:
    out = tmp_path / "results"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", _CHILD.format(repo=str(REPO), out=str(out))], env=env,
                            start_new_session=True)
    expected = plan(["agdn", "agdn-s"], [4], ["Set5", "Set14"])
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list(out.rglob("*.json"))) >= 4:
                break
            time.sleep(0.05)
        time.sleep(0.1)
        assert proc.poll() is None, "child finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    done_before = {p.relative_to(out): p.stat().st_mtime_ns for p in out.rglob("*.json")}
    assert 4 <= len(done_before) < len(expected)
    s = _run(out, models=["agdn", "agdn-s"], scales=[4], datasets=["Set5", "Set14"])
    assert s.reused == len(done_before) and s.computed == len(expected) - len(done_before)
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file() and p.suffix == ".json"
                   and p.parent.name in ("complexity", "runtime", "quality"))
    assert files == sorted(t.relpath() for t in expected)  # exactly one record per task
    for f in files:
        json.loads((out / f).read_text())  # none is corrupt
        if f in done_before:
            assert (out / f).stat().st_mtime_ns == done_before[f]  # finished records were not recomputed
    assert not list(out.rglob("*.tmp"))


def test_fetch_weights_from_a_loopback_mirror(tmp_path: Path, shared_weights: Path) -> None:
    import functools
    import http.server
    import threading

    from models import get_spec

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(shared_weights))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    dest = tmp_path / "weights"
    try:
        s = _run(tmp_path / "results", weights_dir=str(dest), fetch=True,
                 fetch_base_url=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
    assert (dest / get_spec("agdn-s").checkpoint(4).file).is_file()
    assert s.no_checkpoint == [] and any("agdn-s x4: downloaded" in n for n in s.notes)
    assert json.loads((tmp_path / "results/quality/agdn-s_x4_Set5.json").read_text())["status"] == "ok"


def test_visual_figure_made_once_per_model_set(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    yy, xx = np.mgrid[0:160, 0:192]
    (tmp_path / "Tiny" / "HR").mkdir(parents=True)
    Image.fromarray((np.stack([xx, yy, (xx + yy) // 2], -1) % 256).astype(np.uint8)).save(
        tmp_path / "Tiny" / "HR" / "img092.png")
    out = tmp_path / "results"
    run_bench(models=["agdn-s"], datasets=[str(tmp_path / "Tiny")], device="cpu", out=out, measures=FAKES,
              progress=False, ablations=False)
    png = out / "figures" / "visual_Tiny_img092_x4.png"
    meta = json.loads(png.with_suffix(".json").read_text())
    assert meta["models"] == ["agdn-s"] and [p["title"] for p in meta["panels"]] == ["HR", "Bicubic", "AGDN-S"]
    mtime = png.stat().st_mtime_ns
    run_bench(models=["agdn-s"], datasets=[str(tmp_path / "Tiny")], device="cpu", out=out, measures=FAKES,
              progress=False, ablations=False)
    assert png.stat().st_mtime_ns == mtime  # reused
    html = (out / "report.html").read_text()
    assert "data:image/webp;base64," in html or "data:image/png;base64," in html  # lossless WebP when available


def test_weight_free_reference_needs_no_checkpoint(tmp_path) -> None:
    """bicubic has no parameters, so its quality is measured; an arch-only model says no_checkpoint."""
    from bench.commands._bench_job import _checkpoint_problem

    assert _checkpoint_problem("bicubic", 4, str(tmp_path)) is None
    assert "architecture only" in _checkpoint_problem("safmn", 4, str(tmp_path))
    assert "esr-bench weights fetch agdn" in _checkpoint_problem("agdn", 4, str(tmp_path))


def test_progress_lines_when_piped(tmp_path: Path, capsys, monkeypatch) -> None:
    """One plain line per finished task on stderr (no terminal needed); known problems come first."""
    monkeypatch.delenv("ESR_BENCH_DATA", raising=False)
    empty = tmp_path / "no-weights"
    empty.mkdir()
    run_bench(models=["agdn-s", "bicubic"], scales=[4], datasets=["samples"], device="cpu", out=tmp_path / "r",
              measures=FAKES, progress=True, visual=False, report=False, weights_dir=str(empty))
    err = capsys.readouterr().err.splitlines()
    task_lines = [line for line in err if line.startswith("[")]
    # agdn-s x4 and bicubic x4: complexity, runtime, quality each
    assert [line.split("]")[0] for line in task_lines] == [f"[{i}/6" for i in range(1, 7)]
    assert all("elapsed" in line and "eta" in line for line in task_lines)
    assert "quality agdn-s x4 samples" in task_lines[2] and "no_checkpoint" in task_lines[2]
    first_task = err.index(task_lines[0])
    upfront = "\n".join(err[:first_task])
    assert "no checkpoint for 1 model/scale(s): agdn-s x4" in upfront  # bicubic needs no weights
    assert "esr-bench weights fetch agdn-s" in upfront and "only the built-in 'samples'" in upfront
