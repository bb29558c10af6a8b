"""``esr-bench profile``: per-module / per-operator breakdown of one forward (torch.profiler)."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from bench.cli import main as cli_main
from bench.profile import MIB, format_profile, profile_forward
from models import create_model


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 5, 1)).eval()


def test_modules_and_operators_of_a_known_network() -> None:
    rec = profile_forward(_net(), 1, name="toy", input_size=(8, 12), threads=1, warmup=1, repeats=2, top=None)
    assert rec.status == "ok" and rec.model == "toy" and rec.threads == 1
    mods = {m["module"]: m for m in rec.modules}
    assert set(mods) == {"<root>", "0", "1", "2"}
    assert all(m["calls"] == 1 for m in mods.values())
    assert mods["<root>"]["share"] == pytest.approx(1.0)
    assert mods["<root>"]["time_ms"] >= mods["0"]["time_ms"] > 0
    # net memory kept by the network: its 1 x 5 x 8 x 12 float32 output, the intermediates are freed
    assert mods["<root>"]["mem_mib"] * MIB == pytest.approx(5 * 8 * 12 * 4)
    ops = {o["operator"]: o for o in rec.operators}
    assert ops["aten::conv2d"]["calls"] == 2 and ops["aten::relu"]["calls"] == 1
    assert sum(o["share"] for o in rec.operators) == pytest.approx(1.0)
    assert rec.forward_ms > 0 and rec.peak_mem_forward_mib * MIB >= 5 * 8 * 12 * 4
    text = format_profile(rec)
    assert "module (inclusive)" in text and "aten::relu" in text and "LR 8x12" in text


def test_depth_limits_module_rows_and_top_limits_operators() -> None:
    rec = profile_forward(_net(), 1, input_size=(8, 8), depth=0, top=2, warmup=0, repeats=1)
    assert [m["module"] for m in rec.modules] == ["<root>"]
    assert len(rec.operators) == 2 and "more operator rows" in rec.message


def test_fast_agdn_reports_its_blocks_as_modules() -> None:
    rec = profile_forward(create_model("agdn-s-fast", 4), 4, input_size=(24, 24), depth=1, warmup=0, repeats=1)
    names = {m["module"] for m in rec.modules}
    assert {"<root>", "B1", "B4", "B1.distill", "B1.esa", "B1.cca", "B1.ea", "upsampler"} <= names
    ref = profile_forward(create_model("agdn-s", 4), 4, input_size=(24, 24), depth=2, warmup=0, repeats=1)
    assert {"B1", "B1.esa", "B1.cca", "B1.ea"} <= {m["module"] for m in ref.modules}


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="threads"):
        profile_forward(_net(), 1, threads=0)
    with pytest.raises(ValueError, match="input size"):
        profile_forward(_net(), 1, input_size=(0, 4))


def test_cli_json_and_out(tmp_path, capsys) -> None:
    rc = cli_main(["profile", "rlfn-ntire22", "--scale", "4", "--input", "32x24", "--depth", "1", "--json",
                   "--repeats", "1", "--warmup", "0", "--out", str(tmp_path)])
    assert rc == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["kind"] == "profile" and rec["input_size"] == [32, 24] and rec["threads"] == 1
    assert any(m["module"] == "upsampler" for m in rec["modules"])
    files = list((tmp_path / "profile").glob("*.json"))
    assert [f.name for f in files] == ["rlfn-ntire22_x4_32x24_cpu_t1.json"]


@pytest.mark.parametrize(("args", "message"), [
    (["profile", "nope"], "unknown model"),
    (["profile", "agdn-s", "--input", "0x5"], "positive"),
    (["profile", "agdn-s", "--threads", "0"], "--threads"),
    (["profile", "agdn-s", "--scale", "3"], "supports scales"),
    (["profile", "rlfn-ntire22", "--input", "8x8", "--warmup", "0", "--repeats", "1"], "forward failed"),
])
def test_cli_user_errors_exit_2(args, message, capsys) -> None:
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
