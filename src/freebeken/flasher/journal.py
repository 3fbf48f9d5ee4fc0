"""Crash-safe progress records, so an interrupted operation continues where it stopped.

A journal is a small JSON file replaced atomically (write temp, fsync, rename) after each
completed unit of work: Ctrl-C or a power loss leaves either the old or the new version, never a
half-written one. Write operations keep theirs in the user data dir, keyed by the chip and the
image; a backup keeps its journal next to its partial file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def data_dir() -> Path:
    """Where freebeken keeps backups and journals (FREEBEKEN_HOME overrides)."""
    if os.environ.get("FREEBEKEN_HOME"):
        return Path(os.environ["FREEBEKEN_HOME"])
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "freebeken"


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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


@dataclass
class Journal:
    path: Path
    record: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "Journal | None":
        try:
            return cls(path, json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, OSError):
            return None  # unreadable journal: start over (the CRC plan makes that safe)

    @property
    def done(self) -> set[int]:
        return set(self.record.setdefault("done", []))

    def mark_done(self, addresses: list[int]) -> None:
        done = self.record.setdefault("done", [])
        done.extend(a for a in addresses if a not in done)
        self.save()

    def save(self) -> None:
        atomic_write(self.path, json.dumps(self.record, indent=1, default=str).encode())

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class MemoryJournal(Journal):
    """A journal that is never stored: for writes whose content must not reach the disk (an
    OpenBeken configuration holds passwords). An interrupted one is simply run again."""

    def save(self) -> None:
        pass

    def remove(self) -> None:
        pass


def write_journal_path(identity: str, image_sha: str) -> Path:
    return data_dir() / "journals" / f"{identity}-{image_sha[:16]}.json"


def pending_write_journals(identity: str) -> list[Journal]:
    folder = data_dir() / "journals"
    found = [Journal.load(p) for p in sorted(folder.glob(f"{identity}-*.json"))] if folder.exists() else []
    return [j for j in found if j is not None]
