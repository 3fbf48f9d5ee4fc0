"""Exclusive locks between processes: one program per chip, per backup file, per conversion.

Two programs on one port interleave the chip's replies (a 2 MiB chip was once "backed up" as
1 MiB that way). Real serial ports are opened exclusively (pyserial's ``exclusive``: flock on
POSIX; Windows opens COM ports exclusively anyway); everything else - a simulated chip's image,
a backup being written, a conversion's state - is held through a lock file here. The lock goes
with the process: a crash or kill releases it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from .errors import BusyError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


class Held:
    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the lock
            self.fd = None

    def __enter__(self) -> Held:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _lock_path(thing: str) -> Path:
    folder = Path(tempfile.gettempdir()) / "freebeken-locks"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / (hashlib.sha256(thing.encode()).hexdigest()[:24] + ".lock")


def hold(thing: str | Path, what: str) -> Held:
    """Take the lock for ``thing`` (a path or a name) at once, or raise BusyError naming ``what``."""
    key = str(Path(thing).resolve()) if isinstance(thing, Path) else thing
    fd = os.open(_lock_path(key), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        os.close(fd)
        raise BusyError(f"Another freebeken is already using {what}") from None
    return Held(fd)
