"""Crash-safe progress records, so an interrupted operation continues where it stopped.

A journal is a small JSON file replaced atomically (write temp, fsync, rename) after each
completed unit of work: Ctrl-C or a power loss leaves either the old or the new version, never a
half-written one. Write operations keep theirs in the user data dir, keyed by the chip and the
image; a backup keeps its journal next to its partial file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..storage import atomic_write, create_private, data_dir, publish, sha256  # noqa: F401  (re-exported)


@dataclass
class Journal:
    path: Path
    record: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Journal | None:
        try:
            return cls(path, json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (json.JSONDecodeError, OSError):
            return None  # unreadable journal: start over (the CRC plan makes that safe)

    @property
    def begun(self) -> bool:
        """A write journal whose write started (it recorded the flash outside the image); one
        that only records a flash waiting for its backup has not."""
        return "outside" in self.record

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
