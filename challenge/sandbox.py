"""Run one job in a child process with a wall-clock timeout and a memory limit.

The child (``python -m challenge.worker``) gets its own session (so the whole process group can be
killed), an address-space limit through ``resource.setrlimit(RLIMIT_AS)`` and, on Linux, a parent-
death signal so that it never outlives a killed runner. Where a CUDA driver is present, RLIMIT_AS
would break CUDA initialisation (it reserves a huge virtual range), so the parent instead polls the
child's resident memory (VmRSS) and kills it above the limit. A hang, crash or out-of-memory becomes a
:class:`ChildResult` with status ``timeout`` / ``crashed`` / ``oom`` and the last stage reached.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ChildResult", "run_in_sandbox", "DEFAULT_TIMEOUT_S", "DEFAULT_MEMORY_MB"]

DEFAULT_TIMEOUT_S = 300.0
DEFAULT_MEMORY_MB = 8192
REPO_ROOT = Path(__file__).resolve().parents[1]


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


def _preexec(memory_mb: int | None, use_rlimit: bool):
    def fn() -> None:
        if memory_mb and use_rlimit:
            import resource

            limit = int(memory_mb) << 20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
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
    """Run ``job`` through :mod:`challenge.worker` in a fresh child; never raises for child failures."""
    with tempfile.TemporaryDirectory(prefix="esr-challenge-") as tmp:
        tmpd = Path(tmp)
        job_path, result_path, stage_path = tmpd / "job.json", tmpd / "result.json", tmpd / "stage"
        job_path.write_text(json.dumps(job))
        stage_path.write_text("start child")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
        env.setdefault("OMP_NUM_THREADS", "1")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        cmd = [sys.executable, "-m", "challenge.worker", str(job_path), str(result_path), str(stage_path)]
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
                over_memory = bool(memory_mb) and not use_rlimit and _rss_mb(proc.pid) > memory_mb
                if timed_out or over_memory:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait()
                    break
        wall = time.perf_counter() - t0
        stage = stage_path.read_text().strip() if stage_path.exists() else "?"
        stderr = (tmpd / "stderr").read_bytes().decode("utf-8", "replace")[-3000:]
        limits = {"timeout_s": timeout_s, "memory_mb": memory_mb,
                  "memory_method": "RLIMIT_AS" if use_rlimit else "RSS watchdog (CUDA present)"}
        result = None
        if result_path.exists():
            try:
                result = json.loads(result_path.read_text())
            except json.JSONDecodeError:
                result = None
        if timed_out:
            return ChildResult("timeout", proc.returncode, stage, wall, result, stderr, limits)
        if over_memory:
            return ChildResult("oom", proc.returncode, stage, wall, result, stderr, limits)
        if result is not None and proc.returncode == 0:
            return ChildResult("ok", 0, stage, wall, result, stderr, limits)
        status = "oom" if _looks_oom(stderr) or proc.returncode == -signal.SIGKILL else "crashed"
        return ChildResult(status, proc.returncode, stage, wall, result, stderr, limits)
