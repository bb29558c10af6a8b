"""nox sessions: ``tests`` (CI), ``bench`` (the main job), ``lint`` (ruff), ``gpu`` (CUDA smoke check),
``mutation`` (mutation testing of the numeric modules; not in the default sessions, not in CI's budget).

One project environment, ``.nox/esr-bench``, serves ``tests``, ``bench`` and ``gpu``: it is created once
with the interpreter that runs nox, *without* the system site-packages, so nothing installed by hand in
the base Python (this project's machines ship ``pytest`` there) can stand in for the project's own
packages. Every tool runs as ``<env>/bin/python -m TOOL``, never by a bare name found on ``PATH``.

PyTorch is installed into that environment before the project, chosen by ``ESR_BENCH_TORCH``:

- ``auto`` (default): ``cuda`` when ``nvidia-smi`` is on ``PATH``, else ``cpu``;
- ``cpu``: ``torch==TORCH_VERSION+cpu``: a local wheel from pip's configured ``find-links`` when there is
  one (no download), else the PyTorch CPU index as an extra index (its ``+cpu`` wheel wins over PyPI's
  CUDA build; about 200 MB to download instead of several GB);
- ``cuda``: ``torch==TORCH_VERSION`` from PyPI (the CUDA build on Linux x86_64);
- anything else: passed to ``pip install`` as is, e.g. ``ESR_BENCH_TORCH="torch==2.5.1"``.

An environment that already holds a torch is kept as it is; ``nox -s clean`` removes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

TORCH_VERSION = "2.13.0"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
ROOT = Path(__file__).resolve().parent
PYPROJECT = ROOT / "pyproject.toml"
ENV_DIR = ROOT / ".nox" / "esr-bench"


def _env_python() -> Path:
    return ENV_DIR / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _install_torch(session: nox.Session, py: str) -> None:
    """Install the torch build this machine should get (see the module docstring)."""
    choice = os.environ.get("ESR_BENCH_TORCH", "auto").strip() or "auto"
    if choice == "auto":
        choice = "cuda" if shutil.which("nvidia-smi") else "cpu"
    pip = [py, "-m", "pip", "install", "-q"]
    if choice == "cpu":
        cpu = f"torch=={TORCH_VERSION}+cpu"
        # a CPU wheel already on this machine (pip's configured find-links) needs no network at all
        local = subprocess.run([*pip, "--no-index", "--no-deps", cpu], capture_output=True).returncode == 0
        if local:
            session.log(f"PyTorch: {cpu} from a local wheel")
            session.run(*pip, cpu, external=True)  # its dependencies, torch itself is satisfied
        else:
            session.log(f"PyTorch: {cpu} from {TORCH_CPU_INDEX}")
            session.run(*pip, f"torch=={TORCH_VERSION}", "--extra-index-url", TORCH_CPU_INDEX, external=True)
        return
    args = [f"torch=={TORCH_VERSION}"] if choice == "cuda" else shlex.split(choice)
    session.log(f"PyTorch: pip install {' '.join(args)}")
    session.run(*pip, *args, external=True)


def project_env(session: nox.Session, extras: str = "test") -> str:
    """Create (once) and update the shared project environment; returns its python's path."""
    python = _env_python()
    if not python.is_file():
        session.log(f"creating the project environment {ENV_DIR}")
        session.run(sys.executable, "-m", "venv", str(ENV_DIR), external=True)
    py = str(python)
    if subprocess.run([py, "-c", "import torch"], capture_output=True).returncode != 0:
        _install_torch(session, py)
    # the project itself (editable) with its dependencies; skipped while pyproject.toml and the extras
    # already installed cover the request (saves ~40 s per session on a 2-core machine)
    stamp = ENV_DIR / ".esr-bench-installed.json"
    digest = hashlib.sha256(PYPROJECT.read_bytes()).hexdigest()
    try:
        done = json.loads(stamp.read_text())
    except (OSError, ValueError):
        done = {}
    wanted = set(filter(None, extras.split(",")))
    if done.get("pyproject") != digest or not wanted <= set(done.get("extras", [])):
        wanted |= set(done.get("extras", [])) if done.get("pyproject") == digest else set()
        spec = f".[{','.join(sorted(wanted))}]" if wanted else "."
        session.run(py, "-m", "pip", "install", "-q", "-e", spec, external=True)
        stamp.write_text(json.dumps({"pyproject": digest, "extras": sorted(wanted)}))
    return py


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """Run the test suite (needs the ground-truth folder: $ESR_BENCH_SHARED, default ../shared)."""
    py = project_env(session, "test")
    # tests/test_environment.py checks that every tool resolved inside this environment
    session.env["ESR_BENCH_ENV_PREFIX"] = str(ENV_DIR)
    session.run(py, "-m", "pytest", *session.posargs, external=True)


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """The main job: complexity, runtime and quality for the zoo, then the HTML report.

    Official checkpoints missing from the weights folder are fetched first (sha256-verified; a failure is
    printed in the first lines and the job goes on without them; ``--no-fetch-weights`` skips it). Pass
    arguments after ``--``: ``nox -s bench -- --models agdn-s --datasets Set5``.
    """
    py = project_env(session, "")
    args = list(session.posargs)
    if "--no-fetch-weights" not in args and "--fetch-weights" not in args:
        args.insert(0, "--fetch-weights")
    session.run(py, "-m", "bench", "bench", *args, external=True)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check over the whole repository (its own small environment)."""
    session.install("ruff>=0.4")
    session.run("python", "-m", "ruff", "check", ".")


@nox.session(python=False)
def gpu(session: nox.Session) -> None:
    """Short CUDA smoke check (< 3 minutes); prints a table, skips cleanly without CUDA."""
    py = project_env(session, "")
    session.run(py, "-m", "bench.gpu_smoke", *session.posargs, external=True)


@nox.session(python=False)
def clean(session: nox.Session) -> None:
    """Remove the shared project environment (the next session recreates it)."""
    if ENV_DIR.is_dir():
        shutil.rmtree(ENV_DIR)
        session.log(f"removed {ENV_DIR}")


@nox.session(python=False, default=False)
def mutation(session: nox.Session) -> None:
    """Mutation testing of the numeric modules with mutmut 3 (about 8 minutes on 2 cores; not part of CI).

    ``mutmut run`` mutates the modules named in ``[tool.mutmut]`` of pyproject.toml (metrics, imresize,
    data reading, input sizes, tiling, the NTIRE hook counter and the suite's own counting: the complete
    count, the op census, the cross-checks and the counter wrappers; challenge scores, rules and ranking)
    and runs the fast tests
    covering each mutant; ``mutmut results`` lists the survivors. Then tests/mutation/named_mutants.py plants the
    wrong rule data mutmut cannot generate (score weights, baselines, thresholds, ranking tracks, borders,
    the challenge worker's counts) and fails
    if one survives. A survivor that changes a number must be killed by a test or explained in
    tests/mutation/EQUIVALENT.md. Extra arguments go to ``mutmut run`` (e.g. ``--max-children 2``).
    Needs the ground-truth folder ($ESR_BENCH_SHARED).
    """
    py = project_env(session, "test,mutation")
    env = {"OMP_NUM_THREADS": "1"}
    session.run(py, "-m", "mutmut", "run", *session.posargs, env=env, external=True)
    session.run(py, "-m", "mutmut", "results", external=True)
    session.run(py, "tests/mutation/named_mutants.py", env=env, external=True)
