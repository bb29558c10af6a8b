"""The validating record reader (bench/records.py) and the report loader's identity rules (reports/loader.py)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.errors import UserError
from bench.records import RecordError, read_record, validate_record
from tests.fakes_bench import build_results, write

QUALITY = {"kind": "quality", "model": "agdn-s", "scale": 4, "dataset": "Set5", "psnr": 30.1, "ssim": 0.87,
           "n_images": 5, "per_image": [{"name": "baby", "psnr": 33.0, "ssim": 0.9}], "status": "ok",
           "message": "", "protocol": {"name": "paper"}, "env": {}}
RUNTIME = {"kind": "runtime", "model": "agdn-s", "scale": 4, "device": "cpu", "mode": "robust", "dtype": "fp32",
           "input_size": [256, 256], "warmup": 2, "repeats": 5, "median_ms": 12.5, "times_ms": [12.0, 13.0],
           "status": "ok", "protocol": {"threads": 1, "channels_last": False, "compile": False,
                                        "cudnn_benchmark": None},
           "env": {"torch": "2.13.0+cpu", "device_name": "Some CPU"}}
COMPLEXITY = {"kind": "complexity", "model": "agdn-s", "scale": 4, "params": 69272, "fvcore_flops_lr256": None,
              "uncounted": {}, "warnings": [], "status": "ok"}


@pytest.mark.parametrize("bad, field", [
    ({"psnr": "abc"}, "psnr"), ({"scale": None}, "scale"), ({"scale": True}, "scale"), ({"scale": 0}, "scale"),
    ({"model": 3}, "model"), ({"status": "great"}, "status"), ({"dataset": None}, "dataset"),
    ({"per_image": [{"name": "a", "psnr": "x"}]}, "per_image"), ({"psnr": None}, "psnr"),
    ({"protocol": "paper"}, "protocol"), ({"kind": 5}, "kind"), ({"identity": []}, "identity"),
    ({"kind": "complexity", "uncounted": {"thop": 5}}, "uncounted"), ({"kind": "complexity", "warnings": [1]}, "warn"),
    ({"kind": "complexity", "dataset": []}, "dataset"),
])
def test_wrong_types_are_record_errors(bad: dict, field: str) -> None:
    with pytest.raises(RecordError, match=field) as info:
        validate_record(QUALITY | bad, source="quality/x.json")
    assert isinstance(info.value, UserError) and "quality/x.json" in str(info.value)


def test_valid_records_pass_unchanged() -> None:
    for rec in (QUALITY, RUNTIME, COMPLEXITY, QUALITY | {"status": "no_checkpoint", "psnr": None, "ssim": None}):
        assert validate_record(dict(rec)) == rec
    with pytest.raises(RecordError, match="input_size"):
        validate_record(RUNTIME | {"input_size": [256]})
    with pytest.raises(RecordError, match="median_ms"):
        validate_record(RUNTIME | {"median_ms": float("nan")})
    with pytest.raises(RecordError, match="needs the field 'scale'"):
        validate_record({k: v for k, v in COMPLEXITY.items() if k != "scale"})
    assert validate_record({"anything": 1}, "figures") == {"anything": 1}  # not a measurement record
    with pytest.raises(RecordError, match="valid_ave_psnr"):
        validate_record({"team": "x", "metrics": {"valid_ave_psnr": "26.9"}}, "challenge")


def test_read_record_files(tmp_path: Path) -> None:
    (tmp_path / "quality").mkdir()
    p = tmp_path / "quality" / "a.json"
    p.write_text(json.dumps({k: v for k, v in QUALITY.items() if k != "kind"}))
    assert read_record(p)["psnr"] == 30.1  # the folder names the kind
    p.write_text(json.dumps(QUALITY | {"psnr": "abc"}))
    with pytest.raises(RecordError, match="psnr"):
        read_record(p)
    for raw in (b"{", b"\xff\xfe", b"[" * 100000, b"NaN"):
        p.write_bytes(raw)
        with pytest.raises(RecordError):
            read_record(p)
    with pytest.raises(RecordError, match="cannot read"):
        read_record(tmp_path / "missing.json")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
FIELDS = sorted({*QUALITY, *RUNTIME, *COMPLEXITY, "identity", "identity_hash", "variant", "options", "created"})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from([QUALITY, RUNTIME, COMPLEXITY]),
       changes=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=3),
       drop=st.sets(st.sampled_from(FIELDS), max_size=2),
       folder=st.sampled_from([None, "quality", "runtime", "complexity", "challenge", "figures"]),
       whole=st.one_of(st.none(), json_values))
def test_reader_returns_a_valid_record_or_raises_record_error(base, changes, drop, folder, whole) -> None:
    """Any decoded JSON: a valid record comes back unchanged, anything else is a RecordError; never another error."""
    obj = whole if whole is not None else {k: v for k, v in (base | changes).items() if k not in drop}
    try:
        out = validate_record(obj, folder)
    except RecordError:
        return
    assert out is obj and isinstance(out, dict)
    kind = out.get("kind") or folder
    if kind in ("quality", "runtime", "complexity"):
        assert isinstance(out["model"], str) and type(out["scale"]) is int and out["scale"] > 0
        numbers = {"quality": ("psnr", "ssim"), "runtime": ("median_ms", "repeats"), "complexity": ("params",)}
        for key in numbers[kind]:
            assert out.get(key) is None or type(out[key]) in (int, float)
        if kind == "quality" and out.get("status", "ok") == "ok":
            assert type(out["psnr"]) in (int, float)


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=64) | json_values.map(lambda v: json.dumps(v).encode()))
def test_read_record_any_bytes(tmp_path_factory, raw: bytes) -> None:
    p = tmp_path_factory.mktemp("r") / "quality" / "x.json"
    p.parent.mkdir()
    p.write_bytes(raw)
    try:
        assert isinstance(read_record(p), dict)
    except RecordError:
        pass


# ------------------------------------------------------------------------------------------ loader
def test_report_lists_wrong_typed_records_as_unreadable(tmp_path: Path, capsys) -> None:
    from bench.cli import main
    from reports.loader import load_results

    root = build_results(tmp_path / "results")
    write(root, "quality/bad_x4_B100.json", QUALITY | {"psnr": "abc"})
    write(root, "runtime/bad_x4.json", RUNTIME | {"scale": None})
    rs = load_results(root)
    assert sorted(f for f, _ in rs.errors) == ["quality/bad_x4_B100.json", "runtime/bad_x4.json"]
    assert "'psnr' must be number or null, got 'abc'" in dict(rs.errors)["quality/bad_x4_B100.json"]
    assert main(["report", str(root), "--out", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "Unreadable records" in html and "quality/bad_x4_B100.json" in html


def test_legacy_records_are_read_listed_and_re_identified(tmp_path: Path) -> None:
    from bench import identity
    from reports.loader import load_results

    root = build_results(tmp_path / "results")  # hand-written records without an identity
    write(root, "runtime/agdn-s_x4_old.json", RUNTIME)  # an older version's runtime record, every setting spelled out
    rs = load_results(root)
    legacy = {f for f, _ in rs.legacy}
    assert "quality/agdn_x4_B100.json" in legacy and "complexity/agdn_x4.json" in legacy
    assert "runtime/agdn-s_x4_old.json" not in legacy
    old = next(r for r in rs.of("runtime") if r["_file"] == "runtime/agdn-s_x4_old.json")
    expected = identity.runtime_identity("agdn-s", 4, device="cpu", warmup=2, repeats=5)
    expected["device"]["name"], expected["torch"] = "Some CPU", "2.13.0+cpu"
    assert old["_identity_source"] == "re-identified" and old["_identity"] == identity.identity_hash(expected)
    # legacy rows still fill the tables while nothing newer exists, and the report lists them
    assert rs.find("quality", "agdn", 4, "B100")["psnr"] == 27.721
    from reports import build_report

    html = build_report(root, root / "report.html").read_text()
    assert "Legacy records" in html and "quality/agdn_x4_B100.json" in html.split("Legacy records")[1]


def test_one_row_per_identity_and_superseded_records(tmp_path: Path) -> None:
    from bench import identity
    from reports.loader import load_results
    from reports.tables import quality_table, runtime_table

    root = build_results(tmp_path / "results", dataset="Set5")
    ident = {"version": 1, "kind": "quality", "model": {"model": "agdn-s", "scale": 4, "options": {}}, "x": 1}
    newer = identity.stamp(dict(QUALITY, dataset="Set5", psnr=27.5, created="2026-01-02T00:00:00Z"), ident)
    older = identity.stamp(dict(QUALITY, dataset="Set5", psnr=27.4, created="2026-01-01T00:00:00Z"), ident)
    write(root, "quality/agdn-s_x4_Set5.json", newer)  # replaces the legacy hand-written one
    write(root, "quality/copy-of-agdn-s.json", older)  # same identity, older: superseded
    variant = identity.stamp(dict(QUALITY, dataset="Set5", psnr=27.3), ident | {"model": {
        "model": "agdn-s", "scale": 4, "options": {"tlc": False}}})
    write(root, "quality/agdn-s_x4_Set5_tlc=false.json", variant)
    write(root, "runtime/agdn-s_x4.json", identity.stamp(dict(RUNTIME), {"kind": "runtime", "size": 256}))
    fast = identity.stamp(dict(RUNTIME, input_size=[64, 64], median_ms=1.0), {"kind": "runtime", "size": 64})
    write(root, "runtime/agdn-s_x4_64.json", fast)  # another identity: its own row
    rs = load_results(root)
    assert rs.superseded == [("quality/copy-of-agdn-s.json",
                              "same identity as the newer quality/agdn-s_x4_Set5.json")]
    # a legacy record (no identity) of a task that has an identified record is superseded too
    write(root, "quality/agdn-s_x4_Set5_legacy.json", QUALITY | {"dataset": "Set5", "psnr": 1.0})
    assert ("quality/agdn-s_x4_Set5_legacy.json", "legacy record superseded by quality/agdn-s_x4_Set5.json") in (
        load_results(root).superseded)
    rows = sorted((r["label"], r["psnr"]) for r in quality_table(rs).rows if r["model"] == "agdn-s")
    assert rows == [("AGDN-S", 27.5), ("AGDN-S [variant: tlc=false]", 27.3)]
    assert sorted(r["input"] for r in runtime_table(rs).rows if r["model"] == "agdn-s") == ["256x256", "64x64"]
    assert rs.find("quality", "agdn-s", 4, "Set5")["psnr"] == 27.5


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from([QUALITY, RUNTIME, COMPLEXITY]),
       changes=st.dictionaries(st.sampled_from(FIELDS + ["uncounted", "warnings", "kind"]), json_values, max_size=3))
def test_any_record_content_gives_tables_or_an_unreadable_entry(tmp_path_factory, base, changes) -> None:
    """The report never fails on a record's content: it lists it as unreadable or builds every table."""
    from reports.html import all_tables
    from reports.loader import load_results

    root = build_results(tmp_path_factory.mktemp("res"))
    write(root, f"{base['kind']}/odd.json", base | {"model": "bsrn", "scale": 2} | changes)  # a row of its own
    rs = load_results(root)
    assert len(all_tables(rs)) >= 4


def test_every_status_a_measurement_writes_is_readable_and_only_for_its_kind() -> None:
    """An fp16 runtime record the output check invalidated, and a partial complexity record, read back."""
    from bench.output_check import invalidate
    from bench.runtime import RuntimeRecord

    rec = RuntimeRecord(model="agdn-s", scale=4, device="cpu", mode="robust", dtype="fp16", input_size=(64, 64),
                        warmup=10, repeats=1, median_ms=3.0, times_ms=[3.0])
    invalidate(rec, "output is NaN")
    out = json.loads(json.dumps(asdict(rec)))  # as written to disk
    assert out["status"] == "invalid" and validate_record(out, "runtime") is out
    assert validate_record(COMPLEXITY | {"status": "partial"})["status"] == "partial"
    with pytest.raises(RecordError, match="status"):
        validate_record(QUALITY | {"status": "partial"})
    with pytest.raises(RecordError, match="status"):
        validate_record(COMPLEXITY | {"status": "no_checkpoint"})
    with pytest.raises(RecordError, match="status"):
        validate_record(RUNTIME | {"status": "no_checkpoint"})
