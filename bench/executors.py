"""Where measurements run: one after another here (``local``) or as Ray tasks on a cluster (``ray``).

Both executors take *jobs* (a picklable function, its arguments, and what it needs: a whole GPU or
one CPU) and yield ``(job, record)`` pairs as they finish. Workers only compute and return plain
records; the caller (the driver) writes them into the atomic store, so resume, record identity and
the report work the same whatever executed the job. A job that raises inside its function returns
whatever its function turns failures into (``bench.commands._bench_job.measure`` returns a ``failed`` record); a
worker process that dies (killed, out of memory, segfault) is retried ``max_retries`` times by Ray and
then becomes a ``failed`` record naming the reason.

Every record is stamped with where it ran: ``node`` (host name and, under Ray, the node id) and
``device_name`` (the GPU's name, or the CPU model), so timings of different GPU types never mix.

Ray is an optional extra (``pip install esr-bench[ray]``); ``--executor ray`` without it raises
``RuntimeError`` naming the install command (the CLI turns it into a one-line error, exit 2).
"""

from __future__ import annotations

import os
import platform
import socket
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXECUTORS = ("local", "ray")


@dataclass
class Job:
    """One unit of work: ``fn(*args, **kwargs)`` returns a record (a dict).

    ``gpu``: the job needs a whole GPU to itself (runtime measurements: no two timings share a device);
    ``label``: what progress lines and failure records call it; ``meta``: copied into a failure record.
    """

    fn: Callable[..., dict[str, Any]]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    gpu: bool = False
    label: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def device_name(device: str = "cpu") -> str:
    """Human name of ``device``: ``torch.cuda.get_device_name`` for CUDA, the CPU model otherwise."""
    if str(device).startswith("cuda"):
        try:
            import torch

            if torch.cuda.is_available():
                index = int(str(device).split(":")[1]) if ":" in str(device) else torch.cuda.current_device()
                return torch.cuda.get_device_name(index)
        except Exception:  # noqa: BLE001 - a name is informative only; the device itself is checked elsewhere
            pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def where(device: str = "cpu", node_id: str | None = None) -> dict[str, Any]:
    """The ``node`` / ``device_name`` stamp of a record measured in this process."""
    node = {"host": socket.gethostname()}
    if node_id:
        node["ray_node_id"] = node_id
    return {"node": node, "device_name": device_name(device)}


def _stamped(record: dict[str, Any], device: str, node_id: str | None = None) -> dict[str, Any]:
    if isinstance(record, dict):
        record.update(where(device, node_id))
    return record


def _failed(job: Job, message: str) -> dict[str, Any]:
    return {**job.meta, "status": "failed", "message": message, "protocol": {}}


class LocalExecutor:
    """Runs every job in this process, in order (the default executor)."""

    name = "local"

    def __init__(self, device: str = "cpu") -> None:
        self.device = device

    def map(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, dict[str, Any]]]:
        for job in jobs:
            yield job, _stamped(job.fn(*job.args, **job.kwargs), self.device)

    def close(self) -> None:
        pass


def _ray_call(fn: Callable[..., dict[str, Any]], args: tuple, kwargs: dict, device: str) -> dict[str, Any]:
    """Body of a Ray task: run the job and stamp the record with the node it ran on."""
    import ray

    return _stamped(fn(*args, **kwargs), device, ray.get_runtime_context().get_node_id())


class RayExecutor:
    """Runs jobs as Ray tasks; records come back to the driver as they finish.

    ``address``: ``None`` starts a local Ray instance (``num_cpus`` CPUs), ``"auto"`` or ``host:port``
    joins a running cluster (``ray start --head`` / ``ray start --address=...``). GPU jobs ask for
    ``num_gpus=1``; other jobs one CPU and no GPU (they may share a node). A task whose worker dies is
    retried ``max_retries`` times, then its record is ``failed`` with Ray's reason.

    Raises ``RuntimeError`` when Ray is not installed (the message names ``pip install esr-bench[ray]``).
    """

    name = "ray"

    def __init__(self, device: str = "cpu", address: str | None = None, num_cpus: int | None = None,
                 max_retries: int = 2) -> None:
        try:
            import ray
        except ImportError as exc:
            raise RuntimeError("--executor ray needs Ray: pip install 'esr-bench[ray]' (or pip install ray)") from exc
        self.device = device
        self.max_retries = max_retries
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            # workers import the same code as the driver: this checkout first, then the driver's path
            root = str(Path(__file__).resolve().parents[1])
            paths = [root, os.getcwd(), *[p for p in sys.path if p and Path(p).is_dir()]]
            env = {"env_vars": {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}}
            kwargs: dict[str, Any] = {"runtime_env": env, "log_to_driver": False, "include_dashboard": False}
            if address:
                ray.init(address=address, **kwargs)
            else:
                ray.init(num_cpus=num_cpus, **kwargs)
            self._started = True
        self._remote = ray.remote(_ray_call)

    def map(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, dict[str, Any]]]:
        ray = self._ray
        pending: dict[Any, Job] = {}
        for job in jobs:
            opts = {"num_gpus": 1, "num_cpus": 1} if job.gpu else {"num_cpus": 1}
            ref = self._remote.options(max_retries=self.max_retries, retry_exceptions=False, **opts).remote(
                job.fn, job.args, job.kwargs, self.device)
            pending[ref] = job
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            job = pending.pop(ref)
            try:
                record = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - worker died after every retry: a failed record, not a crash
                reason = type(exc).__name__
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                record = _failed(job, f"worker failed after {self.max_retries} retr"
                                      f"{'y' if self.max_retries == 1 else 'ies'}: {reason}: {detail}"[:500])
                record.update(where(self.device))
            yield job, record

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False


def make_executor(name: str, device: str = "cpu", address: str | None = None,
                  num_cpus: int | None = None) -> LocalExecutor | RayExecutor:
    """``local`` or ``ray`` (see :class:`RayExecutor`); anything else raises ``ValueError``."""
    if name == "local":
        if address:
            raise ValueError("--address is only meaningful with --executor ray")
        return LocalExecutor(device)
    if name == "ray":
        return RayExecutor(device, address=address, num_cpus=num_cpus)
    raise ValueError(f"unknown executor {name!r}; choose one of: {', '.join(EXECUTORS)}")

