"""nox sessions: ``tests`` (CI), ``bench`` (the main job), ``lint`` (ruff), ``gpu`` (CUDA smoke check),
``mutation`` (mutation testing of the numeric modules; not in the default sessions, not in CI's budget).

Virtual environments include the system site-packages so an already installed torch (e.g. the CPU
build) is reused: pip then sees ``torch`` satisfied and never downloads a CUDA build. On a machine
with no torch at all, pip installs the default wheel for that platform.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

VENV = ["--system-site-packages"]


@nox.session(venv_params=VENV)
def tests(session: nox.Session) -> None:
    """Run the test suite (needs the ground-truth folder: $ESR_BENCH_SHARED, default ../shared)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(venv_params=VENV)
def bench(session: nox.Session) -> None:
    """The main job: complexity, runtime and quality for the zoo, then the HTML report.

    Official checkpoints missing from the weights folder are fetched first (sha256-verified); pass
    arguments after ``--`` to choose models/datasets/device, e.g. ``nox -s bench -- --models agdn``.
    Without network the job still runs: models without weights get complexity and runtime, and
    their quality record says "no checkpoint".
    """
    session.install("-e", ".")
    args = session.posargs or ["--fetch-weights"]
    session.run("esr-bench", "bench", *args)


@nox.session(venv_params=VENV)
def lint(session: nox.Session) -> None:
    """ruff check over the whole repository."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session(venv_params=VENV)
def gpu(session: nox.Session) -> None:
    """Short CUDA smoke check (< 3 minutes); prints a table, skips cleanly without CUDA."""
    session.install("-e", ".")
    session.run("python", "-m", "bench.gpu_smoke", *session.posargs)


@nox.session(venv_params=VENV)
def mutation(session: nox.Session) -> None:
    """Mutation testing of the numeric modules with mutmut 3 (tens of minutes; not part of CI).

    ``mutmut run`` mutates the modules named in ``[tool.mutmut]`` of pyproject.toml (metrics, imresize,
    data reading, the NTIRE hook counter, challenge scores/rules) and runs the fast tests covering each
    mutant; ``mutmut results`` lists the survivors. Then tests/mutation/named_mutants.py plants the
    wrong rule data mutmut cannot generate (score weights, baselines, thresholds, borders) and fails
    if one survives. A survivor that changes a number must be killed by a test or explained in
    tests/mutation/EQUIVALENT.md. Extra arguments go to ``mutmut run`` (e.g. ``--max-children 2``).
    Needs the ground-truth folder ($ESR_BENCH_SHARED).
    """
    session.install("-e", ".[test,mutation]")
    session.run("mutmut", "run", *session.posargs, env={"OMP_NUM_THREADS": "1"})
    session.run("mutmut", "results")
    session.run("python", "tests/mutation/named_mutants.py", env={"OMP_NUM_THREADS": "1"})
