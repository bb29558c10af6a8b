"""Output locations checked before any work, and atomic file writes that leave nothing behind.

:func:`check_output_dir` runs before a command measures anything: the folder must exist as a folder
or be creatable, accept a new file (probed by really creating one, so read-only mounts and, for a
non-root user, permissions are caught) and have room for what the command will write. A command
that fails this check has done no work; one that passes can still fail late (the disk fills up
meanwhile): :func:`atomic_write_bytes` then removes its temporary file, and the caller reports the
failure on one line after the result was printed.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from .errors import UserError
from .records import atomic_write_bytes

__all__ = ["OutputError", "check_output_dir", "atomic_write_bytes", "describe_write_error", "RECORD_BYTES"]

RECORD_BYTES = 64 * 1024  # room asked for one JSON record (a few KiB; long per-image lists up to tens)


class OutputError(UserError, OSError):
    """An output location that cannot be written (not a folder, read-only, full)."""


def describe_write_error(exc: OSError) -> str:
    """A short reason for a failed write: ``no space left on device`` for ENOSPC, else the OS message."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on device"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or str(exc)


def _existing_ancestor(path: Path) -> Path:
    p = path
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    return p


def check_output_dir(path: str | Path, flag: str = "--out", need_bytes: int = RECORD_BYTES) -> Path:
    """Check that ``path`` is (or can become) a writable folder with ``need_bytes`` free; return it.

    Nothing is left behind: folders created for the probe are removed again (the writer creates
    them when it writes). Raises :class:`OutputError` (a :class:`UserError`) naming the folder and the
    reason: a file in the way, a read-only or unwritable folder, or less free space than needed.
    """
    path = Path(path).expanduser()
    base = _existing_ancestor(path)
    if not base.is_dir():
        raise OutputError(f"{flag} {path}: {base} is a file, not a folder; choose another output folder")
    created: list[Path] = []
    try:
        missing = []
        p = path
        while p != base:
            missing.append(p)
            p = p.parent
        for p in reversed(missing):
            p.mkdir()
            created.append(p)
        fd, probe = tempfile.mkstemp(prefix=".esr-bench-probe.", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{flag} {path}: cannot write there ({describe_write_error(exc)}); "
                          "choose a writable folder") from None
    finally:
        for p in reversed(created):
            try:
                p.rmdir()
            except OSError:
                pass
    free = shutil.disk_usage(base).free
    if free < need_bytes:
        raise OutputError(f"{flag} {path}: only {free / 1024:.0f} KiB free, {need_bytes / 1024:.0f} KiB needed for "
                          "the results; free some space or choose another folder")
    return path
