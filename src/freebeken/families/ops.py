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

import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import __version__, events
from ..errors import SafetyError, UsageError, VerifyError
from ..flasher.journal import Journal, write_journal_path
from ..storage import atomic_write, create_private, data_dir, publish, sha256
from .base import SECTOR, ChipFamily, Identity, Integrity, local_digest
from .images import check_image, image_family
from .intent import intent as _intent
from .intent import wait_for_backup

PIECE = 0x10000  # unit of backup journaling and of a write run


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


# ---- backup ----


def _index() -> Path:
    return data_dir() / "backups" / "family-backups.json"


def backups_of(ident: Identity, folder: Path | None = None) -> list[Path]:
    """This device's backups: in freebeken's folder by name, elsewhere (``-o``) through the index."""
    folder = folder or data_dir() / "backups"
    found = set(folder.glob(f"{ident.spec.name}-{ident.tag}-*.bin")) if folder.exists() else set()
    try:
        listed = json.loads(_index().read_text()).get(ident.key, [])
    except (OSError, ValueError, AttributeError):
        listed = []
    found |= {Path(p) for p in listed if Path(p).exists()}
    return sorted(found)


def _remember(ident: Identity, path: Path) -> None:
    try:
        index = json.loads(_index().read_text())
    except (OSError, ValueError):
        index = {}
    index.setdefault(ident.key, []).append(str(path.resolve()))
    atomic_write(_index(), json.dumps(index, indent=1).encode())


def default_backup_path(ident: Identity, folder: Path | None = None) -> Path:
    folder = folder or data_dir() / "backups"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"{ident.spec.name}-{ident.tag}-{stamp}.bin"
    n = 1
    while path.exists() or path.with_name(path.name + ".part").exists():
        n += 1
        path = folder / f"{ident.spec.name}-{ident.tag}-{stamp}-{n}.bin"
    return path


def backup(fam: ChipFamily, reporter: events.Reporter, output: Path | None = None) -> FamilyResult:
    t0 = time.monotonic()
    ident = fam.identify()
    size = ident.flash_size
    jpath = data_dir() / "journals" / f"backup-{ident.key}.json"
    journal = Journal.load(jpath)
    resumed = bool(journal and Path(journal.record.get("part", "")).exists() and journal.record.get("size") == size)
    if journal is None or not resumed:
        target = output or default_backup_path(ident)
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        create_private(part, size)
        journal = Journal(jpath, {"path": str(target), "part": str(part), "size": size, "done": []})
        journal.save()
    target, part = Path(journal.record["path"]), Path(journal.record["part"])
    done = journal.done
    events.phase(reporter, f"Backing up {size // 1024} KiB of {ident.spec.name} ({ident.spec.integrity}-proven)", size)
    piece = getattr(fam, "read_piece", PIECE)  # a family whose proof costs a round trip reads more at once
    with part.open("r+b") as f:
        for address in range(0, size, piece):
            if address in done:
                continue
            data = fam.read(address, min(piece, size - address))
            f.seek(address)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            journal.mark_done([address])
            events.progress(reporter, address + len(data), size)
    data = part.read_bytes()
    digest = sha256(data)
    sidecar = {
        "chip": ident.spec.name,
        "family": ident.spec.family,
        "mac": ident.mac.hex(":").upper() if ident.mac else None,
        "sha256": digest,
        "size": size,
        "freebeken": __version__,
    }
    target.with_name(target.name + ".json").write_text(json.dumps(sidecar, indent=1))
    publish(part, target)
    _remember(ident, target)
    journal.remove()
    proof = "crc16" if ident.spec.integrity == "readback" else ident.spec.integrity  # LN882H: a CRC-16 per 256 bytes
    return _result("backup", ident, t0, path=str(target), sha256=digest, size=size, resumed=resumed, proven_by=proof)


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
    total = sum(n for _, n in runs)
    events.phase(reporter, f"Writing {total // 1024} KiB", total)
    progress = 0
    for start, n in runs:
        want = image[start : start + n]
        if start in done:
            skipped += n // SECTOR
        elif _already_there(fam, integrity, start, want):
            skipped += n // SECTOR
        else:
            for _ in range(3):
                fam.write(start, want)
                if integrity != "readback":
                    # the write compared the chip's hash of where it wrote; the final pass (_verify) asks
                    # again by address, so a write sent elsewhere by a damaged command is still caught
                    break
                t = time.monotonic()
                back = fam.read(start, n)
                readback += time.monotonic() - t
                if back == want:
                    break
                events.retry(reporter, f"Read-back of 0x{start:06X} differs; writing it again")
            else:
                raise VerifyError(f"0x{start:06X}..0x{start + n:06X} does not read back as written")
            written += n // SECTOR
        journal.mark_done([start])
        progress += n
        events.progress(reporter, progress, total)
    return written, skipped, readback


