"""Sub-commands of ``esr-bench``: one module each, exposing ``register(subparsers)``."""
