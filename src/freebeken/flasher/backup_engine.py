"""The one backup engine: every family's whole-flash backup, over the seam (families/base.py).

* A family whose chip digests a range (Beken's CheckCRC, Realtek's SHA-256) is asked one digest per
  ``backup_unit`` (Beken 4 KiB, Realtek 64 KiB); a unit whose digest is that of erased flash is not
  transferred, every other one is read and proven against that digest. Behind a slow adapter blank
  stretches are asked a 64 KiB block at a time; once the line showed errors a blank run must be
  confirmed by a second digest over all of it.
* A readback family (LN882H: no digest over flash) reads everything in pieces, each proven by the
  family's per-transfer checksum.
* Progress is saved to a ``.part`` file (fsync) and a journal every BATCH sectors: an interrupted
  backup continues where it stopped; Ctrl-C keeps every sector read (Interrupted says where).
* The finished file is published under a name that never replaces one, with a sidecar naming the
  device; ``find_backups`` finds a device's backups by that sidecar, wherever ``-o`` put them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from .. import __version__, events
from ..errors import Interrupted, UsageError
from ..families.base import SECTOR, ChipFamily, Identity, blank_digest, device_identity, link_stats
from ..locks import hold
from .journal import Journal, atomic_write, create_private, data_dir, publish, sha256
from .verdict import ContentHook, judge

BATCH = 16  # sectors between journal updates
MAX_RUN = 64 * SECTOR  # blank bytes confirmed by one digest (bounds the rework if it disagrees)
BLOCK = 0x10000
BLOCK_CRC_ABOVE = 0.002  # seconds of round trip from which blank stretches are asked block-wise
PIECE = 0x10000  # a readback family's read unit, unless it says otherwise (``read_piece``)


@dataclass
class BackupResult:
    """What a backup produced, as Beken's commands report it (``as_dict`` is their JSON)."""

    path: Path
    sha256: str
    size: int
    blank_sectors: int
    read_sectors: int
    seconds: float
    baudrate: int
    retries: int
    resumed: bool
    read_seconds: float = 0.0  # spent transferring non-blank ranges (their digests excluded)

    def as_dict(self) -> dict[str, object]:
        return {**{f.name: getattr(self, f.name) for f in fields(BackupResult)}, "path": str(self.path)}


@dataclass
class Outcome(BackupResult):
    """The engine's result: with the device it is of (FamilyResult is built from it)."""

    identity: Identity = field(kw_only=True)


# ---- where backups live, and which are this device's ----


def backups_folder() -> Path:
    return data_dir() / "backups"


def _index() -> Path:
    """Backups written outside the folder (``-o``), so that they are found too."""
    return backups_folder() / "family-backups.json"


