"""Where freebeken keeps its files, and the few ways it writes them: atomically, for this user
only, never over an existing file. Shared by every layer (backups, journals, caches, state)."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path


def data_dir() -> Path:
    """Where freebeken keeps what must survive: backups, journals of interrupted writes, conversion
    state. FREEBEKEN_HOME overrides; otherwise each system's place for a user's application data
    (Windows %LOCALAPPDATA%\\freebeken - local, not roaming: backups belong to this machine's plugs;
    macOS ~/Library/Application Support/freebeken; elsewhere $XDG_DATA_HOME or ~/.local/share)."""
    if os.environ.get("FREEBEKEN_HOME"):
        return Path(os.environ["FREEBEKEN_HOME"])
    return _system_dir(cache=False)


def cache_dir() -> Path:
    """Where downloads that can be fetched again go (firmware releases, device lists): the system's
    cache folder (Windows %LOCALAPPDATA%\\freebeken\\Cache, macOS ~/Library/Caches/freebeken,
    elsewhere $XDG_CACHE_HOME or ~/.cache), or FREEBEKEN_HOME when that is set."""
    if os.environ.get("FREEBEKEN_HOME"):
        return Path(os.environ["FREEBEKEN_HOME"])
    return _system_dir(cache=True)


def _system_dir(cache: bool) -> Path:
    home = Path(os.path.expanduser("~"))
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "freebeken"
        return base / "Cache" if cache else base
    if sys.platform == "darwin":
        return home / "Library" / ("Caches" if cache else "Application Support") / "freebeken"
    variable, default = ("XDG_CACHE_HOME", home / ".cache") if cache else ("XDG_DATA_HOME", home / ".local" / "share")
    return Path(os.environ.get(variable) or default) / "freebeken"


def atomic_write(path: Path, data: bytes, *, replace: bool = True) -> None:
    """``data`` under ``path`` whole or not at all (temp file, fsync, rename). ``replace=False``:
    never over an existing file (FileExistsError, nothing changed), through ``publish``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            publish(Path(tmp), path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def create_private(path: Path, size: int = 0) -> None:
    """Create ``path`` for this user only (0600: backups hold Wi-Fi and cloud secrets), failing
    if it exists; ``size`` bytes long (zero-filled)."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as f:
        f.truncate(size)


def publish(source: Path, target: Path) -> None:
    """Give ``source``'s finished content the name ``target`` without ever replacing a file.
    A hard link where the file system has them; elsewhere (FAT/exFAT, some network drives) an
    exclusive create and a copy, then the source goes."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise
    except OSError:
        create_private(target)
        with open(source, "rb") as src, open(target, "r+b") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
    source.unlink()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
