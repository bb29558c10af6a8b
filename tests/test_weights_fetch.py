"""`esr-bench weights fetch` against a loopback HTTP server serving the shared weights."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.cli import main
from models import create_model, get_spec
from models.weights import fetch_weights, sha256_file


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass


@pytest.fixture()
def serve() -> Iterator:
    servers = []

    def start(directory: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def test_fetch_downloads_and_verifies(serve, shared_weights: Path, tmp_path: Path) -> None:
    url = serve(shared_weights)
    dest = tmp_path / "cache"
    assert main(["weights", "fetch", "agdn", "agdn-s", "--base-url", url, "--dest", str(dest)]) == 0
    for name in ("agdn", "agdn-s"):
        for ckpt in get_spec(name).checkpoints.values():
            assert sha256_file(dest / ckpt.file) == ckpt.sha256
    assert not list(dest.glob("*.part"))
    # the fetched files are what create_model finds
    assert create_model("agdn", 3, pretrained=True, weights_dir=dest) is not None
    # a second fetch finds everything present and downloads nothing
    results = fetch_weights(["agdn"], dest=dest, base_url=url)
    assert {r.status for r in results} == {"present"}


def test_fetch_rejects_tampered_file(serve, shared_weights: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    data = bytearray((shared_weights / "AGDN-S_ntire2024_team31.pth").read_bytes())
    data[-100] ^= 0xFF  # one flipped byte
    (mirror / "AGDN-S_ntire2024_team31.pth").write_bytes(bytes(data))
    url = serve(mirror)
    dest = tmp_path / "cache"
    results = fetch_weights(["agdn-s"], dest=dest, base_url=url)
    assert [r.status for r in results] == ["rejected"]
    assert "sha256" in results[0].message
    assert not (dest / "AGDN-S_ntire2024_team31.pth").exists()  # never lands under its final name
    assert not list(dest.glob("*.part"))  # and nothing half-written is left
    assert main(["weights", "fetch", "agdn-s", "--base-url", url, "--dest", str(dest)]) == 1


def test_fetch_replaces_corrupt_local_file(serve, shared_weights: Path, tmp_path: Path) -> None:
    dest = tmp_path / "cache"
    dest.mkdir()
    (dest / "AGDN-S_ntire2024_team31.pth").write_bytes(b"truncated")
    url = serve(shared_weights)
    results = fetch_weights(["agdn-s"], dest=dest, base_url=url)
    assert [r.status for r in results] == ["downloaded"]
    assert sha256_file(dest / "AGDN-S_ntire2024_team31.pth") == get_spec("agdn-s").checkpoint(4).sha256


def test_fetch_unreachable_server_fails_cleanly(tmp_path: Path) -> None:
    results = fetch_weights(["agdn-s"], dest=tmp_path, base_url="http://127.0.0.1:9", timeout=2)
    assert [r.status for r in results] == ["failed"]
    assert not list(tmp_path.iterdir())


def test_install_from_local_folder(shared_weights: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(shared_weights / "AGDN_x4.pth", src)
    assert main(["weights", "install", str(src), "--dest", str(tmp_path / "w")]) == 0
    assert (tmp_path / "w" / "AGDN_x4.pth").is_file()


def test_a_checkpoint_shared_by_two_zoo_entries_is_fetched_and_listed_once(
        serve, shared_weights: Path, tmp_path: Path, capsys) -> None:
    """agdn and agdn-fast load the same AGDN_x{2,3,4}.pth: one download, one line naming both."""
    served: list[str] = []

    class Counting(_QuietHandler):
        def do_GET(self) -> None:
            served.append(self.path)
            super().do_GET()

    handler = functools.partial(Counting, directory=str(shared_weights))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        dest = tmp_path / "cache"
        results = fetch_weights(["agdn", "agdn-fast"], dest=dest, base_url=url)
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(served) == ["/AGDN_x2.pth", "/AGDN_x3.pth", "/AGDN_x4.pth"]
    assert [(r.model, r.scale, r.status, r.also) for r in results] == [
        ("agdn", s, "downloaded", (f"agdn-fast x{s}",)) for s in (2, 3, 4)]
    assert main(["weights", "verify", "agdn", "agdn-fast", "--dest", str(dest)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"ok          agdn x{s} (also agdn-fast x{s}): {dest / f'AGDN_x{s}.pth'}" for s in (2, 3, 4)]
    # asked for the fast form alone, it names the file under that entry
    assert [(r.model, r.status, r.also) for r in fetch_weights(["agdn-fast"], dest=dest, base_url=url)] == [
        ("agdn-fast", "present", ())] * 3
