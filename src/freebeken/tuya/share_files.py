"""``backup share`` on files: read a backup, write the shared copy and its report beside it,
never over an existing file. (The byte work is ``share``; this is its only I/O.)"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SafetyError, UsageError
from ..storage import atomic_write
from . import share_report
from .share import ShareResult, share_bytes

MAX_INPUT = 32 * 1024 * 1024


@dataclass
class Shared:
    result: ShareResult
    binary: Path | None  # None: not written (refused)
    report: Path | None
    text: str
    sidecar: dict[str, Any] | None = None  # the backup's label (flash id and chip)

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        facts = share_report.facts(r, self.sidecar)
        return {
            "shared": str(self.binary) if self.binary else None,
            "report": str(self.report) if self.report else None,
            "replaced": r.replaced,
            "values_searched": len(r.secrets.values),
            "unchecked": r.unchecked,
            "notes": r.notes,
            "facts": facts,
            "where_to_share": share_report.where_to_share(r, self.binary.name if self.binary else "", facts),
        }


def targets(backup: Path, macs: list[tuple[bytes, bytes]] | None = None) -> tuple[Path, Path]:
    """``X.shared.bin`` and ``X.shared.txt`` beside ``X.bin``; ``X.shared-2.bin`` ... when taken.
    A hidden MAC is hidden in the name too (freebeken names backups after the MAC)."""
    base = backup.stem
    for real, fake in macs or []:
        for sep in ("", ":", "-", "_"):
            for r, f in ((real.hex(), fake.hex()), (real.hex().upper(), fake.hex().upper())):
                pairs = range(0, 12, 2)
                base = base.replace(sep.join(r[i : i + 2] for i in pairs), sep.join(f[i : i + 2] for i in pairs))
    n = 1
    while True:
        stem = f"{base}.shared" + ("" if n == 1 else f"-{n}")
        binary, report = backup.with_name(stem + ".bin"), backup.with_name(stem + ".txt")
        if not binary.exists() and not report.exists():
            return binary, report
        n += 1


def share_file(backup: Path, *, hide_mac: bool = False, force: bool = False, drop_files: bool = False) -> Shared:
    """Write the shared copy and its report next to ``backup``. Refuses (SafetyError, nothing
    written) when something could not be checked, unless ``force``."""
    try:
        size = backup.stat().st_size
        if size > MAX_INPUT:
            raise UsageError(f"{backup} is {size // 1048576} MiB: not a Beken flash backup", hint="Give the .bin backup.")
        data = backup.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read {backup}: {e.strerror or e}", hint="Check the path.") from None
    if backup.name.endswith(".shared.bin") or ".shared-" in backup.name:
        raise UsageError(f"{backup.name} is already a shared copy", hint="Give the original backup.")
    result = share_bytes(data, backup.name, hide_mac=hide_mac, drop_files=drop_files)
    sidecar = _sidecar(backup)
    binary, report = targets(backup, result.secrets.macs)
    text = share_report.text(result, binary.name, sidecar)
    if result.unchecked and not force:
        files = any("--drop-files" in u for u in result.unchecked)
        raise SafetyError(
            "not shared: freebeken could not check all of it for secrets - " + "; ".join(result.unchecked),
            hint="Look at what it names. If you are sure nothing secret is there, run again with --force"
            + (" (or --drop-files to leave OpenBeken's file system out)" if files else "")
            + ".",
        )
    _write_new(binary, result.data)
    _write_new(report, text.encode("utf-8"))
    return Shared(result, binary, report, text, sidecar)


def _sidecar(backup: Path) -> dict[str, Any] | None:
    """freebeken's label beside a backup (flash id and chip come from there; a dump has none)."""
    try:
        meta = json.loads(backup.with_name(backup.name + ".json").read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _write_new(path: Path, data: bytes) -> None:
    try:
        atomic_write(path, data, replace=False)  # fails rather than replace a file that appeared meanwhile
    except FileExistsError:
        raise UsageError(f"{path} appeared while writing; nothing replaced", hint="Run the command again.") from None
