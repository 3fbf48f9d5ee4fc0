"""Back up a Beken chip's whole flash: the one backup engine (flasher/backup_engine.py) over the
Beken family (families/beken.py). Blank sectors are found by CRC (not transferred), every other
sector is read and proven against the chip's CRC, written atomically to a file that never replaces
another. An interrupted backup continues from its ``.part`` file and journal.

This module keeps the Beken API (``backup(io)``, ``BackupResult``, ``identity(info)``...) that the
front ends, `resume` and the tests use; the rules live in the engine, once for every family."""

from __future__ import annotations

from pathlib import Path

from ..families.beken import BekenFamily, beken_identity
from ..link.identify import ChipInfo
from . import backup_engine as engine
from .backup_engine import BackupResult, check_backup_target, read_sidecar
from .chipio import ChipIO
from .journal import publish  # noqa: F401  (re-exported: the tests prove publish never replaces)

#: seconds of round trip from which blank stretches are asked a 64 KiB block at a time
BLOCK_CRC_ABOVE = engine.BLOCK_CRC_ABOVE

__all__ = [
    "BackupResult",
    "backup",
    "check_backup_target",
    "default_backup_path",
    "find_backups",
    "identity",
    "pending_backup",
    "read_sidecar",
]


def identity(info: ChipInfo) -> str:
    """A stable name for one physical chip: its MAC, else a fingerprint of its own content (many
    plugs share a bootloader, so its CRC alone would mix them up)."""
    return beken_identity(info).key


def default_backup_path(info: ChipInfo, folder: Path | None = None) -> Path:
    return engine.default_backup_path(beken_identity(info), folder)


def find_backups(info: ChipInfo, folder: Path | None = None) -> list[Path]:
    """Backups labelled as this chip's (by their sidecar's identity); callers that write judge
    the content too (safely.ensure_backup)."""
    return engine.find_backups(beken_identity(info), folder)


def pending_backup(info: ChipInfo) -> Path | None:
    """Where an interrupted backup of this chip was going, if its partial file is still there."""
    return engine.pending_backup(beken_identity(info))


def backup(io: ChipIO, out: Path | None = None) -> BackupResult:
    return engine.back_up(BekenFamily(io), io.reporter, out, block_above=BLOCK_CRC_ABOVE)
