"""Typed ``--set`` model options (issue 12): values parsed against the constructor, bad keys/values refused."""

from __future__ import annotations

from typing import Literal

import pytest

import models
from bench.cli import main as cli_main
from bench.errors import UserError
from bench.options import model_options, parse_bool, parse_model_options
from models import create_model
from models.registry import ModelSpec


@pytest.mark.parametrize("text", ["no", "false", "0", "NO", "False", "off"])
def test_false_words_give_false_and_reach_the_model(text: str) -> None:
    opts = parse_model_options("agdn-s", [f"tlc={text}"])
    assert opts == {"tlc": False} and opts["tlc"] is False
    assert create_model("agdn-s", 4, **opts).tlc is False  # every SGSA attention block really off


@pytest.mark.parametrize("text", ["yes", "true", "1", "TRUE", "on"])
def test_true_words_give_true(text: str) -> None:
    assert parse_model_options("agdn", [f"tlc={text}"]) == {"tlc": True}
    assert parse_bool(text) is True


def test_ints_floats_tuples_from_the_signature() -> None:
    opts = parse_model_options("agdn", ["num_block=4", "num_feat=24", "rgb_mean=0.5,0.25,0.125"])
    assert opts == {"num_block": 4, "num_feat": 24, "rgb_mean": (0.5, 0.25, 0.125)}
    assert type(opts["num_block"]) is int
    net = create_model("agdn", 4, **opts)
    assert net.num_block == 4 and net.mean.flatten().tolist() == [0.5, 0.25, 0.125]
    # rlfn's mid_channels is `int | None`
    assert parse_model_options("rlfn-ntire22", ["mid_channels=none"]) == {"mid_channels": None}
    assert parse_model_options("rlfn-ntire22", ["mid_channels=32"]) == {"mid_channels": 32}


def test_registry_values_are_the_defaults_and_types_are_listed() -> None:
    opts = model_options("agdn-s")
    assert opts["num_feat"].default == 24 and opts["tlc_kernel"].default == 96  # registry, not the class default
    assert opts["tlc"].type is bool and opts["num_block"].type is int
    assert "scale" not in opts  # has its own flag


@pytest.mark.parametrize("item, expected", [
    ("tcl=no", "model 'agdn' has no option 'tcl'; accepted: channel_attn (str"),
    ("tlc=maybe", "tlc is bool: yes|no|true|false|1|0; expected one of yes|true|on|1 or no|false|off|0, got 'maybe'"),
    ("num_block=4.5", "num_block is int; expected an integer, got '4.5'"),
    ("rgb_mean=0.5,0.5", "expected 3 comma-separated values"),
    ("tlc", "--set expects KEY=VALUE, got 'tlc'"),
])
def test_unknown_keys_and_bad_values_are_user_errors(item: str, expected: str) -> None:
    with pytest.raises(UserError) as info:
        parse_model_options("agdn", [item])
    assert expected in str(info.value)
    if "has no option" in expected:  # the message names every accepted key with its type
        for key in ("tlc (bool", "num_block (int", "tlc_kernel (int, default 48)", "sgsa (bool"):
            assert key in str(info.value)


def test_duplicate_key_refused() -> None:
    with pytest.raises(UserError, match="tlc given twice"):
        parse_model_options("agdn", ["tlc=no", "tlc=yes"])


class _Toy:
    def __init__(self, scale: int, mode: Literal["fast", "exact"] = "exact", gain: float = 1.0) -> None:
        pass


def _build_toy(scale: int, **kwargs) -> _Toy:
    return _Toy(scale, **kwargs)


def test_literal_choices_from_the_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = ModelSpec(name="toy", family="Toy", builder=_build_toy, scales=(4,))
    monkeypatch.setattr(models, "get_spec", lambda name: spec)
    assert parse_model_options("toy", ["mode=fast", "gain=2.5e-1"]) == {"mode": "fast", "gain": 0.25}
    with pytest.raises(UserError, match=r"mode is one of fast\|exact; expected one of fast\|exact, got 'slow'"):
        parse_model_options("toy", ["mode=slow"])


def test_eval_cli_passes_typed_options(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """`eval --set tlc=no` reaches evaluate as False (it used to be the truthy string 'no')."""
    import bench.quality

    seen = {}

    def fake_evaluate(model, scale, dataset, **kw):
        seen.update(kw)
        return bench.quality.QualityRecord(model=model, scale=scale, dataset="x", dataset_path="x",
                                           protocol={"name": "paper", "channel": "Y", "border": 4,
                                                     "lr_source": "bicubic"}, status="failed", message="stop")

    monkeypatch.setattr(bench.quality, "evaluate", fake_evaluate)
    assert cli_main(["eval", "agdn-s", "--dataset", "samples", "--set", "tlc=no", "--no-progress"]) == 1
    assert seen["model_options"] == {"tlc": False}
    capsys.readouterr()
    assert cli_main(["eval", "agdn-s", "--dataset", "samples", "--set", "tlc=nope"]) == 2
    assert "tlc is bool" in capsys.readouterr().err
    # a value the constructor itself refuses (AGDN checks spatial_attn) is a user error too, before any work
    assert cli_main(["eval", "agdn-s", "--dataset", "samples", "--set", "spatial_attn=foo"]) == 2
    assert "spatial_attn must be 'mvsa' or 'none'" in capsys.readouterr().err
