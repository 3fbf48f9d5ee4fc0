"""One backup engine for every family (flasher/backup_engine.py over families/base.ChipFamily): the
same rules - blank ranges found by the chip's digest and not transferred, a target never overwritten,
Ctrl-C keeps what was read, an interrupted backup resumes from its journal, one lookup of a device's
backups - for Beken (through ChipIO), Realtek and LN882H (through their simulators) and a family
that exists only here (a chip in memory, to count what the engine asks)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from freebeken import events
from freebeken.errors import Interrupted, UsageError
from freebeken.events import ListReporter
from freebeken.families import ops as fops
from freebeken.families.base import SECTOR, FamilySpec, Identity, Region
from freebeken.families.beken import BekenFamily, beken_identity
from freebeken.families.dispatch import open_family
from freebeken.families.registry import spec_by_chip
from freebeken.flasher import backup_engine as engine
from freebeken.flasher import operations as ops
from freebeken.flasher.backup import find_backups
from helpers import sim_flash

SIZE = 0x40000
SPEC = FamilySpec("memchip", "memory", "sha256", SIZE, (Region("all", 0, SIZE, "app"),), "OpenMem", "none", (("RX", "TX"),))


class MemoryFamily:
    """A sha256 family over a bytearray that counts what it is asked; ``stop_after`` reads then Ctrl-C."""

    spec = SPEC
    backup_unit = 0x10000

    def __init__(self, flash: bytearray, mac: bytes | None = b"\x02\0\0\0\0\1", stop_after: int | None = None) -> None:
        self.flash, self.mac, self.stop_after = flash, mac, stop_after
        self.reads: list[tuple[int, int]] = []
        self.digests = 0

    def identify(self) -> Identity:
        return Identity(SPEC, SIZE, self.mac)

    def read(self, address: int, length: int) -> bytes:
        if self.stop_after is not None and len(self.reads) >= self.stop_after:
            raise KeyboardInterrupt
        self.reads.append((address, length))
        return bytes(self.flash[address : address + length])

    def digest(self, address: int, length: int) -> bytes | None:
        self.digests += 1
        return hashlib.sha256(self.flash[address : address + length]).digest()

    def write(self, address: int, data: bytes) -> None:
        self.flash[address : address + len(data)] = data

    def close(self) -> None:
        pass


def memory_chip() -> bytearray:
    flash = bytearray(b"\xff" * SIZE)
    flash[0x0:0x2000] = bytes(range(256)) * 32  # unit 0: content
    flash[0x31000:0x32000] = b"\x55" * SECTOR  # unit 3: one sector of content in a blank unit
    return flash


def test_a_digest_family_reads_only_what_is_not_blank():
    fam = MemoryFamily(memory_chip())
    made = engine.back_up(fam, events.NullReporter())
    assert made.path.read_bytes() == bytes(fam.flash)
    assert fam.reads == [(0x0, 0x10000), (0x30000, 0x10000)]  # units 1 and 2 are blank: only digested
    assert (made.blank_sectors, made.read_sectors) == (32, 32)
    sidecar = json.loads(made.path.with_name(made.path.name + ".json").read_text())
    assert sidecar["identity"] == "memchip-020000000001" and sidecar["sha256"] == made.sha256
    assert sidecar["blank_sectors"] == 32 and sidecar["mac"] == "02:00:00:00:00:01"


def test_an_interrupted_family_backup_keeps_what_was_read_and_resumes():
    flash = memory_chip()
    with pytest.raises(Interrupted, match="sectors are saved"):
        engine.back_up(MemoryFamily(flash, stop_after=1), events.NullReporter())
    pending = engine.pending_backup(Identity(SPEC, SIZE, b"\x02\0\0\0\0\1"))
    assert pending is not None and pending.with_name(pending.name + ".part").exists()
    again = MemoryFamily(flash)
    made = engine.back_up(again, events.NullReporter())  # goes on where the first stopped
    assert made.resumed and made.path == pending and made.path.read_bytes() == bytes(flash)
    assert again.reads == [(0x30000, 0x10000)]  # the first unit was saved before the Ctrl-C


def test_a_chip_without_a_mac_is_named_by_its_fallback_and_found_again(tmp_path):
    fam = MemoryFamily(memory_chip(), mac=None)
    out = tmp_path / "elsewhere" / "mine.bin"
    out.parent.mkdir()
    made = engine.back_up(fam, events.NullReporter(), out)
    ident = fam.identify()
    assert ident.key == "memchip-NOMAC" and engine.find_backups(ident) == [made.path]  # -o: found through the index


def test_a_readback_family_reads_everything_in_pieces():
    spec = spec_by_chip("ln882h")

    class Readback(MemoryFamily):
        def digest(self, address: int, length: int) -> bytes | None:
            raise AssertionError("a readback family is never asked for a digest")

        def identify(self) -> Identity:
            return Identity(spec, SIZE, self.mac)

    fam = Readback(memory_chip())
    fam.spec = spec  # type: ignore[misc]
    made = engine.back_up(fam, events.NullReporter())
    assert made.path.read_bytes() == bytes(fam.flash) and len(fam.reads) == SIZE // engine.PIECE
    assert made.blank_sectors == 0 and made.read_sectors == SIZE // SECTOR


def test_realtek_backup_skips_blank_64k_units_byte_exact(tmp_path):
    image = tmp_path / "rtl.bin"
    fam = open_family(spec_by_chip("rtl8720cf"), f"sim://rtl8720cf?time_scale=0&image={image}")
    reads: list[int] = []
    real = fam.read_expecting  # type: ignore[attr-defined]

    def counting(address: int, length: int, digest: bytes) -> bytes:
        reads.append(length)
        return real(address, length, digest)

    fam.read_expecting = counting  # type: ignore[attr-defined]
    try:
        result = fops.backup(fam, events.NullReporter())
    finally:
        fam.close()
    chip = image.read_bytes()
    assert Path(str(result.path)).read_bytes() == chip and result.proven_by == "sha256"
    blank_units = sum(chip[a : a + 0x10000] == b"\xff" * 0x10000 for a in range(0, len(chip), 0x10000))
    assert blank_units > 10 and len(reads) == len(chip) // 0x10000 - blank_units  # blank ones never transferred
    sidecar = json.loads(Path(str(result.path) + ".json").read_text())
    assert sidecar["blank_sectors"] == blank_units * 16


def test_beken_and_realtek_backups_are_both_refused_on_an_existing_target(tmp_path):
    target = tmp_path / "taken.bin"
    target.write_bytes(b"precious")
    with ops.open_chip(f"sim://bk7231n?time_scale=0&image={tmp_path / 'bk.bin'}", ListReporter()) as io:
        with pytest.raises(UsageError, match="never overwrites"):
            ops.backup(io, target)
    fam = open_family(spec_by_chip("rtl8720cf"), f"sim://rtl8720cf?time_scale=0&image={tmp_path / 'rtl.bin'}")
    try:
        with pytest.raises(UsageError, match="never overwrites"):
            fops.backup(fam, events.NullReporter(), target)
    finally:
        fam.close()
    assert target.read_bytes() == b"precious"


def test_beken_goes_through_the_same_engine_and_lookup(tmp_path):
    """Beken's backup is the engine over BekenFamily: the same identity (its MAC-or-fingerprint key),
    and a -o backup elsewhere is found by the one lookup for both families."""
    out = tmp_path / "elsewhere.bin"
    with ops.open_chip(f"sim://bk7231t?time_scale=0&image={tmp_path / 'bk.bin'}", ListReporter()) as io:
        fam = BekenFamily(io)
        ident = fam.identify()
        assert ident.key == f"BK7231T-{io.info.mac.hex().upper()}" and ident == beken_identity(io.info)
        made = engine.back_up(fam, io.reporter, out)
        assert made.path.read_bytes() == sim_flash(io) and made.blank_sectors > 100
        assert find_backups(io.info) == [out] and engine.find_backups(ident) == [out]
        assert ops.existing_backup(io) == out  # its content matches the chip: a flash needs no new backup
        newer = engine.back_up(fam, io.reporter).path  # in freebeken's folder, a name that sorts after or before
        os.utime(out, (1, 1))  # the -o one is the older
        assert ops.existing_backup(io) == newer
        os.utime(newer, (0, 0))
        assert ops.existing_backup(io) == out  # the newest by time, wherever it is, not by name


class RtlInMemory(MemoryFamily):
    """An RTL8720CF (its spec, its image layout, SHA-256 digests) whose flash is a bytearray."""

    spec = spec_by_chip("rtl8720cf")

    def identify(self) -> Identity:
        return Identity(self.spec, len(self.flash), self.mac)


def test_a_first_flash_backs_up_unless_a_backup_of_this_devices_content_exists(tmp_path):
    """'No flash without this device's backup' is one rule (engine.newest_own_backup over the shared
    restore rules): a backup whose label names this device but whose calibration is another's does not
    count, for a family as for Beken (operations.existing_backup)."""
    from freebeken.sim.family_images import release_image, stock_image

    mac = b"\x02\0\0\0\0\1"
    fam = RtlInMemory(bytearray(stock_image("rtl8720cf", 0, mac)), mac)
    ident = fam.identify()
    foreign = bytearray(stock_image("rtl8720cf", 0, mac))
    foreign[0x2000:0x2040] = b"\x11" * 0x40  # another device's calibration
    folder = engine.backups_folder()
    folder.mkdir(parents=True)
    fake = folder / "rtl8720cf-020000000001-zz.bin"  # labelled as this device, newest by name
    fake.write_bytes(bytes(foreign))
    meta = {"identity": ident.key, "sha256": hashlib.sha256(foreign).hexdigest(), "chip": "rtl8720cf"}
    fake.with_name(fake.name + ".json").write_text(json.dumps(meta))
    assert engine.find_backups(ident) == [fake] and engine.newest_own_backup(ident, lambda: fops.content_hook(fam, ident)) is None

    release = release_image("rtl8720cf")
    result = fops.flash(fam, "OpenRTL87X0C_1.18.230.bin", release, events.NullReporter())
    assert result.backup is not None and Path(result.backup) != fake  # a real backup was made first
    assert engine.newest_own_backup(ident, lambda: fops.content_hook(fam, ident)) == Path(result.backup)
    again = fops.flash(fam, "OpenRTL87X0C_1.18.230.bin", release, events.NullReporter())
    assert again.backup is None and again.written == 0


def test_a_family_write_proves_what_its_journal_says_is_done(tmp_path):
    """A resumed family write does not trust its journal: a run recorded as done that the chip does not
    hold (another plug with the same identity, another tool) is written again."""
    from freebeken.flasher.journal import Journal

    fam = RtlInMemory(bytearray(b"\xff" * 0x200000))
    image = bytes(range(256)) * (0x20000 // 256) + b"\xff" * (0x200000 - 0x20000)
    journal = Journal(tmp_path / "j.json", {"done": [0x0, 0x10000]})  # "done", but the chip is blank
    written, skipped, _ = fops.write_proven(
        fam, fam.identify(), image, list(range(0, 0x20000, SECTOR)), journal, events.NullReporter()
    )
    assert (written, skipped) == (32, 0) and bytes(fam.flash) == image


def test_ctrl_c_in_a_family_write_says_what_is_kept_and_the_rerun_resumes(tmp_path):
    from freebeken.flasher.journal import Journal

    fam = RtlInMemory(bytearray(b"\xff" * 0x200000))
    image = bytes(range(256)) * (0x30000 // 256) + b"\xff" * (0x200000 - 0x30000)
    sectors = list(range(0, 0x30000, SECTOR))
    real_write, calls = fam.write, []

    def write(address: int, data: bytes) -> None:
        calls.append(address)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_write(address, data)

    fam.write = write  # type: ignore[method-assign]
    journal = Journal(tmp_path / "j.json", {"done": []})
    with pytest.raises(Interrupted, match="1 of 3 runs are written and proven"):
        fops.write_proven(fam, fam.identify(), image, sectors, journal, events.NullReporter())
    fam.write = real_write  # type: ignore[method-assign]
    resumed = Journal.load(tmp_path / "j.json")
    assert resumed is not None and resumed.done == {0}
    written, skipped, _ = fops.write_proven(fam, fam.identify(), image, sectors, resumed, events.NullReporter())
    assert (written, skipped) == (32, 16) and bytes(fam.flash) == image


def test_one_proof_for_every_family_digest_or_read_back():
    """families/base.holds: the chip's digest where the family has one (no transfer), else reading back,
    the first sector first; Beken's write engine proves through the same function (ChipIO.family)."""
    from freebeken.families.base import holds

    fam = MemoryFamily(memory_chip())
    assert holds(fam, 0, bytes(fam.flash[:0x2000])) and not holds(fam, 0, b"\x00" * 0x2000)
    assert fam.reads == [] and fam.digests == 2

    class Readback(MemoryFamily):
        def digest(self, address: int, length: int) -> bytes | None:
            return None

    rb = Readback(memory_chip())
    assert not holds(rb, 0, b"\x00" * 0x10000) and rb.reads == [(0, SECTOR)]  # differs in its first sector
    assert holds(rb, 0, bytes(rb.flash[:0x10000])) and rb.reads[1:] == [(0, SECTOR), (SECTOR, 0xF000)]


def test_a_family_chip_without_a_mac_is_named_by_its_calibration_not_nomac():
    """Two MAC-less RTL8720CF must not share backups and journals: like a Beken without a MAC, each is
    named by a fingerprint of its own device-unique data (families/base.device_identity)."""
    from freebeken.families.base import device_identity
    from freebeken.sim.family_images import stock_image

    one = bytearray(stock_image("rtl8720cf", 0, b"\x02\0\0\0\0\1"))
    two = bytearray(one)
    two[0x2000:0x2010] = b"\x22" * 16  # another device's calibration
    a, a_again, b = (device_identity(RtlInMemory(f, mac=None)) for f in (one, bytearray(one), two))
    assert a.tag.startswith("FP") and a.key == a_again.key != b.key
    blank = bytearray(one)
    blank[0x2000:0x3000] = b"\xff" * 0x1000
    assert device_identity(RtlInMemory(blank, mac=None)).tag == "NOMAC"  # nothing device-unique to name it by
    made = engine.back_up(RtlInMemory(bytearray(one), mac=None), events.NullReporter())
    assert a.key in made.path.name and engine.find_backups(a) == [made.path] and engine.find_backups(b) == []
