"""`challenge import`: official test_demo.py branches -> manifest entries, read statically, never run."""

from __future__ import annotations

import pytest

from bench.cli import main
from challenge.importer import ImportError_, import_test_demo
from challenge.manifest import load_manifest

from .challenge_fixtures import DEMO_2024, DEMO_2025


def _import(tmp_path, src, capsys):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "test_demo.py").write_text(src)
    assert main(["challenge", "import", str(repo), "-o", str(repo / "submission.toml")]) == 0
    assert "TODO(s) to check" in capsys.readouterr().err
    text = (repo / "submission.toml").read_text()
    return load_manifest(repo), text, repo


def test_2025_branches_round_trip(tmp_path, capsys):
    m, text, repo = _import(tmp_path, DEMO_2025, capsys)
    assert m.year == 2025
    t = {e.team_id: e for e in m.teams}
    assert sorted(t) == ["00", "07", "12", "20", "21"]  # branches 1 (`pass`) and 22 are commented out
    assert "model_id == 1` (test_demo.py:14)" in text and "TODO test_demo.py:15: the branch is empty (pass)" in text
    base = t["00"]
    assert (base.name, base.class_name, base.data_range, base.key, base.strict) == (
        "Base_baseline", "BaseNet", 1.0, None, True)
    assert base.model_file == repo.resolve() / "models/team00_Base.py"
    assert base.checkpoint == repo.resolve() / "model_zoo/team00_base.pth"
    rep = t["07"]
    assert rep.kwargs == {"fea_ch": 32, "mode": "deploy", "mean": [0.4, 0.5, 0.6], "extra": None}
    assert rep.key == "params" and rep.post_load == [{"call_each": "switch_deploy"}]
    span = t["12"]
    assert (span.class_name, span.args, span.kwargs) == ("SpanLite", [3, 3], {"upscale": 4, "feature_channels": 28})
    assert span.model_file.name == "team12_Span.py" and span.key == "params_ema" and span.strict is False
    assert span.checkpoint.name == "team12_span.pth"
    assert t["20"].post_load == [{"load": "load_weights"}] and t["20"].checkpoint.name == "team20_mamba.pth"
    pkg = t["21"]
    assert pkg.model_file == repo.resolve() / "models/team21_Pkg/arch.py" and pkg.data_range == 255.0
    assert pkg.key == "params" and pkg.strict is True and pkg.post_load == [{"call": "repa"}]
    assert pkg.checkpoint.name == "team21_pkg.pt"
    assert "model = model.cuda(...) dropped" in text
    # what cannot be translated is a TODO naming the line, never guessed: the entry is commented out
    assert "TODO test_demo.py:52: cannot evaluate build_config(): model = OddNet(cfg=build_config())" in text
    assert "TODO test_demo.py:55: method call with arguments: model.set_mode('fast')" in text
    assert '# post_load = [{ call = "half" }]' in text  # model.half() is kept: it changes the numbers


def test_2024_tile_forward_and_branch_logic(tmp_path, capsys):
    m, text, _ = _import(tmp_path, DEMO_2024, capsys)
    assert m.year == 2024
    t = {e.team_id: e for e in m.teams}
    win = t["18"]
    assert win.kwargs == {"depths": [6, 4], "head_dim": None, "img_range": 1.0, "window_size": 16}
    assert win.tile == 256 and win.tile_overlap == 32 and win.key == "params_ema"
    craft = t["34"]
    assert (craft.forward, craft.pad_multiple, craft.pad_mode) == ("pad-crop", 16, "reflect")
    assert "forward from forward_team34()" in text
    assert craft.key is None  # chosen by an if/else at run time: a TODO, not a guess
    assert "TODO test_demo.py:37: not translated: if 'params_ema' in loadnet:" in text
    assert "TODO test_demo.py:41: cannot evaluate keyname: model.load_state_dict(loadnet[keyname]" in text
    dp = t["25"]  # a DataParallel prefix stripped by a loop
    assert (dp.strip_prefix, dp.key, dp.strict, dp.checkpoint.name) == ("module.", None, True, "team25_dp.pth")
    assert "TODO test_demo.py:2" not in text


def test_import_refuses_other_files(tmp_path, capsys):
    (tmp_path / "test_demo.py").write_text("print('hello')\n")
    with pytest.raises(ImportError_, match="no select_model"):
        import_test_demo(tmp_path)
    assert main(["challenge", "import", str(tmp_path / "nowhere")]) == 2
    assert "cannot import" in capsys.readouterr().err
