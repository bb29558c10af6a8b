"""Bring your own model: a model file + checkpoint measured by every command, plugins, one-line errors."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.cli import main

REPO = Path(__file__).resolve().parents[1]

MYNET = '''
import torch
from torch import nn


class MyNet(nn.Module):
    """conv 3->c, ReLU, conv c->3*s*s, pixel shuffle: an ESPCN-like toy for tests."""

    def __init__(self, channels: int = 8, upscale: int = 4):
        super().__init__()
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.act = nn.ReLU()
        self.tail = nn.Conv2d(channels, 3 * upscale * upscale, 3, padding=1)
        self.up = nn.PixelShuffle(upscale)
        self.base = nn.Upsample(scale_factor=upscale, mode="nearest")

    def forward(self, x):
        return self.base(x) + self.up(self.tail(self.act(self.head(x)))) * 0.1
'''

CH, SCALE = 6, 2
# conv(3->6, 3x3) + conv(6->12, 3x3), weights + biases, computed by hand
PARAMS = (3 * CH * 9 + CH) + (CH * 3 * SCALE * SCALE * 9 + 3 * SCALE * SCALE)
COUNT_FIELDS = ("params", "params_before_forward", "params_thop", "fvcore_flops_lr256", "ntire22_hook_flops_lr256",
                "torch_flops_lr256", "thop_macs_hr1280x720", "ptflops_macs_hr1280x720", "fvcore_flops_hr1280x720",
                "ntire_activations_lr256", "ntire_convs_lr256")


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(f"direct_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture()
def own(tmp_path: Path) -> dict:
    """mynet.py, a nested DataParallel-style checkpoint, the same module built directly, a 2-image dataset."""
    arch = tmp_path / "mynet.py"
    arch.write_text(MYNET)
    torch.manual_seed(1)
    direct = _import(arch).MyNet(channels=CH, upscale=SCALE).eval()
    ckpt = tmp_path / "mynet.pth"
    torch.save({"params_ema": {f"module.{k}": v for k, v in direct.state_dict().items()}}, ckpt)
    from PIL import Image

    (tmp_path / "Tiny" / "HR").mkdir(parents=True)
    yy, xx = np.mgrid[0:40, 0:48]
    for i in range(2):
        Image.fromarray((np.stack([xx * (i + 2), yy * 3, (xx + yy) * (i + 1)], -1) % 256).astype(np.uint8)).save(
            tmp_path / "Tiny" / "HR" / f"img{i}.png")
    opts = ["--set", f"channels={CH}", "--weights", str(ckpt), "--key", "params_ema", "--strip-prefix", "module."]
    return {"ref": f"{arch}:MyNet", "arch": arch, "ckpt": ckpt, "direct": direct, "data": tmp_path / "Tiny",
            "opts": opts}


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_complexity_of_own_model_equals_direct_module(own, capsys) -> None:
    from bench.complexity import measure_complexity

    assert main(["complexity", own["ref"], "--scale", str(SCALE), "--set", f"channels={CH}", "--json"]) == 0
    rec = _json(capsys)
    direct = measure_complexity(own["direct"], SCALE)
    assert rec["params"] == PARAMS == direct.params
    assert rec["ntire_convs_lr256"] == 2
    # by hand: conv MACs per LR pixel, plus fvcore's 1 per output element of upsample_nearest2d
    assert rec["fvcore_flops_lr256"] == 256 * 256 * (3 * CH * 9 + CH * 12 * 9) + (256 * SCALE) ** 2 * 3
    for f in COUNT_FIELDS:
        assert rec[f] == getattr(direct, f), f
    assert rec["model"] == "MyNet" and rec["user_model"] is True
    src = rec["model_source"]
    assert src["file_sha256"] == hashlib.sha256(own["arch"].read_bytes()).hexdigest()
    assert src["options"] == {"channels": CH, "upscale": SCALE} and src["class"] == "MyNet"


def test_eval_of_own_model_equals_direct_module(own, capsys) -> None:
    from bench.quality import evaluate

    assert main(["eval", own["ref"], "--scale", str(SCALE), "--dataset", str(own["data"]), "--json",
                 *own["opts"]]) == 0
    rec = _json(capsys)
    direct = evaluate(own["direct"], SCALE, own["data"])
    assert rec["status"] == "ok" and rec["n_images"] == 2
    assert abs(rec["psnr"] - direct.psnr) <= 1e-9 and abs(rec["ssim"] - direct.ssim) <= 1e-9
    assert 20 < rec["psnr"] < 60  # a real number: nearest upscaling plus a small learned residual
    src = rec["model_source"]
    assert src["weights_sha256"] == hashlib.sha256(own["ckpt"].read_bytes()).hexdigest()
    assert src["key"] == "params_ema" and src["strip_prefix"] == "module."


def test_eval_without_weights_refuses(own, capsys) -> None:
    assert main(["eval", own["ref"], "--scale", "2", "--set", f"channels={CH}", "--dataset", str(own["data"])]) == 2
    assert "pass --weights FILE" in capsys.readouterr().err


def test_runtime_of_own_model(own, capsys) -> None:
    assert main(["runtime", own["ref"], "--scale", str(SCALE), "--input", "16x16", "--repeats", "2", "--warmup", "0",
                 "--no-memory", "--json", *own["opts"]]) == 0
    rec = _json(capsys)
    assert rec["status"] == "ok" and rec["model"] == "MyNet" and rec["input_size"] == [16, 16]
    assert rec["repeats"] == 2 and rec["median_ms"] > 0 and rec["user_model"] is True


def test_bench_measures_own_model_next_to_the_zoo_and_remeasures_an_edited_file(own, tmp_path, capsys) -> None:
    from bench.complexity import measure_complexity
    from bench.quality import evaluate

    out = tmp_path / "results"
    argv = ["bench", "--models", "bicubic", own["ref"], *own["opts"], "--datasets", str(own["data"]),
            "--scales", str(SCALE), "--device", "cpu", "--out", str(out), "--runtime-repeats", "1",
            "--runtime-warmup", "0", "--runtime-size", "16", "16", "--no-visual", "--no-progress",
            "--plot-dataset", "Tiny", "--plot-scale", str(SCALE)]
    assert main(argv) == 0
    assert "6 measured, 0 reused, 0 failed" in capsys.readouterr().out
    c = json.loads((out / "complexity" / "MyNet_x2.json").read_text())
    q = json.loads((out / "quality" / "MyNet_x2_Tiny.json").read_text())
    r = json.loads((out / "runtime" / "MyNet_x2.json").read_text())
    direct = measure_complexity(own["direct"], SCALE)
    assert all(c[f] == getattr(direct, f) for f in COUNT_FIELDS)
    assert abs(q["psnr"] - evaluate(own["direct"], SCALE, own["data"]).psnr) <= 1e-9
    assert r["status"] == "ok"
    assert c["user_model"] and q["user_model"] and r["user_model"]
    html = (out / "report.html").read_text()
    # highlighted in the runtime and counting tables (table 5 on the page holds the paper's datasets only)
    assert html.count('user-model" data-model="MyNet"') == 2
    from reports.leaderboard import leaderboard
    from reports.loader import load_results

    assert leaderboard(load_results(out))["models"]["MyNet|2"]["user"] is True  # the leaderboard row too
    assert 'id="user-MyNet"' in html  # and its point in the PSNR-complexity figure
    assert main(argv) == 0
    assert "0 measured, 6 reused" in capsys.readouterr().out
    own["arch"].write_text(MYNET + "\n# edited\n")  # same numbers, new file: the identity changed
    assert main(argv) == 0
    assert "3 measured, 3 reused" in capsys.readouterr().out


def test_bench_own_model_without_weights_gets_no_checkpoint(own, tmp_path, capsys) -> None:
    from bench.commands._bench_job import run_bench
    from models.refs import ModelRecipe

    from .fakes_bench import FAKES

    recipe = ModelRecipe(own["ref"], options={"channels": CH})
    recipe.build(SCALE)
    run_bench(models=["MyNet"], sources={"MyNet": recipe}, scales=[SCALE], datasets=[str(own["data"])],
              device="cpu", out=tmp_path / "r", measures=FAKES, progress=False, report=False, visual=False)
    q = json.loads((tmp_path / "r" / "quality" / "MyNet_x2_Tiny.json").read_text())
    assert q["status"] == "no_checkpoint" and q.get("psnr") is None and "--weights" in q["message"]


# ------------------------------------------------------------------------------------------- errors
def _error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("esr-bench: error: ") and "Traceback" not in err
    return err


def test_wrong_class_name(own, capsys) -> None:
    err = _error(capsys, ["complexity", f"{own['arch']}:MyNett"])
    assert "has no class 'MyNett'" in err and "MyNet" in err.split(";")[1]


def test_file_that_does_not_import(tmp_path, capsys) -> None:
    (tmp_path / "broken.py").write_text("import torch\n\ndef f(:\n    pass\n")
    err = _error(capsys, ["complexity", f"{tmp_path / 'broken.py'}:Net"])
    assert "does not import (line 3): SyntaxError" in err
    (tmp_path / "missing.py").write_text("import torch\nimport no_such_package_xyz\n")
    err = _error(capsys, ["runtime", f"{tmp_path / 'missing.py'}:Net", "--scale", "4"])
    assert "does not import (line 2): ModuleNotFoundError: No module named 'no_such_package_xyz'" in err


def test_checkpoint_of_another_architecture(own, capsys, shared_weights) -> None:
    err = _error(capsys, ["eval", own["ref"], "--scale", "2", "--set", f"channels={CH}", "--dataset",
                          str(own["data"]), "--weights", str(shared_weights / "AGDN-S_ntire2024_team31.pth")])
    assert "does not fit the model (strict loading)" in err and "missing keys (4): head.weight" in err
    assert "this looks like a checkpoint of another model" in err


def test_wrong_scale_and_options(own, capsys) -> None:
    err = _error(capsys, ["complexity", own["ref"], "--set", "upscale=2", "--scale", "4"])
    assert "(x2, not x4)" in err
    err = _error(capsys, ["complexity", own["ref"], "--set", "chanels=4"])
    assert "unexpected keyword argument 'chanels'" in err and "its arguments: channels, upscale" in err


def test_submission_and_bare_checkpoint_refused(own, tmp_path, capsys) -> None:
    (tmp_path / "submission.toml").write_text('[[team]]\nid = "07"\nname = "Mine"\nclass = "MyNet"\n'
                                              'model = "mynet.py"\n')
    err = _error(capsys, ["complexity", f"{tmp_path / 'submission.toml'}#07"])
    assert "runs only in the challenge sandbox" in err and "esr-bench challenge run" in err
    err = _error(capsys, ["complexity", f"{tmp_path / 'submission.toml'}#99"])
    assert "no team ['99']" in err
    err = _error(capsys, ["complexity", str(own["ckpt"])])
    assert "bare checkpoint" in err and ":ClassName --weights" in err


def test_subprocess_error_is_one_line(own) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    p = subprocess.run([sys.executable, "-m", "bench", "complexity", f"{own['arch']}:Nope"], capture_output=True,
                       text=True, env=env, cwd=REPO, timeout=300)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == ["esr-bench: error: mynet.py has no class 'Nope'; nn.Module classes "
                                             "there: MyNet"]


# ------------------------------------------------------------------------------------------- API
def test_resolve_model_api(own) -> None:
    from models import resolve_model

    model, src = resolve_model(own["ref"], SCALE, {"channels": CH}, own["ckpt"], key="params_ema",
                               strip_prefix="module.")
    for k, v in own["direct"].state_dict().items():
        assert torch.equal(model.state_dict()[k], v)
    assert model.esr_scale == SCALE and model.data_range == 1.0 and not model.training
    assert src.identity()["file_sha256"] == hashlib.sha256(own["arch"].read_bytes()).hexdigest()


def test_class_named_like_a_zoo_model_gets_its_own_record_name(tmp_path) -> None:
    from models import resolve_model

    (tmp_path / "rlfn_mine.py").write_text(MYNET.replace("MyNet", "RLFN"))
    model, src = resolve_model(f"{tmp_path / 'rlfn_mine.py'}:RLFN", 4)
    assert src.name == "rlfn_mine.RLFN" and model.esr_spec.published_name is None


def test_zoo_name_with_own_weights(shared_weights) -> None:
    from models import create_model, resolve_model

    official = create_model("agdn-s", 4, pretrained=True)
    model, src = resolve_model("agdn-s", 4, weights=shared_weights / "AGDN-S_ntire2024_team31.pth")
    assert src.kind == "zoo" and src.name == "agdn-s" and src.weights_sha256
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in official.state_dict().items())


# ------------------------------------------------------------------------------------------- plugins
PLUGIN = '''
from torch import nn

from models import ModelSpec


class PlugNet(nn.Module):
    def __init__(self, scale=4, channels=4):
        super().__init__()
        self.conv = nn.Conv2d(3, 3 * scale * scale, 3, padding=1)
        self.up = nn.PixelShuffle(scale)

    def forward(self, x):
        return self.up(self.conv(x))


def specs():
    return [ModelSpec(name="plugnet", family="PlugNet", builder=PlugNet, scales=(2, 4), paper="plugin test")]
'''


@pytest.fixture()
def plugin(tmp_path, monkeypatch) -> Path:
    """A fake installed distribution: ``esr_plug.py`` plus ``esr_plug-0.3.dist-info`` with an entry point."""
    import models.plugins as plugins
    import models.registry as registry

    site = tmp_path / "site"
    (site / "esr_plug-0.3.dist-info").mkdir(parents=True)
    (site / "esr_plug.py").write_text(PLUGIN)
    (site / "esr_plug-0.3.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: esr-plug\nVersion: 0.3\n")
    (site / "esr_plug-0.3.dist-info" / "entry_points.txt").write_text("[esr_bench.models]\nplugnet = esr_plug:specs\n")
    monkeypatch.syspath_prepend(str(site))
    # the plugin's registration is undone after the test
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(plugins, "_REGISTRY", registry._REGISTRY)
    monkeypatch.setattr(plugins, "_ORIGINS", {})
    monkeypatch.setattr(plugins, "_LOADED", set())
    assert plugins.load_plugins() == ["plugnet"]
    return site


def test_plugin_listed_and_benched(plugin, tmp_path, capsys) -> None:
    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in _json(capsys)}
    assert rows["plugnet"]["origin"] == "esr-plug 0.3" and rows["agdn"]["origin"] == "esr-bench"
    assert rows["plugnet"]["params"] == {"2": 3 * 12 * 9 + 12, "4": 3 * 48 * 9 + 48}
    out = tmp_path / "res"
    assert main(["bench", "--models", "plugnet", "--scales", "2", "--datasets", "samples", "--out", str(out),
                 "--device", "cpu", "--no-visual", "--no-progress", "--no-report", "--runtime-repeats", "1",
                 "--runtime-warmup", "0", "--runtime-size", "16", "16"]) == 0
    c = json.loads((out / "complexity" / "plugnet_x2.json").read_text())
    assert c["status"] == "ok" and c["params"] == 3 * 12 * 9 + 12
    q = json.loads((out / "quality" / "plugnet_x2_samples.json").read_text())
    assert q["status"] == "no_checkpoint"


def test_plugin_in_a_fresh_process(plugin) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(plugin)])}
    p = subprocess.run([sys.executable, "-m", "bench", "models"], capture_output=True, text=True, env=env,
                       cwd=REPO, timeout=300)
    assert p.returncode == 0, p.stderr
    line = next(x for x in p.stdout.splitlines() if x.startswith("plugnet"))
    assert "x2,x4" in line and "336/1,344" in line and line.rstrip().endswith("esr-plug 0.3")


def test_broken_plugin_is_reported_not_fatal(plugin, capsys) -> None:
    import models.plugins as plugins

    dist = plugin / "esr_broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: esr-broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[esr_bench.models]\nbad = esr_no_such_module:specs\n")
    monkeypatch_errors = list(plugins.PLUGIN_ERRORS)
    try:
        plugins.load_plugins()
        assert main(["models"]) == 0
        err = capsys.readouterr().err
        assert "plugin bad (esr-broken 1.0, esr_no_such_module:specs): ModuleNotFoundError" in err
    finally:
        plugins.PLUGIN_ERRORS[:] = monkeypatch_errors


def test_python_module_reference(plugin) -> None:
    from models import resolve_model

    model, src = resolve_model("esr_plug:PlugNet", 2)
    assert src.kind == "module" and src.module == "esr_plug" and src.options == {"scale": 2}
    assert src.file_sha256 == hashlib.sha256((plugin / "esr_plug.py").read_bytes()).hexdigest()
    assert sum(p.numel() for p in model.parameters()) == 3 * 12 * 9 + 12


def test_figure_visual_with_own_model(own, tmp_path, capsys) -> None:
    png = tmp_path / "v.png"
    assert main(["figure", "visual", "--models", own["ref"], *own["opts"], "--dataset", str(own["data"]),
                 "--image", "img0", "--scale", str(SCALE), "--out", str(png)]) == 0
    meta = json.loads(png.with_suffix(".json").read_text())
    titles = [p["title"] for p in meta["panels"]]
    assert titles[0] == "HR" and "MyNet" in titles and png.stat().st_size > 1000 and not meta["notes"]
