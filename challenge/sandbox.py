"""Run one job (submission code, and ``--allow-pickle`` unpickling) in a sandboxed child.

Isolation (:func:`isolation_mode`, stated in every record):

* ``bubblewrap`` (Debian package ``bubblewrap``, used when ``bwrap`` works on this machine): the
  child sees the whole file system read-only except its per-team scratch folder (also its HOME and
  TMPDIR), has no network (own network namespace: loopback only), its own PID namespace (when the
  child or the sandbox dies, every process it started dies with it, however it daemonised), IPC and
  UTS namespaces, and dies with the runner (``--die-with-parent``).
* ``process-only`` (no working ``bwrap``; or forced with ``ESR_CHALLENGE_ISOLATION=process-only``):
  a plain child process. No file-system or network isolation; the process tree is still killed: the
  process group, then every process that inherited the run's token in its environment.

In both modes: its own session, resource limits (``RLIMIT_AS`` memory, ``RLIMIT_FSIZE`` 4 GiB per
file, no core dumps), a wall-clock timeout, a parent-death signal. Where a CUDA driver is present,
RLIMIT_AS would break CUDA initialisation (it reserves a huge virtual range), so the parent instead
polls the resident memory (VmRSS) of the whole process tree and kills it above the limit. A hang,
crash or out-of-memory becomes a :class:`ChildResult` with status ``timeout`` / ``crashed`` / ``oom``
and the last stage reached.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ChildResult", "run_in_sandbox", "isolation_mode", "DEFAULT_TIMEOUT_S", "DEFAULT_MEMORY_MB"]

DEFAULT_TIMEOUT_S = 300.0
DEFAULT_MEMORY_MB = 8192
MAX_FILE_BYTES = 4 << 30
REPO_ROOT = Path(__file__).resolve().parents[1]
TOKEN_VAR = "ESR_CHALLENGE_TOKEN"


@functools.lru_cache(maxsize=1)
def _bwrap_works() -> bool:
    """``bwrap`` is installed and can create the namespaces used here (not always inside containers)."""
    exe = shutil.which("bwrap")
    if not exe:
        return False
    try:
        r = subprocess.run([exe, *_bwrap_args(Path("/")), "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


def isolation_mode() -> str:
    """``"bubblewrap"`` or ``"process-only"`` (see the module docstring)."""
    if os.environ.get("ESR_CHALLENGE_ISOLATION") == "process-only":
        return "process-only"
    return "bubblewrap" if _bwrap_works() else "process-only"


def _bwrap_args(scratch: Path) -> list[str]:
    dev = ["--dev-bind", "/dev", "/dev"] if _has_nvidia() else ["--dev", "/dev"]
    args = ["--ro-bind", "/", "/", *dev, "--proc", "/proc", "--unshare-net", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--die-with-parent", "--new-session"]
    if scratch != Path("/"):
        args += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch)]
    return args


@dataclass
class ChildResult:
    """Outcome of one child: ``status`` is ok, timeout, oom or crashed."""

    status: str
    returncode: int | None
    stage: str
    wall_s: float
    result: dict[str, Any] | None = None
    stderr_tail: str = ""
    limits: dict[str, Any] = field(default_factory=dict)


def _has_nvidia() -> bool:
    """A CUDA driver is present: CUDA reserves far more address space than RLIMIT_AS allows."""
    return Path("/dev/nvidiactl").exists() or Path("/proc/driver/nvidia").exists()


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    """``pid`` and every live process below it (parent links read from ``/proc/*/stat``)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _tree_rss_mb(pid: int) -> float:
    return sum(_rss_mb(p) for p in _descendants(pid))


def _kill_token_holders(token: str) -> int:
    """SIGKILL every process whose environment carries ``token`` (escaped the process group)."""
    needle = f"{TOKEN_VAR}={token}".encode()
    killed = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                if needle in (d / "environ").read_bytes().split(b"\0"):
                    os.kill(int(d.name), signal.SIGKILL)
                    killed.append(int(d.name))
            except (OSError, ValueError):
                continue
    deadline = time.monotonic() + 5.0  # SIGKILL is asynchronous: wait until they are dead (or zombies)
    while killed and time.monotonic() < deadline:
        killed_alive = []
        for pid in killed:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state not in ("Z", "X"):
                killed_alive.append(pid)
        if not killed_alive:
            break
        time.sleep(0.02)
    return len(killed)


def _preexec(memory_mb: int | None, use_rlimit: bool):
    def fn() -> None:
        import resource

        if memory_mb and use_rlimit:
            limit = int(memory_mb) << 20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            except OSError:
                pass

    return fn


def _looks_oom(stderr: str) -> bool:
    s = stderr.lower()
    return any(t in s for t in ("memoryerror", "out of memory", "cannot allocate memory", "std::bad_alloc",
                                "defaultcpuallocator: can't allocate", "failed to allocate"))


def run_in_sandbox(job: dict[str, Any], *, timeout_s: float = DEFAULT_TIMEOUT_S,
                   memory_mb: int | None = DEFAULT_MEMORY_MB) -> ChildResult:
    """Run ``job`` through :mod:`challenge.worker` in a fresh sandboxed child; never raises for child failures.

    The job gets ``isolation`` (the mode used) added; the child's scratch folder is deleted afterwards.
    """
    iso = isolation_mode()
    job = {**job, "isolation": iso}
    with tempfile.TemporaryDirectory(prefix="esr-challenge-") as tmp:
        tmpd = Path(tmp).resolve()
        job_path, result_path, stage_path = tmpd / "job.json", tmpd / "result.json", tmpd / "stage"
        job_path.write_text(json.dumps(job))
        stage_path.write_text("start child")
        token = uuid.uuid4().hex
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
        env.setdefault("OMP_NUM_THREADS", "1")
        env.update(PYTHONDONTWRITEBYTECODE="1", HOME=str(tmpd), TMPDIR=str(tmpd), XDG_CACHE_HOME=str(tmpd / ".cache"),
                   TORCH_HOME=str(tmpd / ".torch"), MPLCONFIGDIR=str(tmpd / ".mpl"), **{TOKEN_VAR: token})
        cmd = [sys.executable, "-m", "challenge.worker", str(job_path), str(result_path), str(stage_path)]
        if iso == "bubblewrap":
            cmd = [shutil.which("bwrap") or "bwrap", *_bwrap_args(tmpd), "--", *cmd]
        use_rlimit = not _has_nvidia()
        t0 = time.perf_counter()
        timed_out = over_memory = False
        with open(tmpd / "stdout", "wb") as out, open(tmpd / "stderr", "wb") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=tmp,
                                    start_new_session=True, preexec_fn=_preexec(memory_mb, use_rlimit))
            while True:
                try:
                    proc.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    pass
                timed_out = time.perf_counter() - t0 > timeout_s
                over_memory = bool(memory_mb) and not use_rlimit and _tree_rss_mb(proc.pid) > memory_mb
                if timed_out or over_memory:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait()
                    break
        try:  # whatever the child left behind (a daemon that left the process group) goes too
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        stray = _kill_token_holders(token)
        wall = time.perf_counter() - t0
        rc = proc.returncode
        if iso == "bubblewrap" and rc is not None and rc > 128:  # bwrap reports a signal death as 128 + signal
            rc = -(rc - 128)
        stage = stage_path.read_text().strip() if stage_path.exists() else "?"
        stderr = (tmpd / "stderr").read_bytes().decode("utf-8", "replace")[-3000:]
        limits = {"timeout_s": timeout_s, "memory_mb": memory_mb,
                  "memory_method": "RLIMIT_AS" if use_rlimit else "RSS watchdog (CUDA present)",
                  "max_file_bytes": MAX_FILE_BYTES, "isolation": iso, "stray_processes_killed": stray}
        result = None
        if result_path.exists():
            try:
                result = json.loads(result_path.read_text())
            except json.JSONDecodeError:
                result = None
        if timed_out:
            return ChildResult("timeout", rc, stage, wall, result, stderr, limits)
        if over_memory:
            return ChildResult("oom", rc, stage, wall, result, stderr, limits)
        if result is not None and rc == 0:
            return ChildResult("ok", 0, stage, wall, result, stderr, limits)
        status = "oom" if _looks_oom(stderr) or rc == -signal.SIGKILL else "crashed"
        return ChildResult(status, rc, stage, wall, result, stderr, limits)
