"""The sandbox: submission code and --allow-pickle unpickling cannot write outside the team's scratch
folder or reach the network, and every process a team starts dies with it."""

from __future__ import annotations

import socket
import threading
import uuid
from pathlib import Path

import pytest

from challenge.sandbox import isolation_mode
from challenge.validate import validate_submission

from .challenge_fixtures import HOSTILE, Evil, EvilNet, _tiny_state, team_toml, write_team

needs_bwrap = pytest.mark.skipif(isolation_mode() != "bubblewrap",
                                 reason="bubblewrap unavailable here (apt-get install bubblewrap)")


@pytest.fixture(scope="module")
def server():
    """A loopback TCP server counting the connections it accepts."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            seen.append(conn.recv(16))
            conn.close()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield srv.getsockname()[1], seen
    stop.set()
    t.join()
    srv.close()


def _alive(marker: str) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if marker.encode() in (d / "cmdline").read_bytes():
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


def _hostile(root: Path, outside: Path, port: int, marker: str) -> None:
    sd = _tiny_state()
    toml = ["year = 2024\n"]
    for tid, name, cls, kw in (("01", "Write", "WriteSR", f'{{ target = "{outside / "team_wrote"}" }}'),
                               ("02", "Net", "NetSR", f"{{ port = {port} }}"),
                               ("03", "Spawn", "SpawnSR", f'{{ marker = "{marker}" }}')):
        write_team(root, tid, name, HOSTILE, cls, sd)
        toml.append(team_toml(tid, name, cls) + f"kwargs = {kw}\n")
    write_team(root, "04", "PickleWrite", HOSTILE, "TinySR", {"meta": Evil(outside / "pickle_wrote"), **sd})
    write_team(root, "05", "PickleNet", HOSTILE, "TinySR", {"meta": EvilNet(port), **sd})
    toml += [team_toml("04", "PickleWrite", "TinySR"), team_toml("05", "PickleNet", "TinySR")]
    (root / "submission.toml").write_text("\n".join(toml))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, server):
    port, seen = server
    root, outside = tmp_path_factory.mktemp("hostile"), tmp_path_factory.mktemp("outside")
    marker = f"esr-daemon-{uuid.uuid4().hex}"
    _hostile(root, outside, port, marker)
    reps = {r.team: r for r in validate_submission(root, allow_pickle=True, timeout_s=120, memory_mb=4096, jobs=2)}
    return {"reps": reps, "outside": outside, "seen": seen, "marker": marker, "root": root, "port": port}


@needs_bwrap
def test_writes_outside_scratch_refused(hostile):
    reps, outside = hostile["reps"], hostile["outside"]
    assert not (outside / "team_wrote").exists() and not (outside / "pickle_wrote").exists()
    for team in ("01_Write", "04_PickleWrite"):
        r = reps[team]
        assert r.isolation == "bubblewrap" and not r.ok
        (f,) = [f for f in r.findings if f.code == "sandbox-blocked"]
        assert "write outside the scratch folder" in f.message and "EROFS" in f.message, f.message


@needs_bwrap
def test_network_refused(hostile):
    assert hostile["seen"] == []  # nothing reached the loopback server outside the sandbox
    for team in ("02_Net", "05_PickleNet"):
        r = hostile["reps"][team]
        (f,) = [f for f in r.findings if f.code == "sandbox-blocked"]
        assert "network access" in f.message, f.message


@needs_bwrap
def test_allow_pickle_reported_as_what_it_is(hostile):
    r = hostile["reps"]["04_PickleWrite"]
    msgs = [f.message for f in r.findings if f.code in ("pickled-objects", "pickle-allowed")]
    assert msgs and all("refused" not in m for m in msgs)
    assert any("weights_only=False" in m and "runs that code" in m and "bubblewrap" in m for m in msgs)


def test_daemon_grandchild_killed(hostile):
    r = hostile["reps"]["03_Spawn"]
    assert r.ok, [f.to_dict() for f in r.findings]  # the team itself runs fine
    assert _alive(hostile["marker"]) == []


def test_process_only_mode_is_said_and_still_kills_the_tree(tmp_path, monkeypatch, server):
    monkeypatch.setenv("ESR_CHALLENGE_ISOLATION", "process-only")
    marker = f"esr-daemon-{uuid.uuid4().hex}"
    root = tmp_path / "sub"
    write_team(root, "03", "Spawn", HOSTILE, "SpawnSR", _tiny_state())
    (root / "submission.toml").write_text(team_toml("03", "Spawn", "SpawnSR") + f'kwargs = {{ marker = "{marker}" }}\n')
    (r,) = validate_submission(root, timeout_s=120, memory_mb=4096)
    assert r.isolation == "process-only" and r.ok
    assert _alive(marker) == []
