"""Submission validation: a tiny valid model and one broken submission per failure mode.

Every team runs in its own sandboxed child process (that is what is under test), so the module
validates the whole test zoo once and the tests inspect the reports.
"""

from __future__ import annotations

import json
import time

import pytest

from bench.cli import main
from challenge.manifest import ManifestError, load_manifest
from challenge.sandbox import run_in_sandbox
from challenge.validate import scan_pickle_globals, validate_submission, validate_team

from .challenge_fixtures import make_single, make_zoo

HANG_TIMEOUT = 30.0  # generous: the machine running the suite may be heavily loaded


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo")
    marker = root.parent / f"{root.name}_PWNED"
    labels = make_zoo(root, marker)
    assert not marker.exists()
    t0 = time.perf_counter()
    reports = validate_submission(root, timeout_s=HANG_TIMEOUT, memory_mb=4096, jobs=2)
    elapsed = time.perf_counter() - t0
    by_label = {r.team: r for r in reports}
    return {"root": root, "marker": marker, "reports": {case: by_label[lab] for case, lab in labels.items()},
            "labels": labels, "elapsed": elapsed}


def _rep(zoo, case):
    return zoo["reports"][case]


def test_valid_tiny_model(zoo):
    r = _rep(zoo, "valid")
    assert r.ok, r.findings
    assert r.child_status == "ok" and r.stage == "done"
    assert r.codes(severity="warning") == set()
    assert r.metrics["params"] == 8 * 3 * 9 + 8 + 48 * 8 * 9 + 48 == 3728
    assert r.metrics["params_before_forward"] == 3728
    assert r.metrics["output_shape"] == [1, 3, 192, 256]
    # conv MACs on 1x3x256x256: head 3*8*9 + tail 8*48*9 per pixel
    assert r.metrics["conv_macs_lr256"] == 256 * 256 * (3 * 8 * 9 + 8 * 48 * 9)
    assert r.metrics["fvcore_flops_lr256"] == r.metrics["conv_macs_lr256"]
    assert r.metrics["activations_lr256"] == 256 * 256 * (8 + 48) and r.metrics["convs_lr256"] == 2
    assert r.official["num_parameters"] == pytest.approx(0.003728)
    # TinySR is torch's bicubic plus a zero tail; the reference level is MATLAB bicubic (bench.imresize)
    import torch.nn.functional as F

    from challenge.worker import check_image, psnr_ntire

    hr, lr = check_image()
    torch_bicubic = psnr_ntire(F.interpolate(lr / 255.0, scale_factor=4, mode="bicubic", align_corners=False), hr, 1.0)
    assert r.metrics["check_psnr"] == pytest.approx(torch_bicubic, abs=1e-6)
    assert r.metrics["check_psnr_bicubic"] > r.metrics["check_psnr"]


@pytest.mark.parametrize(
    "case, code",
    [
        ("wrongsize", "wrong-output-size"),
        ("nan", "non-finite-output"),
        ("crash", "forward-error"),
        ("hang", "timeout"),
        ("pickled", "pickled-objects"),
        ("missing", "state-dict-mismatch"),
        ("range", "wrong-data-range"),
        ("import", "missing-dependency"),
        ("evil", "pickled-objects"),
        ("hog", "out-of-memory"),
        ("segv", "crashed"),
    ],
)
def test_broken_submission_reported(zoo, case, code):
    r = _rep(zoo, case)
    assert not r.ok
    assert code in r.codes(severity="error"), [f.to_dict() for f in r.findings]


def test_messages_are_actionable(zoo):
    def msg(case, code):
        return next(f.message for f in _rep(zoo, case).findings if f.code == code)

    assert "gives (1, 3, 96, 128), expected (1, 3, 192, 256)" in msg("wrongsize", "wrong-output-size")
    assert "boom in forward" in msg("crash", "forward-error") and "team04_Crash.py:" in msg("crash", "forward-error")
    assert "'tail.weight'" in msg("missing", "state-dict-mismatch")
    assert "set data_range = 255" in msg("range", "wrong-data-range")
    assert "not_a_real_package_xyz" in msg("import", "missing-dependency")
    assert "torch.save(model.state_dict()" in msg("pickled", "pickled-objects")
    assert "team06_Pickled.TinySR" in msg("pickled", "pickled-objects")


def test_segfault_recorded_with_signal(zoo):
    r = _rep(zoo, "segv")
    assert r.child_status == "crashed" and r.stage == "forward"
    assert "SIGSEGV" in next(f.message for f in r.findings if f.code == "crashed")


