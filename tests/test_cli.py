"""The `esr-bench` entry point: listing, errors without tracebacks, JSON output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.cli import main


def test_models_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["agdn"]["params"] == {"2": 280530, "3": 286215, "4": 294174}
    assert rows["agdn-s"]["weights_present"] == {"4": True}
    assert rows["agdn"]["data_range"] == 1.0


def test_models_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "agdn-s" in out and "69,272" in out


def test_unknown_model_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["weights", "fetch", "no-such-model", "--base-url", "http://127.0.0.1:9"]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err


def test_console_script_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "bench", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("esr-bench ")
