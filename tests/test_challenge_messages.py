"""Messages that used to mislead: each says what happened and what to do (no child process needed)."""

from __future__ import annotations

from challenge.manifest import load_manifest
from challenge.sandbox import ChildResult
from challenge.validate import ValidationReport, child_findings, format_report, static_checks

from .challenge_fixtures import TINY, _tiny_state, team_toml, write_team


def _entry(tmp_path, source):
    write_team(tmp_path, "07", "X", source, "TinySR", _tiny_state())
    (tmp_path / "submission.toml").write_text(team_toml("07", "X", "TinySR"))
    return load_manifest(tmp_path).teams[0]


def test_cuda_only_packages_and_official_requirements(tmp_path):
    e = _entry(tmp_path, "import matplotlib\nimport mamba_ssm\n" + TINY)
    fs = {f.code: f for f in static_checks(e)}
    assert "extra-dependency" not in fs  # matplotlib is in the official requirements
    msg = fs["missing-dependency"].message
    assert "'mamba_ssm'" in msg and "CUDA toolkit" in msg and "pip install" not in msg


def test_exit_code_zero_is_not_a_crash_code(tmp_path):
    child = ChildResult("crashed", 0, "forward", 1.0, None, "", {"timeout_s": 60, "memory_mb": 1024})
    (f,) = child_findings(child)
    assert "exited with code 0" in f.message and "os._exit" in f.message and "crashed (exit code 0)" not in f.message


def test_report_head_says_child_finished_not_ok(tmp_path):
    rep = ValidationReport(team="07_X", entry=_entry(tmp_path, TINY), child_status="ok", isolation="bubblewrap")
    rep.findings = child_findings(ChildResult("ok", 0, "done", 1.0, {"findings": [
        {"code": "forward-error", "severity": "error", "message": "boom"}]}, "", {}))
    head = format_report(rep).splitlines()[0]
    assert head.startswith("FAIL 07_X (child finished,") and "isolation: bubblewrap" in head


def test_allow_pickle_static_finding_is_not_called_refused(tmp_path):
    from .challenge_fixtures import Evil

    write_team(tmp_path, "07", "X", TINY, "TinySR", {"meta": Evil(tmp_path / "m"), **_tiny_state()})
    (tmp_path / "submission.toml").write_text(team_toml("07", "X", "TinySR"))
    e = load_manifest(tmp_path).teams[0]
    (allowed,) = [f for f in static_checks(e, allow_pickle=True) if f.code == "pickled-objects"]
    assert "refused" not in allowed.message and "weights_only=False" in allowed.message
    (refused,) = [f for f in static_checks(e) if f.code == "pickled-objects"]
    assert "refused (weights_only=True)" in refused.message and refused.severity == "error"


def test_broken_and_below_threshold_are_different_statuses(tmp_path):
    from challenge.findings import Finding
    from challenge.rank import metrics_from_record
    from challenge.runner import record_status

    rep = ValidationReport(team="07_X", entry=_entry(tmp_path, TINY))
    assert record_status(rep) == "ok"
    rep.findings = [Finding("below-threshold", "error", "valid PSNR 26.8 < 26.90")]
    assert record_status(rep) == "below-threshold"
    rep.findings.append(Finding("forward-error", "error", "boom"))
    assert record_status(rep) == "broken"
    # rank re-checks thresholds under its own year: a below-threshold record enters as measured
    m = metrics_from_record({"status": "below-threshold", "team": "07_X", "official": {"valid_ave_psnr": 26.8}})
    assert m.status == "ok" and m.valid_psnr == 26.8