def test_hidden_ops_cuda_warmup_and_fp16_flagged(zoo):
    r = _rep(zoo, "sneaky")
    assert r.ok  # warnings: the submission runs, but the organisers must know
    assert {"cuda-in-constructor", "forward-in-constructor", "fvcore-undercount"} <= r.codes("warning")
    assert r.metrics["fvcore_flops_lr256"] == 0  # the conv hides in an autograd Function (PythonOp)
    assert r.metrics["conv_macs_lr256"] == 256 * 256 * 48 * 3 * 9
    assert "prim::PythonOp._FastConv" in r.metrics["fvcore_unsupported"]
    h = _rep(zoo, "half")
    assert "non-fp32" in h.codes("warning")
    assert any("float16" in f.message for f in h.findings if f.code == "non-fp32")


@pytest.mark.parametrize("watchdog", [False, True], ids=["rlimit_as", "rss_watchdog"])
def test_memory_limit_growing_model(tmp_path, monkeypatch, watchdog):
    """A forward that keeps allocating is stopped by RLIMIT_AS, or (CUDA machines) by the RSS watchdog."""
    from challenge import sandbox

    monkeypatch.setattr(sandbox, "_has_nvidia", lambda: watchdog)
    make_single(tmp_path, "20", "Grow", variant="grow")
    (r,) = validate_submission(tmp_path, timeout_s=120, memory_mb=1500)
    assert "out-of-memory" in r.codes("error")
    assert r.child_status == ("oom" if watchdog else "ok")
    assert r.wall_s < 60


def test_official_repo_layout_models_namespace(zoo):
    """`from models.<sibling> import X` resolves to the submission's models/ folder, not esr-bench's."""
    r = _rep(zoo, "sibling")
    assert r.ok, r.findings
    assert r.metrics["params"] == 3728


def test_hang_killed_by_timeout(zoo):
    r = _rep(zoo, "hang")
    assert r.child_status == "timeout" and r.stage == "forward"
    assert HANG_TIMEOUT <= r.wall_s < HANG_TIMEOUT + 10


def test_lazy_reparameterisation_halves_params(zoo):
    r = _rep(zoo, "lazy")
    assert r.ok  # a warning, not an error: the official count is taken after inference
    assert "params-change-after-forward" in r.codes("warning")
    assert r.metrics["params_before_forward"] == 2 * (48 * 3 * 9 + 48)
    assert r.metrics["params"] == 48 * 3 * 9 + 48


def test_non_strict_load_lists_missing_keys(zoo):
    r = _rep(zoo, "nonstrict")
    f = next(f for f in r.findings if f.code == "non-strict-missing-keys")
    assert f.severity == "warning" and "'tail.weight'" in f.message and "'tail.bias'" in f.message


def test_malicious_pickle_never_executes(zoo):
    assert "io.open" in scan_pickle_globals(zoo["root"] / "model_zoo" / "team11_Evil.pth")
    assert not zoo["marker"].exists()
    # defence in depth: even the sandboxed child, asked to load it, refuses it with weights_only=True
    entry = load_manifest(zoo["root"]).select(["11"])[0]
    child = run_in_sandbox({"entry": entry.to_job(), "allow_pickle": False}, timeout_s=60, memory_mb=4096)
    assert child.status == "ok"
    assert "pickled-objects" in {f["code"] for f in child.result["findings"]}
    assert child.stage == "done" and "params" not in child.result["metrics"]
    assert not zoo["marker"].exists()


def test_allow_pickle_loads_module_checkpoint_in_sandbox(zoo):
    entry = load_manifest(zoo["root"]).select(["06"])[0]
    r = validate_team(entry, allow_pickle=True, timeout_s=60, memory_mb=4096)
    assert r.ok, r.findings
    assert {"pickled-objects", "pickle-allowed"} <= r.codes("warning")
    assert r.metrics["params"] == 3728


def test_cli_validate_json(tmp_path, capsys):
    """Also acceptance 4: validating a small submission without --data takes well under 30 s."""
    make_single(tmp_path / "sub", "03", "Solo")
    t0 = time.perf_counter()
    assert main(["challenge", "validate", str(tmp_path / "sub"), "--json", "--year", "2024"]) == 0
    assert time.perf_counter() - t0 < 30
    (rep,) = json.loads(capsys.readouterr().out)
    assert rep["team"] == "03_Solo" and rep["ok"] and rep["metrics"]["params"] == 3728
    assert main(["challenge", "validate", str(tmp_path / "nowhere")]) == 2
    assert "no such submission" in capsys.readouterr().err


def test_manifest_errors(tmp_path):
    (tmp_path / "submission.toml").write_text('id = 1\nname = "A"\nclass = "X"\ndata_range = 2.0\n')
    with pytest.raises(ManifestError, match="data_range must be 1.0 or 255.0"):
        load_manifest(tmp_path)
    (tmp_path / "submission.toml").write_text('id = 1\nname = "A"\nclass = "X"\nclas = "Y"\n')
    with pytest.raises(ManifestError, match=r"unknown key\(s\) \['clas'\]"):
        load_manifest(tmp_path)
    (tmp_path / "submission.toml").write_text('id = 1\nclass = "X"\n')
    with pytest.raises(ManifestError, match="missing required key 'name'"):
        load_manifest(tmp_path)
    (tmp_path / "submission.toml").unlink()
    (tmp_path / "submission.yaml").write_text("team:\n  - {id: 7, name: B, class: Net, strict: false}\n")
    m = load_manifest(tmp_path)
    (t,) = m.teams
    assert t.label == "07_B" and t.strict is False
    assert t.model_file == tmp_path.resolve() / "models" / "team07_B.py"


