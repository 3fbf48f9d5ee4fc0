"""What a family's write journal records about the write, so `freebeken resume` can run it again.

Write journals are keyed by the device and the image's digest (``flasher.journal.write_journal_path``);
their record holds the sectors already proven (``done``) and this intent: the operation, the file's
full path and SHA-256 (a file changed or gone since is refused, nothing written), and the options that
change what is written.

A flash that must make the device's first backup records its intent before that backup
(:func:`wait_for_backup`), so `resume` finishes an interrupted backup and then flashes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..flasher.journal import Journal
from ..storage import data_dir, sha256


def intent(op: str, name: str, path: Path | None, data: bytes, other_device: bool = False) -> dict[str, Any]:
    where = str(path.resolve()) if path is not None else None
    return {"op": op, "image": name, "path": where, "sha256": sha256(data), "other_device": other_device, "done": []}


def waiting_path(key: str) -> Path:
    return data_dir() / "journals" / f"flash-after-backup-{key}.json"


def wait_for_backup(key: str, name: str, path: Path | None, data: bytes) -> Journal:
    """Record a flash that waits for the backup about to be made (removed once that backup is done)."""
    journal = Journal(waiting_path(key), {**intent("flash", name, path, data), "waiting": True})
    journal.save()
    return journal
