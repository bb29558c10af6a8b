"""The CLI layer: sub-commands of ``esr-bench``, one module each, exposing ``register(subparsers)``.

Modules whose name starts with ``_`` are not commands but helpers of the commands (``_bench_job``: the
job behind ``esr-bench bench``). Only this package, ``bench/cli.py`` and ``bench/__main__.py`` may import
``reports`` and ``challenge`` (tests/test_layering.py).
"""