def _already_there(fam: ChipFamily, integrity: Integrity, start: int, want: bytes) -> bool:
    """Does the chip hold ``want`` at ``start``? By digest; on a read-back family by its first sector
    (a run that differs there is written without reading the rest: 1/16 of a read per run), then all."""
    if integrity != "readback":
        return fam.digest(start, len(want)) == local_digest(integrity, want)
    if fam.read(start, SECTOR) != want[:SECTOR]:
        return False
    return len(want) == SECTOR or fam.read(start + SECTOR, len(want) - SECTOR) == want[SECTOR:]


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
    ident = fam.identify()
    check_image(ident.spec, name, data, ident.flash_size)  # before anything is written
    made = None
    if not no_backup and not backups_of(ident):
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
        differing = [(a, n) for a, n in _spans(sectors) if fam.digest(a, n) != local_digest(integrity, image[a : a + n])]
        sectors = [s for a, n in differing for s in range(a, a + n, SECTOR)]
    bad = []
    for start, n in _runs(sectors):
        want = image[start : start + n]
        if ident.spec.integrity == "readback":
            ok = fam.read(start, n) == want
        else:
            ok = fam.digest(start, n) == local_digest(ident.spec.integrity, want)
        if not ok:
            bad.append(f"0x{start:06X}+0x{n:X}")
    return bad


def verify(fam: ChipFamily, name: str, data: bytes, reporter: events.Reporter) -> FamilyResult:
    """Does the chip hold ``data`` (a release image or a full backup)? Calibration is compared only for
    a full backup (a release image leaves it alone)."""
    t0 = time.monotonic()
    ident = fam.identify()
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


def judge_backup(fam: ChipFamily, ident: Identity, path: Path, data: bytes) -> str | None:
    """Why ``data`` is not this device's backup, None when nothing says so. Bytes first: the
    device-unique calibration must match the chip's (when both hold any); then the sidecar's MAC."""
    for region in ident.spec.regions:
        if not region.keep:
            continue
        theirs = data[region.start : region.end]
        ours = fam.read(region.start, region.size)
        blank = b"\xff" * region.size
        if theirs != ours and theirs != blank and ours != blank:
            return f"its {region.name} (0x{region.start:X}) differs from this chip's"
    try:
        meta = json.loads(path.with_name(path.name + ".json").read_text())
    except (OSError, ValueError):
        meta = {}
    mac = meta.get("mac") if isinstance(meta, dict) else None
    if mac and ident.mac and mac.replace(":", "").upper() != ident.mac.hex().upper():
        return f"its label names MAC {mac}, this chip is {ident.mac.hex(':').upper()}"
    return None


def restore(fam: ChipFamily, path: Path, reporter: events.Reporter, *, other_device: bool = False) -> FamilyResult:
    t0 = time.monotonic()
    ident = fam.identify()
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"Cannot read {path}: {e.strerror}") from e
    if len(data) != ident.flash_size:
        raise UsageError(
            f"{path.name} holds {len(data)} bytes; a full backup of this {ident.spec.name} holds {ident.flash_size}",
            hint="Restore a backup made by `freebeken backup` of this device.",
        )
    found = image_family(data)
    if found != ident.spec.name:
        what = f"it holds an image for {found}" if found else f"its first bytes are no {ident.spec.name} layout"
        raise SafetyError(
            f"{path.name} is not a backup of an {ident.spec.name.upper()} ({what})",
            hint="Restore the backup freebeken made of this device.",
        )
    why = judge_backup(fam, ident, path, data)
    if why and not other_device:
        raise SafetyError(
            f"{path.name} is another device's backup: {why}",
            hint="Restore this device's own backup; --other-device writes it anyway (and clones that device).",
        )
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
