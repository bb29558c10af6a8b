"""Record identity (bench/identity.py): a record is reused only when everything that made it is the same.

The main job runs with the fake measures of tests/fakes_bench.py (fast); one test runs the real
``esr-bench eval`` on a tiny synthetic dataset.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import bench.identity as identity
from bench.commands._bench_job import run_bench
from tests import fakes_bench
from tests.fakes_bench import FAKES

KINDS = ("complexity", "runtime", "quality")


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ESR_BENCH_HASH_CACHE", str(tmp_path_factory.mktemp("hashcache") / "hashes.json"))
    fakes_bench.CALLS.clear()
    fakes_bench.DELAY = 0.0
    yield


def tiny_dataset(root: Path, name: str = "Tiny", n: int = 2, size: int = 64, lr: bool = False) -> Path:
    """``root/name/HR/img{i}.png``: smooth colour gradients + noise (deterministic), optional x4 LR folder."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    (root / name / "HR").mkdir(parents=True)
    for i in range(n):
        img = np.stack([xx * 3 + i * 20, yy * 3, (xx + yy) * 2], -1) + rng.integers(0, 30, (size, size, 3))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(root / name / "HR" / f"img{i}.png")
        if lr:
            (root / name / "LR_bicubic" / "X4").mkdir(parents=True, exist_ok=True)
            small = Image.open(root / name / "HR" / f"img{i}.png").resize((size // 4, size // 4), Image.BICUBIC)
            small.save(root / name / "LR_bicubic" / "X4" / f"img{i}x4.png")
    return root / name


def _run(out: Path, dataset: Path, **kw):
    kw.setdefault("models", ["agdn-s"])
    kw.setdefault("device", "cpu")
    kw.setdefault("report", False)
    return run_bench(out=out, datasets=[str(dataset)], measures=FAKES, progress=False, visual=False,
                     ablations=False, **kw)


def _measured() -> set[str]:
    kinds = {c[0] for c in fakes_bench.CALLS}
    fakes_bench.CALLS.clear()
    return kinds


def _rec(out: Path, rel: str) -> dict:
    return json.loads((out / rel).read_text())


# ------------------------------------------------------------------------------------ the module
def test_identity_parts_and_hash_are_canonical(shared_weights: Path) -> None:
    from models import get_spec

    m = identity.model_identity("AGDN-S", 4, {"tlc": True, "num_feat": 24})
    # the registry's own values are not a variant; the checkpoint hash is the registry's (verified) sha256
    sha = get_spec("agdn-s").checkpoint(4).sha256
    assert m == {"model": "agdn-s", "scale": 4, "options": {}, "checkpoint_sha256": sha}
    assert identity.model_identity("agdn-s", 4, {"tlc": False}, checkpoint=False) == {
        "model": "agdn-s", "scale": 4, "options": {"tlc": False}}
    assert identity.options_label({"tlc": False, "num_block": 5}) == "num_block=5,tlc=false"
    a = {"b": [1, 2], "a": {"y": None, "x": 1.5}}
    assert identity.identity_hash(a) == identity.identity_hash(json.loads(json.dumps(a, sort_keys=True)[::1]))
    assert len(identity.identity_hash(a)) == 16 and identity.identity_hash(a) != identity.identity_hash({**a, "c": 0})
    r = identity.runtime_identity("agdn-s", 4, device="cpu", repeats=5, warmup=2)
    # defaults come from measure_runtime's signature; CPU robust runs single-threaded
    assert r["settings"] | {} == {"input_size": [256, 256], "warmup": 2, "repeats": 5, "mode": "robust",
                                   "dtype": "fp32", "channels_last": False, "compile": False, "threads": 1,
                                   "cudnn_benchmark": None}
    assert r["device"]["type"] == "cpu" and r["torch"].startswith(__import__("torch").__version__[:3])


def test_dataset_fingerprint_is_content_and_cached(tmp_path: Path, monkeypatch) -> None:
    ds = tiny_dataset(tmp_path, lr=True)
    calls = []
    import models.weights

    real = models.weights.sha256_file
    monkeypatch.setattr(models.weights, "sha256_file", lambda p, *a: calls.append(Path(p).name) or real(p, *a))
    auto = identity.dataset_identity(str(ds), 4, "auto")
    assert auto["files"] == 4 and auto["name"] == "Tiny" and len(calls) == 4
    bic = identity.dataset_identity(str(ds), 4, "bicubic")
    assert bic["files"] == 2 and bic["sha256"] != auto["sha256"]  # bicubic never reads the LR folder
    assert len(calls) == 4  # HR hashes came from the cache
    # a copy elsewhere is the same dataset; one changed pixel (same size) is not
    copy = shutil.copytree(ds, tmp_path / "elsewhere" / "Tiny")
    assert identity.dataset_identity(str(copy), 4, "auto")["sha256"] == auto["sha256"]
    img = np.asarray(Image.open(copy / "HR" / "img1.png")).copy()
    img[5, 5, 0] ^= 1
    Image.fromarray(img).save(copy / "HR" / "img1.png")
    changed = identity.dataset_identity(str(copy), 4, "auto")
    assert changed["sha256"] != auto["sha256"] and changed["files"] == 4
    # the on-disk cache serves a new process (here: a fresh in-memory cache)
    monkeypatch.setattr(identity, "_CACHE", identity._HashCache())
    n = len(calls)
    assert identity.dataset_identity(str(ds), 4, "auto") == auto and len(calls) == n


# ------------------------------------------------------------------------ one component at a time
def _baseline(tmp_path: Path, measured: tuple[str, ...] = KINDS, **kw) -> tuple[Path, Path]:
    ds = tiny_dataset(tmp_path)
    out = tmp_path / "results"
    s = _run(out, ds, **kw)
    assert (s.computed, s.reused) == (3, 0)
    assert _measured() == set(measured)
    assert all(_rec(out, f"{k}/agdn-s_x4{'_Tiny' if k == 'quality' else ''}.json")["identity_hash"] for k in KINDS)
    return out, ds


RUNTIME_CHANGES = [
    {"input_size": (64, 64)}, {"dtype": "bf16"}, {"threads": 2}, {"channels_last": True}, {"compile": True},
    {"warmup": 3}, {"repeats": 6}, {"mode": "ntire", "warmup": 0}, {"cudnn_benchmark": True, "device": "cuda"},
]


@pytest.mark.parametrize("change", RUNTIME_CHANGES, ids=lambda c: ",".join(c))
def test_each_runtime_setting_recomputes_only_runtime(tmp_path: Path, change: dict) -> None:
    base = {"warmup": 2, "repeats": 5}
    out, ds = _baseline(tmp_path, runtime_options=base)
    device = change.pop("device", "cpu")
    s = _run(out, ds, runtime_options=base | change, device=device)
    assert _measured() == {"runtime"} and (s.computed, s.reused) == (1, 2)
    assert _run(out, ds, runtime_options=base | change, device=device).computed == 0  # and now it is reused


def test_runtime_size_then_default_measures_256(tmp_path: Path, monkeypatch, shared: Path, capsys) -> None:
    """The issue's case: `bench --runtime-size 64 64`, then without it: 256x256 is measured, not reused."""
    import bench.commands._bench_job
    from bench.cli import main

    monkeypatch.setattr(bench.commands._bench_job, "default_measures", lambda: dict(FAKES))
    ds = tiny_dataset(tmp_path)
    out = tmp_path / "res"
    args = ["bench", "--models", "agdn-s", "--datasets", str(ds), "--device", "cpu", "--out", str(out),
            "--no-visual", "--no-progress", "--no-ablations", "--no-report"]
    assert main(args + ["--runtime-size", "64", "64"]) == 0
    assert _rec(out, "runtime/agdn-s_x4.json")["identity"]["settings"]["input_size"] == [64, 64]
    _measured()
    assert main(args) == 0
    assert "1 measured, 2 reused" in capsys.readouterr().out and _measured() == {"runtime"}
    rec = _rec(out, "runtime/agdn-s_x4.json")
    assert rec["identity"]["settings"]["input_size"] == [256, 256] and "input_size" not in rec["protocol"]
    assert main(args) == 0 and _measured() == set()  # same settings again: reused


def test_device_name_and_torch_version_are_identity(tmp_path: Path, monkeypatch) -> None:
    out, ds = _baseline(tmp_path)
    monkeypatch.setattr(identity, "device_name", lambda device: "Another CPU model")
    _run(out, ds)
    assert _measured() == {"runtime"}
    real = identity.software_versions()
    monkeypatch.setattr(identity, "software_versions", lambda: real | {"torch": "9.9.9"})
    _run(out, ds)
    assert _measured() == {"runtime", "complexity"}  # complexity counts trace with torch; quality is not redone
    monkeypatch.setattr(identity, "software_versions", lambda: real | {"torch": "9.9.9", "fvcore": "0.0.1"})
    _run(out, ds)
    assert _measured() == {"complexity"}  # a counting library


def test_checkpoint_content_recomputes_only_quality(tmp_path: Path, shared_weights: Path) -> None:
    from models import get_spec

    weights = tmp_path / "weights"
    weights.mkdir()
    name = get_spec("agdn-s").checkpoint(4).file
    shutil.copy(shared_weights / name, weights / name)
    out, ds = _baseline(tmp_path, weights_dir=str(weights))
    rec = _rec(out, "quality/agdn-s_x4_Tiny.json")
    assert rec["identity"]["model"]["checkpoint_sha256"] == get_spec("agdn-s").checkpoint(4).sha256
    with open(weights / name, "ab") as f:  # other weights under the same file name
        f.write(b"\0")
    _run(out, ds, weights_dir=str(weights))
    assert _measured() == {"quality"}
    assert _run(out, ds, weights_dir=str(weights)).computed == 0


def test_missing_weights_then_weights_report_shows_only_measured(tmp_path: Path) -> None:
    from reports.loader import load_results
    from reports.tables import quality_table, table5

    empty = tmp_path / "none"
    empty.mkdir()
    out, ds = _baseline(tmp_path, ("complexity", "runtime"), weights_dir=str(empty))
    assert _rec(out, "quality/agdn-s_x4_Tiny.json")["status"] == "no_checkpoint"
    assert _run(out, ds, weights_dir=str(empty)).computed == 0  # still no weights: nothing changed
    # an earlier run's no_checkpoint record kept under another name (e.g. results merged from a machine without
    # weights) must not appear either
    stale = _rec(out, "quality/agdn-s_x4_Tiny.json")
    (out / "quality" / "agdn-s_x4_Tiny-old.json").write_text(json.dumps(stale))
    s = _run(out, ds, report=True)  # default weights folder: the official checkpoint is there
    assert _measured() == {"quality"} and s.no_checkpoint == []
    rs = load_results(out)
    assert [q["status"] for q in rs.of("quality")] == ["ok"]
    assert [f for f, _ in rs.superseded] == ["quality/agdn-s_x4_Tiny-old.json"]
    rows = [r for r in quality_table(rs).rows if r["model"] == "agdn-s"]
    assert [(r["psnr"], r["status"]) for r in rows] == [(30.0, "ok")]
    assert [r["m_psnr"] for r in table5(rs, dataset="Tiny").rows if r["model"] == "agdn-s"] == [30.0]
    page = (out / "report.html").read_text()
    body = page.split("</style>", 1)[1].split("Superseded records")[0]  # the CSS names every status class
    assert "no_checkpoint" not in body


def test_dataset_content_lr_source_and_protocol_recompute_only_quality(tmp_path: Path) -> None:
    out, ds = _baseline(tmp_path)
    img = np.asarray(Image.open(ds / "HR" / "img0.png")).copy()
    img[0, 0, 1] ^= 1
    Image.fromarray(img).save(ds / "HR" / "img0.png")
    _run(out, ds)
    assert _measured() == {"quality"}
    (ds / "LR_bicubic" / "X4").mkdir(parents=True)  # an LR folder appears: under lr=auto it is read
    for p in sorted((ds / "HR").glob("*.png")):
        Image.open(p).resize((16, 16)).save(ds / "LR_bicubic" / "X4" / f"{p.stem}x4.png")
    _run(out, ds)
    assert _measured() == {"quality"}
    _run(out, ds, quality_options={"protocol": "paper", "lr_source": "bicubic"})
    assert _measured() == {"quality"}
    _run(out, ds, quality_options={"protocol": "ntire", "lr_source": "bicubic"})
    assert _measured() == {"quality"}
    _run(out, ds, quality_options={"protocol": "ntire", "lr_source": "bicubic"})
    assert _measured() == set()


def test_model_options_in_a_record_prevent_reuse(tmp_path: Path) -> None:
    """A record at the official file whose identity has other constructor options is never reused."""
    out, ds = _baseline(tmp_path)
    path = out / "quality/agdn-s_x4_Tiny.json"
    rec = json.loads(path.read_text())
    rec["identity"]["model"]["options"] = {"tlc": False}
    path.write_text(json.dumps(identity.stamp(rec, rec["identity"])))
    _run(out, ds)
    assert _measured() == {"quality"}
    rec = json.loads(path.read_text())
    assert "variant" not in rec and "options" not in rec and rec["identity"]["model"]["options"] == {}


def test_tampered_or_wrong_typed_record_is_recomputed(tmp_path: Path) -> None:
    out, ds = _baseline(tmp_path)
    path = out / "runtime/agdn-s_x4.json"
    rec = json.loads(path.read_text())
    path.write_text(json.dumps(rec | {"median_ms": 0.001}))  # the number changed, not the identity: fine
    assert _run(out, ds).computed == 0
    path.write_text(json.dumps(rec | {"identity": rec["identity"] | {"torch": "x"}}))  # hash no longer matches
    _run(out, ds)
    assert _measured() == {"runtime"}
    path.write_text(json.dumps(rec | {"median_ms": "abc"}))
    _run(out, ds)
    assert _measured() == {"runtime"}


# ---------------------------------------------------------------------- eval variants (real model)
def test_eval_variant_is_never_the_official_record(tmp_path: Path, monkeypatch, capsys) -> None:
    import bench.commands._bench_job
    from bench.cli import main
    from reports.loader import load_results
    from reports.tables import quality_table, table5

    ds = tiny_dataset(tmp_path, n=1, size=96)
    out = tmp_path / "results"
    assert main(["eval", "agdn-s", "--scale", "4", "--dataset", str(ds), "--set", "tlc=false", "--out", str(out),
                 "--no-progress"]) == 0
    variant = out / "quality" / "agdn-s_x4_Tiny_tlc=false.json"
    rec = json.loads(variant.read_text())
    assert rec["options"] == {"tlc": False} and rec["variant"] == "tlc=false" and rec["status"] == "ok"
    assert rec["identity"]["model"]["options"] == {"tlc": False} and 20 < rec["psnr"] < 60
    assert not (out / "quality" / "agdn-s_x4_Tiny.json").exists()
    capsys.readouterr()
    # bench: the official AGDN-S x4 record is measured (the fake's 30.0 dB), the variant is left alone
    monkeypatch.setattr(bench.commands._bench_job, "default_measures", lambda: dict(FAKES))
    assert main(["bench", "--models", "agdn-s", "--datasets", str(ds), "--device", "cpu", "--out", str(out),
                 "--no-visual", "--no-progress", "--no-ablations"]) == 0
    text = capsys.readouterr().out
    assert ("quality", "agdn-s", 4, str(ds)) in fakes_bench.CALLS and "Tiny 30.00 dB" in text
    assert json.loads(variant.read_text()) == rec
    rs = load_results(out)
    rows = {r["label"]: r["psnr"] for r in quality_table(rs).rows}
    assert rows == {"AGDN-S": 30.0, "AGDN-S [variant: tlc=false]": rec["psnr"]}
    assert [r["m_psnr"] for r in table5(rs, dataset="Tiny").rows if r["model"] == "agdn-s"] == [30.0]
    from reports.leaderboard import leaderboard

    board = leaderboard(rs)
    marks = sorted((r["variant"], r["psnr"]) for r in board["rows"] if r.get("m") == "agdn-s|4" and r.get("psnr"))
    assert marks == sorted([("", 30.0), ("tlc=False", round(rec["psnr"], 4))])  # the page marks the variant row
    # an official eval record with the same identity as bench's task is reused by bench
    assert main(["eval", "agdn-s", "--scale", "4", "--dataset", str(ds), "--out", str(out), "--no-progress"]) == 0
    official = json.loads((out / "quality" / "agdn-s_x4_Tiny.json").read_text())
    assert official["psnr"] != 30.0 and "variant" not in official
    fakes_bench.CALLS.clear()
    assert main(["bench", "--models", "agdn-s", "--datasets", str(ds), "--device", "cpu", "--out", str(out),
                 "--no-visual", "--no-progress", "--no-ablations", "--no-report"]) == 0
    assert "0 measured, 3 reused" in capsys.readouterr().out and fakes_bench.CALLS == []


def test_records_of_earlier_versions_are_re_identified_or_recomputed(tmp_path: Path) -> None:
    import torch

    from bench.env import cpu_model

    out, ds = _baseline(tmp_path, runtime_options={"warmup": 2, "repeats": 5})
    for rel in ("quality/agdn-s_x4_Tiny.json", "runtime/agdn-s_x4.json"):
        rec = _rec(out, rel)
        del rec["identity"], rec["identity_hash"]
        (out / rel).write_text(json.dumps(rec))
    _run(out, ds, runtime_options={"warmup": 2, "repeats": 5})
    # neither says enough to be trusted (the fake runtime record lacks the threads and the device name)
    assert _measured() == {"quality", "runtime"}
    legacy_runtime = {"kind": "runtime", "model": "agdn-s", "scale": 4, "device": "cpu", "mode": "robust",
                      "dtype": "fp32", "input_size": [256, 256], "warmup": 2, "repeats": 5, "median_ms": 9.0,
                      "status": "ok", "protocol": {"threads": 1, "channels_last": False, "compile": False,
                                                   "cudnn_benchmark": None},
                      "env": {"torch": torch.__version__, "device_name": cpu_model()}}
    (out / "runtime/agdn-s_x4.json").write_text(json.dumps(legacy_runtime))
    assert _run(out, ds, runtime_options={"warmup": 2, "repeats": 5}).computed == 0  # re-identified: same settings
    assert _run(out, ds, runtime_options={"warmup": 2, "repeats": 6}).computed == 1


def test_a_real_runtime_record_re_identifies_to_the_identity_bench_asks_for() -> None:
    """reidentify() reads the fields measure_runtime really writes (not only the fakes' ones)."""
    from bench.records import to_jsonable
    from bench.runtime import measure_runtime

    settings = {"input_size": (32, 32), "warmup": 1, "repeats": 2, "channels_last": True}
    rec = to_jsonable(measure_runtime("agdn-s", 4, device="cpu", memory=False, **settings))
    assert rec["status"] == "ok"
    expected = identity.runtime_identity("agdn-s", 4, device="cpu", **settings)
    assert identity.reidentify(rec) == expected
    assert identity.reidentify(rec | {"dtype": "bf16"}) != expected
