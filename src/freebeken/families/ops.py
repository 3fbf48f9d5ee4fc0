"""Backup, flash, verify and restore for any family behind the seam, with the rules in one place:

* a backup is journaled (continues from its ``.part`` after an interruption), proven by the family's
  integrity check, and published under a name that never replaces a file;
* flashing takes only an image recognised as this chip's (bytes, not names), makes a backup first when
  there is none of this device, never replaces the device's calibration (``Region.keep``) and writes
  through a journal keyed by the device and the image, so running it again resumes;
* restore takes only a full-size backup whose content shows it is this device's (its calibration bytes,
  and its sidecar's MAC) unless told otherwise;
* a write counts as done when proven: by the chip's digest (sha256/crc32) or by reading it back.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import events
from ..errors import Interrupted, UsageError, VerifyError
from ..flasher import backup_engine as engine
from ..flasher.backup_engine import find_backups, read_sidecar
from ..flasher.journal import Journal, write_journal_path
from ..flasher.verdict import admit, judge
from ..storage import sha256
from .base import SECTOR, ChipFamily, Identity, Region, check_writable, device_identity, family_digest, holds
from .images import FamilyContent, check_image
from .intent import intent as _intent
from .intent import wait_for_backup

PIECE = 0x10000  # a write run (journaled and proven as one)


@dataclass
class FamilyResult:
    operation: str
    chip: str
    mac: str | None
    seconds: float
    written: int = 0  # sectors
    skipped: int = 0  # sectors already right
    kept: int = 0  # sectors of device data left alone (calibration)
    proven_by: str = ""
    path: str | None = None
    sha256: str | None = None
    size: int = 0
    resumed: bool = False
    backup: str | None = None
    readback_seconds: float = 0.0  # time spent proving writes by reading back (readback families)
    mismatches: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _result(op: str, ident: Identity, t0: float, **kw: Any) -> FamilyResult:
    mac = ident.mac.hex(":").upper() if ident.mac else None
    return FamilyResult(op, ident.spec.name, mac, round(time.monotonic() - t0, 2), **kw)


# ---- backup: the one engine (flasher/backup_engine.py), shown as a FamilyResult ----


def backups_of(ident: Identity, folder: Path | None = None) -> list[Path]:
    """This device's backups, wherever they were written (the same lookup as Beken's)."""
    return find_backups(ident, folder)


def default_backup_path(ident: Identity, folder: Path | None = None) -> Path:
    return engine.default_backup_path(ident, folder)


def backup(fam: ChipFamily, reporter: events.Reporter, output: Path | None = None) -> FamilyResult:
    t0 = time.monotonic()
    made = engine.back_up(fam, reporter, output)
    proof = "crc16" if made.identity.spec.integrity == "readback" else made.identity.spec.integrity  # LN882H: CRC-16/256 B
    return _result(
        "backup",
        made.identity,
        t0,
        path=str(made.path),
        sha256=made.sha256,
        size=made.size,
        resumed=made.resumed,
        proven_by=proof,
    )


# ---- writing, proven ----


def _runs(sectors: list[int]) -> list[tuple[int, int]]:
    """Contiguous runs of sectors, at most PIECE long."""
    runs: list[tuple[int, int]] = []
    for s in sorted(sectors):
        if runs and runs[-1][0] + runs[-1][1] == s and runs[-1][1] < PIECE:
            runs[-1] = (runs[-1][0], runs[-1][1] + SECTOR)
        else:
            runs.append((s, SECTOR))
    return runs


def write_proven(
    fam: ChipFamily, ident: Identity, image: bytes, sectors: list[int], journal: Journal, reporter: events.Reporter
) -> tuple[int, int, float]:
    """Write ``sectors`` of ``image`` (a full-flash view) so each is proven; returns (written, skipped,
    seconds spent reading back)."""
    integrity = ident.spec.integrity
    done = journal.done
    written = skipped = 0
    readback = 0.0
    runs = _runs(sectors)
    for start, n in runs:  # before anything is written: the rule every family shares (Region.restorable)
        check_writable(ident.spec, ident.flash_size, start, n)
    total = sum(n for _, n in runs)
    if done:
        events.info(reporter, f"Resuming: {len(done)} runs written before are checked, not trusted")
    events.phase(reporter, f"Writing {total // 1024} KiB", total)
    progress = 0
    try:
        for start, n in runs:
            want = image[start : start + n]
            # A run the journal records as done is proven like any other before it is skipped (the rule
            # Beken's write has: a journal is a hint - it may be another plug's that shares this one's
            # identity, or the flash changed since); a recorded run that is not right is written again.
            if holds(fam, start, want):
                skipped += n // SECTOR
            else:
                readback += _write_run(fam, integrity, start, want, reporter)
                written += n // SECTOR
            journal.mark_done([start])
            progress += n
            events.progress(reporter, progress, total)
    except KeyboardInterrupt:  # as on Beken: say what is kept, and how to go on
        raise Interrupted(
            f"Writing interrupted: {len(journal.done)} of {len(runs)} runs are written and proven (recorded in {journal.path})"
        ) from None
    return written, skipped, readback


def _write_run(fam: ChipFamily, integrity: str, start: int, want: bytes, reporter: events.Reporter) -> float:
    """Write one run until it is proven; returns the seconds spent reading it back."""
    readback = 0.0
    for _ in range(3):
        fam.write(start, want)
        if integrity != "readback":
            # the write compared the chip's hash of where it wrote; the final pass (_verify) asks
            # again by address, so a write sent elsewhere by a damaged command is still caught
            return readback
        t = time.monotonic()
        back = fam.read(start, len(want))
        readback += time.monotonic() - t
        if back == want:
            return readback
        events.retry(reporter, f"Read-back of 0x{start:06X} differs; writing it again")
    raise VerifyError(f"0x{start:06X}..0x{start + len(want):06X} does not read back as written")


def _kept_state(fam: ChipFamily, ident: Identity) -> list[bytes | None]:
    """What the device-unique regions hold now: their digests, or their bytes on a read-back family."""
    regions = [r for r in ident.spec.regions if r.keep]
    if ident.spec.integrity == "readback":
        return [fam.read(r.start, r.size) for r in regions]
    return [fam.digest(r.start, r.size) for r in regions]


def _keep_sectors(ident: Identity) -> set[int]:
    return {s for r in ident.spec.regions if r.keep for s in range(r.start, r.end, SECTOR)}


def flash(
    fam: ChipFamily, name: str, data: bytes, reporter: events.Reporter, *, no_backup: bool = False, path: Path | None = None
) -> FamilyResult:
    """``path``: where ``data`` came from, recorded in the write journal so `freebeken resume` can read it again."""
    t0 = time.monotonic()
    ident = device_identity(fam)
    check_image(ident.spec, name, data, ident.flash_size)  # before anything is written
    made = None
    if not no_backup and engine.newest_own_backup(ident, lambda: content_hook(fam, ident)) is None:
        events.info(reporter, "No backup of this device yet: making one first")
        waiting = wait_for_backup(ident.key, name, path, data)  # resume: the backup, then this flash
        made = backup(fam, reporter).path
        waiting.remove()
    padded = data + b"\xff" * (-len(data) % SECTOR)
    keep = _keep_sectors(ident)
    sectors = [s for s in range(0, len(padded), SECTOR) if s not in keep]
    kept = len(padded) // SECTOR - len(sectors)
    image = padded + b"\xff" * (ident.flash_size - len(padded))
    digest = sha256(padded)
    journal = Journal.load(write_journal_path(ident.key, digest))
    resumed = journal is not None
    journal = journal or Journal(write_journal_path(ident.key, digest), _intent("flash", name, path, data))
    journal.save()  # before the first write: a run cut short is known as interrupted
    kept_before = _kept_state(fam, ident)
    written, skipped, readback = write_proven(fam, ident, image, sectors, journal, reporter)
    if _kept_state(fam, ident) != kept_before:
        raise VerifyError(
            "The device's calibration changed while flashing (a write went astray)",
            hint="Restore this device's backup (`freebeken restore`), then flash again.",
        )
    mismatches = _verify(fam, ident, image, sectors) if ident.spec.integrity != "readback" else []
    if mismatches:
        raise VerifyError(f"After writing, {len(mismatches)} ranges differ: {', '.join(mismatches[:4])}")
    journal.remove()
    return _result(
        "flash",
        ident,
        t0,
        written=written,
        skipped=skipped,
        kept=kept,
        proven_by=ident.spec.integrity,
        sha256=digest,
        size=len(data),
        resumed=resumed,
        backup=made,
        readback_seconds=round(readback, 2),
    )


def _spans(sectors: list[int]) -> list[tuple[int, int]]:
    """Maximal contiguous stretches of sectors (a digest over each costs one round trip)."""
    spans: list[tuple[int, int]] = []
    for s in sorted(sectors):
        if spans and spans[-1][0] + spans[-1][1] == s:
            spans[-1] = (spans[-1][0], spans[-1][1] + SECTOR)
        else:
            spans.append((s, SECTOR))
    return spans


def _verify(fam: ChipFamily, ident: Identity, image: bytes, sectors: list[int]) -> list[str]:
    """Ranges of ``sectors`` where the chip differs from ``image``. A digest family is asked once per
    contiguous stretch, and run by run only where a stretch differs."""
    integrity = ident.spec.integrity
    if integrity != "readback":
        differing = [(a, n) for a, n in _spans(sectors) if fam.digest(a, n) != family_digest(fam, image[a : a + n])]
        sectors = [s for a, n in differing for s in range(a, a + n, SECTOR)]
    bad = []
    for start, n in _runs(sectors):
        want = image[start : start + n]
        if not holds(fam, start, want):
            bad.append(f"0x{start:06X}+0x{n:X}")
    return bad


def verify(fam: ChipFamily, name: str, data: bytes, reporter: events.Reporter) -> FamilyResult:
    """Does the chip hold ``data`` (a release image or a full backup)? Calibration is compared only for
    a full backup (a release image leaves it alone)."""
    t0 = time.monotonic()
    ident = device_identity(fam)
    full = len(data) == ident.flash_size
    if not full:
        check_image(ident.spec, name, data, ident.flash_size)
    padded = data + b"\xff" * (-len(data) % SECTOR)
    keep = set() if full else _keep_sectors(ident)
    sectors = [s for s in range(0, len(padded), SECTOR) if s not in keep]
    events.phase(reporter, f"Verifying {len(padded) // 1024} KiB ({ident.spec.integrity})")
    image = padded + b"\xff" * (ident.flash_size - len(padded))
    bad = _verify(fam, ident, image, sectors)
    result = _result("verify", ident, t0, proven_by=ident.spec.integrity, size=len(data), sha256=sha256(data), mismatches=bad)
    if bad:
        raise VerifyError(
            f"The chip differs from {name} in {len(bad)} ranges: {', '.join(bad[:4])}",
            hint="Flash or restore it again; the write resumes and rewrites only what differs.",
        )
    return result


# ---- restore ----


def content_hook(fam: ChipFamily, ident: Identity) -> FamilyContent:
    """This family's evidence for the shared restore rules: what the chip holds in its device-unique
    regions - their digests (one round trip each), or their bytes on a readback family."""
    kept: dict[Region, bytes | None] = {}
    for region in ident.spec.regions:
        if region.keep:
            kept[region] = (
                fam.read(region.start, region.size)
                if ident.spec.integrity == "readback"
                else fam.digest(region.start, region.size)
            )

    def comparable(data: bytes) -> bytes | None:
        return data if ident.spec.integrity == "readback" else family_digest(fam, data)

    return FamilyContent(ident.spec, ident.mac, kept, comparable)


def judge_backup(fam: ChipFamily, ident: Identity, path: Path, data: bytes) -> str | None:
    """Why ``data`` is not this device's backup, None when nothing says so (the shared rules of
    flasher/verdict.py: size, bytes of this family, the label, the device-unique regions)."""
    verdict = judge(data, ident.flash_size, content_hook(fam, ident), read_sidecar(path))
    return verdict.refusal or ("; ".join(verdict.other_device) or None)


def restore(fam: ChipFamily, path: Path, reporter: events.Reporter, *, other_device: bool = False) -> FamilyResult:
    t0 = time.monotonic()
    ident = device_identity(fam)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"Cannot read {path}: {e.strerror}") from e
    verdict = judge(data, ident.flash_size, content_hook(fam, ident), read_sidecar(path))
    data = admit(verdict, path.name, other_device, reporter)  # the rules and refusals every family shares
    digest = sha256(data)
    journal = Journal.load(write_journal_path(ident.key, digest))
    resumed = journal is not None
    journal = journal or Journal(write_journal_path(ident.key, digest), _intent("restore", str(path), path, data, other_device))
    journal.save()
    sectors = list(range(0, len(data), SECTOR))
    written, skipped, readback = write_proven(fam, ident, data, sectors, journal, reporter)
    bad = _verify(fam, ident, data, sectors) if ident.spec.integrity != "readback" else []
    if bad:
        raise VerifyError(f"After restoring, {len(bad)} ranges differ: {', '.join(bad[:4])}")
    journal.remove()
    return _result(
        "restore",
        ident,
        t0,
        written=written,
        skipped=skipped,
        proven_by=ident.spec.integrity,
        sha256=digest,
        size=len(data),
        resumed=resumed,
        readback_seconds=round(readback, 2),
    )
