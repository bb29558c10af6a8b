"""The suite's one user-error type: bad input (path, image, option, record, device) -> message, exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """An error caused by the user's input: the CLI prints it without a traceback and exits with code 2."""
