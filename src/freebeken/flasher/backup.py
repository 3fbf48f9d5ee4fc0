"""Back up the whole flash: blank sectors found by CRC (not transferred), every other sector
read and proven against the chip's CRC, written atomically to a file that never replaces
another. An interrupted backup continues from its ``.part`` file and journal."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__, events
from ..errors import Interrupted, UsageError
from ..link.identify import ChipInfo
from ..locks import hold
from ..protocol import BLANK_SECTOR_CRC
from ..protocol.crc import blank_crc
from .chipio import SECTOR, ChipIO
from .journal import Journal, atomic_write, create_private, data_dir, publish, sha256
from .plan import BLOCK

BATCH = 16  # sectors between journal updates
MAX_RUN = 64  # blank sectors confirmed by one CRC (bounds the rework if it disagrees)
BLOCK_CRC_ABOVE = 0.002  # seconds of round trip from which blank stretches are asked block-wise


@dataclass
class BackupResult:
    path: Path
    sha256: str
    size: int
    blank_sectors: int
    read_sectors: int
    seconds: float
    baudrate: int
    retries: int
    resumed: bool
    read_seconds: float = 0.0  # spent transferring non-blank sectors (their CRCs excluded)

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "path": str(self.path)}


def identity(info: ChipInfo) -> str:
    """A stable name for one physical chip: its MAC, else a fingerprint of its own content (many
    plugs share a bootloader, so its CRC alone would mix them up)."""
    if info.mac:
        tag = info.mac.hex().upper()
    elif info.fingerprint is not None:
        tag = f"FP{info.fingerprint:08X}"
    else:
        tag = f"BL{info.bootloader_crc:08X}"
    return f"{info.chip.name}-{tag}"


def default_backup_path(info: ChipInfo, folder: Path | None = None) -> Path:
    flash = info.flash.name if info.flash else f"{info.flash_size // 0x100000}MiB"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    tag = identity(info).split("-", 1)[1]  # the MAC, or the fingerprint of a plug without one
    folder = folder or data_dir() / "backups"
    path = folder / f"{info.chip.name}-{flash}-{tag}-{stamp}.bin"
    n = 1
    while path.exists() or path.with_name(path.name + ".part").exists():  # a second backup within a second
        n += 1
        path = folder / f"{info.chip.name}-{flash}-{tag}-{stamp}-{n}.bin"
    return path


def read_sidecar(backup: Path) -> dict | None:
    """The ``.json`` label next to a backup, None when missing or unreadable."""
    try:
        meta = json.loads(backup.with_name(backup.name + ".json").read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def find_backups(info: ChipInfo, folder: Path | None = None) -> list[Path]:
    """Backups labelled as this chip's (by their sidecar's identity); callers that write judge
    the content too (safely.ensure_backup)."""
    folder = folder or data_dir() / "backups"
    found = []
    for binary in sorted(folder.glob("*.bin")) if folder.exists() else []:
        meta = read_sidecar(binary)
        if meta is not None and meta.get("identity") == identity(info):
            found.append(binary)
    return found


def check_backup_target(out: Path) -> None:
    """Before the chip is touched: the folder must exist and the file must not."""
    if out.exists():
        raise UsageError(f"{out} already exists; freebeken never overwrites a backup", hint="Choose another -o name.")
    if not out.parent.is_dir():
        raise UsageError(
            f"The folder {out.parent} does not exist",
            hint="Create it first, or pick another -o path (without -o, backups go to freebeken's data folder).",
        )


def _journal_path(info: ChipInfo) -> Path:
    """One unfinished backup per chip, found by `resume` wherever its file is going."""
    return data_dir() / "journals" / f"backup-{identity(info)}.json"


def pending_backup(info: ChipInfo) -> Path | None:
    """Where an interrupted backup of this chip was going, if its partial file is still there."""
    journal = Journal.load(_journal_path(info))
    out = Path(journal.record["out"]) if journal and journal.record.get("out") else None
    return out if out and out.with_name(out.name + ".part").exists() and not out.exists() else None


def backup(io: ChipIO, out: Path | None = None) -> BackupResult:
    if out is None:
        out = pending_backup(io.info) or default_backup_path(io.info)
        out.parent.mkdir(parents=True, exist_ok=True)
    with hold(out, f"the backup file {out}"):  # another process may be writing the same .part
        return _backup(io, out)


def _backup(io: ChipIO, out: Path) -> BackupResult:
    info = io.info
    reporter = io.reporter
    check_backup_target(out)
    part = out.with_name(out.name + ".part")
    journal = Journal.load(_journal_path(info))
    resumed = bool(journal and journal.record.get("out") == str(out.resolve()) and part.exists())
    if not resumed:
        if journal and pending_backup(info):
            events.warning(reporter, f"An unfinished backup to {journal.record['out']} is left as it is; starting a new one")
        journal = Journal(_journal_path(info), {"out": str(out.resolve()), "size": info.flash_size, "done": []})
        part.unlink(missing_ok=True)
        create_private(part, info.flash_size)
        journal.save()
    assert journal is not None
    done = journal.done
    started = time.monotonic()
    retries_before = io.session.retries_used
    blank = read = 0
    read_seconds = 0.0
    events.phase(reporter, "Backup: reading the flash", total=info.flash_size)
    if resumed:
        events.info(reporter, f"Resuming the backup: {len(done)} sectors already saved")
    # Behind a slow adapter each command costs a round trip: there a blank stretch is asked a
    # whole 64 KiB block at a time. Not on a fast line, where a block that turns out not to be
    # blank wastes more chip CRC time (82 ms) than the saved round trips gain.
    by_block = io.session.round_trip() >= BLOCK_CRC_ABOVE
    with open(part, "r+b") as f:
        saver = _Saver(f, journal)
        run: list[int] = []  # consecutive sectors that looked blank, confirmed together
        try:
            skip_to = 0
            for address in range(0, info.flash_size, SECTOR):
                if address in done or address < skip_to:
                    continue
                if by_block and run and _blank_block(io, address, done, info.flash_size):
                    if len(run) + BLOCK // SECTOR > MAX_RUN:
                        blank += _confirm_blank(io, saver, run, io.session.retries_used == retries_before)
                    run.extend(range(address, address + BLOCK, SECTOR))
                    skip_to = address + BLOCK
                    events.progress(reporter, skip_to, info.flash_size)
                    continue
                crc = io.crc(address, SECTOR)
                if crc == BLANK_SECTOR_CRC and len(run) < MAX_RUN:
                    run.append(address)
                else:
                    blank += _confirm_blank(io, saver, run, io.session.retries_used == retries_before)
                    if crc == BLANK_SECTOR_CRC:
                        run.append(address)
                    else:
                        t = time.monotonic()
                        data = io.read(address, crc)
                        read_seconds += time.monotonic() - t
                        saver.put(address, data)
                        read += 1
                events.progress(reporter, address + SECTOR, info.flash_size)
            blank += _confirm_blank(io, saver, run, io.session.retries_used == retries_before)
        except KeyboardInterrupt:
            saver.flush()  # every sector read so far is kept
            raise Interrupted(
                f"Backup interrupted: {len(journal.done)} of {info.flash_size // SECTOR} sectors are saved in {part}"
            ) from None
        saver.flush()
        read += saver.rereads
    image = part.read_bytes()
    digest = sha256(image)
    elapsed = time.monotonic() - started
    result = BackupResult(
        out,
        digest,
        len(image),
        blank,
        read,
        elapsed,
        io.session.baudrate,
        io.session.retries_used - retries_before,
        resumed,
        read_seconds,
    )
    sidecar = {
        "identity": identity(info),
        "sha256": digest,
        **info.as_dict(),
        "tool": f"freebeken {__version__}",
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(elapsed, 2),
        "baudrate": io.session.baudrate,
        "blank_sectors": blank,
    }
    publish(part, out)  # fails instead of replacing, should a file have appeared meanwhile
    atomic_write(out.with_name(out.name + ".json"), json.dumps(sidecar, indent=1).encode())
    journal.remove()
    return result


def _blank_block(io: ChipIO, address: int, done: set[int], size: int) -> bool:
    """Is the 64 KiB block at ``address`` blank? Asked only at a block start after a blank sector,
    and only when none of it is saved already. A damaged command covers another length, whose
    blank CRC differs (see _confirm_blank), so one CRC is enough on a clean line."""
    if address % BLOCK or address + BLOCK > size or any(a in done for a in range(address, address + BLOCK, SECTOR)):
        return False
    return io.crc(address, BLOCK) == blank_crc(BLOCK)


class _Saver:
    """Writes sectors into the .part file and records them in the journal every BATCH sectors."""

    def __init__(self, f, journal: Journal) -> None:
        self.f = f
        self.journal = journal
        self.batch: list[int] = []
        self.rereads = 0

    def put(self, address: int, data: bytes) -> None:
        self.f.seek(address)
        self.f.write(data)
        self.batch.append(address)
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            self.f.flush()
            os.fsync(self.f.fileno())
            self.journal.mark_done(self.batch)
            self.batch = []


def _confirm_blank(io: ChipIO, saver: _Saver, run: list[int], line_clean: bool) -> int:
    """CheckCRC echoes neither address nor length. A single corrupted or lost command byte always
    changes the covered length (and every length has its own blank CRC), so a false "blank"
    needs two coordinated faults in one 13-byte command. Once the line has shown errors we do not
    rely on that: a second CRC over the whole run must agree before blank is believed."""
    if not run:
        return 0
    sectors = list(run)
    run.clear()
    if line_clean or io.crc(sectors[0], len(sectors) * SECTOR) == blank_crc(len(sectors) * SECTOR):
        for address in sectors:
            saver.put(address, b"\xff" * SECTOR)
        return len(sectors)
    events.retry(io.reporter, f"blank run at 0x{sectors[0]:06X} did not confirm; checking sector by sector")
    blank = 0
    for address in sectors:
        crc = io.crc(address, SECTOR)
        if crc == BLANK_SECTOR_CRC and io.crc(address, SECTOR) == BLANK_SECTOR_CRC:
            saver.put(address, b"\xff" * SECTOR)
            blank += 1
        else:
            saver.put(address, io.read(address))
            saver.rereads += 1
    return blank
