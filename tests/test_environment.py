"""The test session runs on its own packages only (issue: the README's test command on a fresh machine).

``nox -s tests`` sets ``ESR_BENCH_ENV_PREFIX`` to the project environment it built. Then every tool and
library the suite uses must be imported from inside that environment: a ``pytest`` (or torch, Pillow...)
picked up from the base interpreter would pass here and fail on a fresh machine. Outside nox (a
developer running ``python -m pytest`` in their own venv) the check is skipped, loudly.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path

import pytest

PREFIX = os.environ.get("ESR_BENCH_ENV_PREFIX")
pytestmark = pytest.mark.skipif(not PREFIX, reason="not run by `nox -s tests` (ESR_BENCH_ENV_PREFIX unset)")

# everything the suite imports from outside the repository (runtime and test dependencies)
MODULES = ("pytest", "pytest_benchmark", "hypothesis", "scipy", "torch", "numpy", "PIL", "fvcore", "thop",
           "ptflops", "pandas", "matplotlib", "jinja2", "yaml", "tqdm", "skimage")


def _inside(path: str | os.PathLike[str]) -> bool:
    return Path(path).resolve().is_relative_to(Path(PREFIX).resolve())


def test_interpreter_is_the_session_environment():
    assert _inside(sys.prefix), f"python runs from {sys.prefix}, not the session environment {PREFIX}"
    assert sys.prefix != sys.base_prefix, "the tests run in the base interpreter, not a virtual environment"


@pytest.mark.parametrize("name", MODULES)
def test_module_resolves_inside_session(name):
    module = importlib.import_module(name)
    assert _inside(module.__file__), f"{name} is imported from {module.__file__}, outside {PREFIX}"


def test_base_site_packages_not_visible():
    base = [p for p in sys.path if "site-packages" in p and not _inside(p)]
    assert not base, f"site-packages outside the session environment are on sys.path: {base}"


def test_console_script_installed_in_session():
    exe = shutil.which("esr-bench", path=str(Path(PREFIX) / "bin"))
    assert exe and _inside(exe), "the esr-bench command is not installed in the session environment"