def _ntire_data(root, n=2):
    """A tiny NTIRE 2024-layout dataset: DIV2K_LSDIR_valid_HR/<name>.png + _LR/<name>x4.png."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, names in (("valid", ["0000001", "0801"][:n]), ("test", ["0901"])):
        (root / f"DIV2K_LSDIR_{split}_HR").mkdir(parents=True)
        (root / f"DIV2K_LSDIR_{split}_LR").mkdir(parents=True)
        for name in names:
            yy, xx = np.mgrid[0:66, 0:70]  # not a multiple of 4: HR gets modcropped to 64x68
            img = 128 + 60 * np.sin(xx / 5.0)[..., None] * np.cos(yy / 7.0)[..., None] + rng.normal(0, 3, (66, 70, 3))
            hr = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
            hr.save(root / f"DIV2K_LSDIR_{split}_HR" / f"{name}.png")
            hr.crop((0, 0, 68, 64)).resize((17, 16), Image.BICUBIC).save(
                root / f"DIV2K_LSDIR_{split}_LR" / f"{name}x4.png")


def _expected_psnr(root, split):
    """Independent NTIRE PSNR of torch-bicubic x4 (what the zero-tail tiny model computes)."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from PIL import Image

    vals = []
    for hr_p in sorted((root / f"DIV2K_LSDIR_{split}_HR").glob("*.png")):
        hr = np.asarray(Image.open(hr_p).convert("RGB"), dtype=np.float64)[:64, :68]
        lr = np.asarray(Image.open(root / f"DIV2K_LSDIR_{split}_LR" / f"{hr_p.stem}x4.png"), dtype=np.float32)
        x = torch.from_numpy(lr / 255.0).permute(2, 0, 1)[None]
        y = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
        sr = np.round(np.clip(y[0].permute(1, 2, 0).numpy(), 0, 1) * 255.0).astype(np.float64)
        mse = ((sr - hr)[4:-4, 4:-4] ** 2).mean()
        vals.append(20 * np.log10(255.0 / np.sqrt(mse)))
    return vals


def test_full_evaluation_with_data(tmp_path):
    sub, data = make_single(tmp_path / "sub"), tmp_path / "data"
    _ntire_data(data)
    (r,) = validate_submission(sub, year=2024, data=data)
    o = r.official
    assert len(o["valid_psnr"]) == 2 and len(o["test_psnr"]) == 1
    assert o["valid_psnr"] == pytest.approx(_expected_psnr(data, "valid"), abs=1e-6)
    assert o["test_ave_psnr"] == pytest.approx(_expected_psnr(data, "test")[0], abs=1e-6)
    assert len(o["valid_runtime"]) == 2 and o["valid_ave_runtime"] > 0
    below = [s for s in ("valid", "test") if o[f"{s}_ave_psnr"] < {"valid": 26.90, "test": 26.99}[s]]
    assert ("below-threshold" in r.codes("error")) == bool(below)
    # the record feeds the ranking like an official results.json entry
    from challenge.rank import rank_teams
    from challenge.rules import get_rules
    from challenge.score import metrics_from_official

    (ts,) = rank_teams(get_rules(2024), [metrics_from_official(r.team, o)]).teams
    assert ts.metrics.params_m == pytest.approx(0.003728) and ts.score is not None
    # a folder without the layout is reported, not crashed on
    (r2,) = validate_submission(sub, year=2024, data=tmp_path / "sub")
    assert "dataset-missing" in r2.codes("error")


@pytest.mark.parametrize("fmt", ["zip", "legacy", "plain-pickle-protocol0"])
def test_pickle_scan_without_unpickling(tmp_path, fmt):
    import pickle

    import torch

    from .challenge_fixtures import Evil

    marker = tmp_path / "PWNED"
    path = tmp_path / "ckpt.pth"
    payload = {"w": torch.zeros(2), "meta": Evil(marker)}
    if fmt == "zip":
        torch.save(payload, path)
    elif fmt == "legacy":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps({"meta": Evil(marker)}, protocol=0))
    found = scan_pickle_globals(path)
    assert "io.open" in found
    assert not marker.exists()
    clean = tmp_path / "clean.pth"
    torch.save({"w": torch.zeros(2)}, clean)
    assert set(scan_pickle_globals(clean)) == {"torch._utils._rebuild_tensor_v2", "torch.FloatStorage",
                                               "collections.OrderedDict"}
