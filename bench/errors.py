"""The project's one user-error type.

Every failure caused by what the user gave (a path, an image, a manifest, an option, a device, a
record) is raised as :class:`UserError` (or a subclass, e.g. :class:`bench.data.DatasetError`) with a
message that says what is wrong and what to do. The CLI (:func:`bench.cli.main`) prints it on one
line and exits with code 2; a traceback is shown only with ``esr-bench --debug``.
"""

from __future__ import annotations

__all__ = ["UserError", "EXIT_USER_ERROR"]

EXIT_USER_ERROR = 2  # argparse's own exit code for bad arguments


class UserError(Exception):
    """An error caused by the user's input: printed without a traceback, exit code 2."""
