"""Property-based fuzzing of untrusted input (issue 12): the image reader and the manifest parser either
return a valid value or raise the project's :class:`bench.errors.UserError`, never another exception.

Bounded for CI (derandomized, a few hundred examples in all, well under 60 s).
"""

from __future__ import annotations

import atexit
import io
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bench.data import ImageConversionWarning, read_image, resolve_dataset
from bench.errors import UserError
from challenge.manifest import Manifest, load_manifest

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_WORK = Path(tempfile.mkdtemp(prefix="esr-fuzz-"))
atexit.register(shutil.rmtree, _WORK, True)
_SUFFIXES = (".png", ".jpg", ".bmp", ".tif", ".webp", ".ppm", ".pgm")


def _check_image(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImageConversionWarning)
        try:
            arr = read_image(path)
        except UserError:
            pass
        else:
            assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3 and min(arr.shape[:2]) >= 1
        # the up-front dataset check (header probe) must hold the same line
        folder = _WORK / "ds"
        for old in folder.glob("*"):
            old.unlink()
        folder.mkdir(exist_ok=True)
        (folder / f"im{path.suffix}").write_bytes(path.read_bytes())
        try:
            resolve_dataset(folder).pairs(2)
        except UserError:
            pass


@FUZZ
@given(data=st.binary(max_size=2048), suffix=st.sampled_from(_SUFFIXES))
def test_random_bytes(data: bytes, suffix: str) -> None:
    p = _WORK / f"rand{suffix}"
    p.write_bytes(data)
    _check_image(p)


_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "I;16", "I", "F", "CMYK", "YCbCr")
_FORMATS = {"PNG": ".png", "TIFF": ".tif", "BMP": ".bmp", "JPEG": ".jpg", "WEBP": ".webp", "PPM": ".ppm"}


def _encode(mode: str, h: int, w: int, fmt: str, seed: int) -> bytes | None:
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 256, (h, w, 4), dtype=np.uint8), "RGBA")
    try:
        im = base.convert(mode) if mode not in ("I;16",) else Image.fromarray(
            rng.integers(0, 65536, (h, w), dtype=np.uint16))
        buf = io.BytesIO()
        im.save(buf, format=fmt)
    except (OSError, ValueError, KeyError):
        return None  # this format cannot store this mode: nothing to fuzz
    return buf.getvalue()


@FUZZ
@given(mode=st.sampled_from(_MODES), h=st.integers(1, 24), w=st.integers(1, 24),
       fmt=st.sampled_from(sorted(_FORMATS)), seed=st.integers(0, 2**16),
       cut=st.floats(0.0, 1.0), flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=4))
def test_real_images_odd_modes_truncated_or_corrupted(mode, h, w, fmt, seed, cut, flips) -> None:
    data = _encode(mode, h, w, fmt, seed)
    if data is None:
        return
    raw = bytearray(data)
    for where, value in flips:
        raw[int(where * (len(raw) - 1))] = value
    if cut < 0.5:  # half of the examples truncated somewhere
        raw = raw[: int(len(raw) * cut * 2)]
    p = _WORK / f"img{_FORMATS[fmt]}"
    p.write_bytes(bytes(raw))
    _check_image(p)


def test_huge_header_is_a_user_error() -> None:
    """Found by this fuzzer: a PNG header claiming 60000x60000 made Pillow raise DecompressionBombError."""
    import struct
    import zlib

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b""))
    p = _WORK / "bomb.png"
    p.write_bytes(png)
    with pytest.raises(UserError, match="more pixels than Pillow's safety limit"):
        read_image(p)
    _check_image(p)


@FUZZ
@given(w=st.integers(1, 2**31 - 1), h=st.integers(1, 2**31 - 1), depth=st.sampled_from([1, 2, 4, 8, 16]),
       ctype=st.sampled_from([0, 2, 3, 4, 6]), body=st.binary(max_size=64))
def test_png_headers(w: int, h: int, depth: int, ctype: int, body: bytes) -> None:
    """Valid PNG chunk structure with arbitrary IHDR fields and IDAT payload."""
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b""))
    p = _WORK / "hdr.png"
    p.write_bytes(png)
    _check_image(p)


# ------------------------------------------------------------------------------------------ manifests

_KEYS = ["id", "name", "class", "model", "checkpoint", "kwargs", "key", "strip_prefix", "strict", "data_range",
         "tile", "scale", "year", "team", "teams"]
_scalars = (st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True)
            | st.text(max_size=12) | st.dates())
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=6) | st.integers(), inner,
                                         max_size=5), max_leaves=12)
_docs = st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=6), _values, max_size=8) | _values


def _check_manifest(path: Path) -> None:
    try:
        m = load_manifest(path)
    except UserError:
        return
    assert isinstance(m, Manifest) and m.teams
    for t in m.teams:
        assert isinstance(t.team_id, str) and isinstance(t.scale, int) and t.data_range in (1.0, 255.0)
        assert t.tile is None or (isinstance(t.tile, int) and t.tile > 0)
    assert m.year is None or isinstance(m.year, int)


@FUZZ
@given(doc=_docs)
def test_manifest_random_yaml_structures(doc) -> None:
    p = _WORK / "m1" / "submission.yaml"
    p.parent.mkdir(exist_ok=True)
    try:
        text = yaml.safe_dump(doc)
    except yaml.YAMLError:
        return
    p.write_text(text, encoding="utf-8")
    _check_manifest(p)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v).replace("inf", "inf").replace("nan", "nan")
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


_toml_scalar = st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) \
    | st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=10)
_toml_val = st.recursive(_toml_scalar, lambda inner: st.lists(inner, max_size=3)
                         | st.dictionaries(st.sampled_from(["channels", "a", "b"]), inner, max_size=2), max_leaves=6)


@FUZZ
@given(top=st.dictionaries(st.sampled_from(_KEYS), _toml_val, max_size=6),
       teams=st.lists(st.dictionaries(st.sampled_from(_KEYS), _toml_val, max_size=9), max_size=3))
def test_manifest_random_toml(top, teams) -> None:
    lines = [f"{k} = {_toml_value(v)}" for k, v in top.items() if k not in ("team", "teams")]
    for t in teams:
        lines.append("[[team]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in t.items() if k not in ("team", "teams")]
    p = _WORK / "m2" / "submission.toml"
    p.parent.mkdir(exist_ok=True)
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _check_manifest(p)


@FUZZ
@given(data=st.binary(max_size=512), name=st.sampled_from(["submission.toml", "submission.yaml"]))
def test_manifest_random_bytes(data: bytes, name: str) -> None:
    p = _WORK / "m3" / name
    p.parent.mkdir(exist_ok=True)
    for old in p.parent.glob("submission.*"):
        old.unlink()
    p.write_bytes(data)
    _check_manifest(p)