def read_sidecar(backup: Path) -> dict | None:
    """The ``.json`` label next to a backup, None when missing or unreadable."""
    try:
        meta = json.loads(backup.with_name(backup.name + ".json").read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def labelled_as(meta: dict | None, ident: Identity) -> bool:
    """Does a sidecar name this device? Its ``identity``; an older family sidecar without one by its
    chip and MAC. A label only: callers that write judge the content too."""
    if meta is None:
        return False
    if "identity" in meta:
        return meta["identity"] == ident.key
    mac = str(meta.get("mac") or "").replace(":", "").upper()
    return bool(ident.mac) and meta.get("chip") == ident.spec.name and mac == ident.tag


def find_backups(ident: Identity, folder: Path | None = None) -> list[Path]:
    """Backups labelled as this device's: in freebeken's folder (or ``folder``), and those written
    elsewhere with ``-o`` (remembered in the index). Oldest first."""
    folder = folder or backups_folder()
    candidates = set(folder.glob("*.bin")) if folder.exists() else set()
    try:
        listed = json.loads(_index().read_text()).get(ident.key, [])
    except (OSError, ValueError, AttributeError):
        listed = []
    candidates |= {Path(p) for p in listed if isinstance(p, str) and Path(p).exists()}
    return sorted(p for p in candidates if labelled_as(read_sidecar(p), ident))


def newest_own_backup(ident: Identity, hook: Callable[[], ContentHook]) -> Path | None:
    """The rule every front end of every family follows before a first flash: the newest backup
    labelled as this device's whose content the shared restore rules (flasher/verdict.py) accept as
    this device's. ``hook`` makes the family's content judge (it may ask the chip: only called when
    there are candidates)."""
    candidates = find_backups(ident)
    if not candidates:
        return None
    content = hook()
    for path in sorted(candidates, key=_age, reverse=True):  # newest first, wherever -o put it (not by name)
        try:
            data = path.read_bytes()
        except OSError:
            continue
        verdict = judge(data, ident.flash_size, content, read_sidecar(path))
        if verdict.refusal is None and not verdict.other_device and not verdict.shared:
            return path
    return None


def _age(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _remember(ident: Identity, path: Path) -> None:
    if path.resolve().parent == backups_folder().resolve():
        return  # found there by its sidecar
    try:
        index = json.loads(_index().read_text())
    except (OSError, ValueError):
        index = {}
    if not isinstance(index, dict):
        index = {}
    listed = index.setdefault(ident.key, [])
    if str(path.resolve()) not in listed:
        listed.append(str(path.resolve()))
    _index().parent.mkdir(parents=True, exist_ok=True)
    atomic_write(_index(), json.dumps(index, indent=1).encode())


def default_backup_path(ident: Identity, folder: Path | None = None) -> Path:
    folder = folder or backups_folder()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"{ident.file_stem}-{stamp}.bin"
    n = 1
    while path.exists() or path.with_name(path.name + ".part").exists():  # a second backup within a second
        n += 1
        path = folder / f"{ident.file_stem}-{stamp}-{n}.bin"
    return path


def check_backup_target(out: Path) -> None:
    """Before the chip is touched: the folder must exist and the file must not."""
    if out.exists():
        raise UsageError(f"{out} already exists; freebeken never overwrites a backup", hint="Choose another -o name.")
    if not out.parent.is_dir():
        raise UsageError(
            f"The folder {out.parent} does not exist",
            hint="Create it first, or pick another -o path (without -o, backups go to freebeken's data folder).",
        )


def journal_path(ident: Identity) -> Path:
    """One unfinished backup per chip, found by `resume` wherever its file is going."""
    return data_dir() / "journals" / f"backup-{ident.key}.json"


def pending_backup(ident: Identity) -> Path | None:
    """Where an interrupted backup of this chip was going, if its partial file is still there."""
    journal = Journal.load(journal_path(ident))
    out = Path(journal.record["out"]) if journal and journal.record.get("out") else None
    return out if out and out.with_name(out.name + ".part").exists() and not out.exists() else None


# ---- the engine ----


def back_up(
    fam: ChipFamily, reporter: events.Reporter, out: Path | None = None, *, block_above: float = BLOCK_CRC_ABOVE
) -> Outcome:
    """Back up the whole flash of ``fam`` to ``out`` (None: freebeken's folder, or where an interrupted
    backup of this chip was going). ``block_above``: the round trip (s) from which blank stretches are
    asked a 64 KiB block at a time."""
    ident = device_identity(fam)
    if out is None:
        out = pending_backup(ident) or default_backup_path(ident)
        out.parent.mkdir(parents=True, exist_ok=True)
    with hold(out, f"the backup file {out}"):  # another process may be writing the same .part
        return _back_up(fam, ident, reporter, out, block_above)


def _back_up(fam: ChipFamily, ident: Identity, reporter: events.Reporter, out: Path, block_above: float) -> Outcome:
    size = ident.flash_size
    check_backup_target(out)
    part = out.with_name(out.name + ".part")
    journal = Journal.load(journal_path(ident))
    resumed = bool(journal and journal.record.get("out") == str(out.resolve()) and part.exists())
    if not resumed:
        if journal and pending_backup(ident):
            events.warning(reporter, f"An unfinished backup to {journal.record['out']} is left as it is; starting a new one")
        journal = Journal(journal_path(ident), {"out": str(out.resolve()), "size": size, "done": []})
        part.unlink(missing_ok=True)
        create_private(part, size)
        journal.save()
    assert journal is not None
    started = time.monotonic()
    before = link_stats(fam)
    events.phase(reporter, "Backup: reading the flash", total=size)
    if resumed:
        events.info(reporter, f"Resuming the backup: {len(journal.done)} sectors already saved")
    with open(part, "r+b") as f:
        saver = _Saver(f, journal)
        reading = _Reading(fam, ident, reporter, saver, before.retries)
        try:
            if ident.spec.integrity == "readback":
                reading.read_all()
            else:
                reading.skip_blanks(block_above)
        except KeyboardInterrupt:
            saver.flush()  # every sector read so far is kept
            raise Interrupted(
                f"Backup interrupted: {len(journal.done)} of {size // SECTOR} sectors are saved in {part}"
            ) from None
        saver.flush()
    image = part.read_bytes()
    digest = sha256(image)
    elapsed = time.monotonic() - started
    after = link_stats(fam)
    outcome = Outcome(
        out,
        digest,
        len(image),
        reading.blank,
        reading.read + saver.rereads,
        elapsed,
        after.baudrate,
        after.retries - before.retries,
        resumed,
        reading.read_seconds,
        identity=ident,
    )
    sidecar: dict[str, Any] = {
        "identity": ident.key,
        "sha256": digest,
        **ident.label(),
        "tool": f"freebeken {__version__}",
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(elapsed, 2),
        "baudrate": after.baudrate,
        "blank_sectors": reading.blank,
    }
    publish(part, out)  # fails instead of replacing, should a file have appeared meanwhile
    atomic_write(out.with_name(out.name + ".json"), json.dumps(sidecar, indent=1).encode())
    _remember(ident, out)
    journal.remove()
    return outcome


class _Reading:
    """One pass over the flash; counts in sectors."""

    def __init__(self, fam: ChipFamily, ident: Identity, reporter: events.Reporter, saver: _Saver, retries: int) -> None:
        self.fam, self.size, self.reporter, self.saver = fam, ident.flash_size, reporter, saver
        self.retries_before = retries
        self.done = saver.journal.done
        self.blank = self.read = 0
        self.read_seconds = 0.0

    def _saved(self, address: int, length: int) -> bool:
        return all(a in self.done for a in range(address, address + length, SECTOR))

    def _line_clean(self) -> bool:
        return link_stats(self.fam).retries == self.retries_before

    def _fetch(self, address: int, length: int, digest: bytes | None) -> bytes:
        t = time.monotonic()
        expecting = getattr(self.fam, "read_expecting", None)
        if digest is not None and expecting is not None:
            data = expecting(address, length, digest)
        else:
            data = self.fam.read(address, length)
        self.read_seconds += time.monotonic() - t
        return data

    def read_all(self) -> None:
        """A readback family: every piece read, proven by its transfer checksums."""
        piece = int(getattr(self.fam, "read_piece", PIECE))
        for address in range(0, self.size, piece):
            n = min(piece, self.size - address)
            if not self._saved(address, n):
                self.saver.put(address, self._fetch(address, n, None))
                self.read += n // SECTOR
            events.progress(self.reporter, address + n, self.size)

    def skip_blanks(self, block_above: float) -> None:
        """A digest family: blank units found by the chip's digest and not transferred."""
        fam, size = self.fam, self.size
        unit = int(getattr(fam, "backup_unit", SECTOR))
        blank_unit = blank_digest(fam, unit)
        # Behind a slow adapter each command costs a round trip: there a blank stretch is asked a
        # whole 64 KiB block at a time. Not on a fast line, where a block that turns out not to be
        # blank wastes more chip digest time (Beken: 82 ms) than the saved round trips gain.
        round_trip = getattr(fam, "round_trip", None)
        by_block = unit < BLOCK and round_trip is not None and round_trip() >= block_above
        run: list[int] = []  # consecutive units that looked blank, confirmed together
        skip_to = 0
        for address in range(0, size, unit):
            n = min(unit, size - address)
            if address < skip_to or self._saved(address, n):
                continue
            if by_block and run and self._blank_block(address):
                if (len(run) + BLOCK // unit) * unit > MAX_RUN:
                    self._confirm_blank(run, unit)
                run.extend(range(address, address + BLOCK, unit))
                skip_to = address + BLOCK
                events.progress(self.reporter, skip_to, size)
                continue
            digest = fam.digest(address, n)
            is_blank = n == unit and digest == blank_unit
            if is_blank and len(run) * unit < MAX_RUN:
                run.append(address)
            else:
                self._confirm_blank(run, unit)
                if is_blank:
                    run.append(address)
                else:
                    self.saver.put(address, self._fetch(address, n, digest))
                    self.read += n // SECTOR
            events.progress(self.reporter, address + n, size)
        self._confirm_blank(run, unit)

    def _blank_block(self, address: int) -> bool:
        """Is the 64 KiB block at ``address`` blank? Asked only at a block start after a blank unit,
        and only when none of it is saved already. A damaged command covers another length, whose
        blank digest differs (see _confirm_blank), so one digest is enough on a clean line."""
        if address % BLOCK or address + BLOCK > self.size or any(a in self.done for a in range(address, address + BLOCK, SECTOR)):
            return False
        return self.fam.digest(address, BLOCK) == blank_digest(self.fam, BLOCK)

    def _confirm_blank(self, run: list[int], unit: int) -> None:
        """Beken's CheckCRC echoes neither address nor length. A single corrupted or lost command byte
        always changes the covered length (and every length has its own blank CRC), so a false "blank"
        needs two coordinated faults in one command. Once the line has shown errors we do not rely on
        that: a second digest over the whole run must agree before blank is believed."""
        if not run:
            return
        units = list(run)
        run.clear()
        fam, saver = self.fam, self.saver
        length = len(units) * unit
        if self._line_clean() or fam.digest(units[0], length) == blank_digest(fam, length):
            for address in units:
                saver.put(address, b"\xff" * unit)
            self.blank += length // SECTOR
            return
        events.retry(self.reporter, f"blank run at 0x{units[0]:06X} did not confirm; checking unit by unit")
        blank = blank_digest(fam, unit)
        for address in units:
            if fam.digest(address, unit) == blank and fam.digest(address, unit) == blank:
                saver.put(address, b"\xff" * unit)
                self.blank += unit // SECTOR
            else:
                saver.put(address, fam.read(address, unit))
                saver.rereads += unit // SECTOR


class _Saver:
    """Writes ranges into the .part file and records their sectors in the journal every BATCH sectors."""

    def __init__(self, f: IO[bytes], journal: Journal) -> None:
        self.f = f
        self.journal = journal
        self.batch: list[int] = []
        self.rereads = 0

    def put(self, address: int, data: bytes) -> None:
        self.f.seek(address)
        self.f.write(data)
        self.batch.extend(range(address, address + len(data), SECTOR))
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            self.f.flush()
            os.fsync(self.f.fileno())
            self.journal.mark_done(self.batch)
            self.batch = []
