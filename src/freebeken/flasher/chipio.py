"""Flash operations on a linked chip, with the chip's rules applied in one place.

* Safety: nothing is ever erased or written below ``chip.app_start`` on a chip whose bootloader
  is not writable (BK7231T), nor past the end of the flash (that would wrap around).
* BK7231T re-protects its flash after every CheckCRC; the next erase lifts the protection only
  after a fresh LinkCheck. ``ChipIO`` tracks that and re-links before erasing/writing.
* BK7231N stock firmware leaves SPI block protection on: cleared before writing (per the flash
  part's table entry), restored after and read back; a part no table knows is written only when its
  status registers show no protection at all (chips/flash_chips.py).
* Reads below a protected boundary go through the +flash-size wrap-around (reading is harmless).
* Repeated line errors step the baud rate down without starting over.
"""

from __future__ import annotations

import functools

from .. import events
from ..chips import ChipProfile, FlashChip
from ..chips.flash_chips import unknown_part
from ..errors import FlashProtectedError, ProtocolError, VerifyError
from ..families.base import check_writable
from ..families.beken import BekenFamily, beken_spec
from ..link.connect import link, set_baudrate
from ..link.identify import ChipInfo
from ..link.ops import read_sector
from ..link.session import Session
from ..protocol import commands as c
from .plan import SECTOR

#: Re-reads of one sector before the baud rate steps down: a clean line needs none; on a bad one
#: each damaged copy still brings intact 256-byte blocks to assemble the sector from.
READ_ATTEMPTS = 24

FALLBACK_BAUDS = (2000000, 1500000, 921600, 460800, 230400, 115200)


class ChipIO:
    def __init__(self, session: Session, info: ChipInfo, *, allow_bootloader: bool = False) -> None:
        self.session = session
        self.info = info
        self.chip: ChipProfile = info.chip
        self.reporter = session.reporter
        self.allow_bootloader = allow_bootloader and info.chip.bootloader_writable
        self.relock_pending = info.chip.crc_relocks  # identify() used CheckCRC
        self.unlock_erase_needed = info.chip.crc_relocks
        self.saved_sr: int | None = None
        self.trouble = 0  # consecutive sectors that needed retries
        self.spec = beken_spec(info.chip, info.flash_size)  # the chip as data: which regions UART can restore

    @property
    def size(self) -> int:
        return self.info.flash_size

    @functools.cached_property
    def family(self) -> BekenFamily:
        """This chip behind the seam (families/base.ChipFamily), for the rules written once for every family."""
        return BekenFamily(self)

    @property
    def lowest_writable(self) -> int:
        return 0 if self.allow_bootloader else self.chip.app_start

    # ---- safety ----

    def check_writable(self, address: int, length: int) -> None:
        """Last line of defence, called before every erase and write command: the rule every family
        shares (families/base.check_writable), over Beken's regions as data (families/beken.beken_spec:
        the bootloader is not restorable on BK7231T), with the bootloader permission of this write."""
        check_writable(
            self.spec,
            self.size,
            address,
            length,
            lowest=self.lowest_writable,
            chip=self.chip.name,
            hint=f"The {self.chip.name} bootloader lives below 0x{self.chip.app_start:X}; "
            + (
                "it cannot be rewritten over UART without bricking the device."
                if not self.chip.bootloader_writable
                else "pass --include-bootloader to write it (BK7231N only)."
            ),
        )

    # ---- reads ----

    def crc(self, address: int, length: int) -> int:
        value = self.session.transact(c.CheckCrc(address, self.chip.crc.end_for(address, length)))
        if self.chip.crc_relocks:
            self.relock_pending = True
        return value

    def read(self, address: int, crc: int | None = None) -> bytes:
        """One verified 4 KiB sector; ``crc`` saves a CheckCRC when the caller already has it."""
        phys = address + self.size if address < self.chip.protected_below else address
        if crc is None:
            crc = self.crc(address, SECTOR)
        while True:
            before = self.session.retries_used
            try:
                data = read_sector(self.session, self.chip, phys, retries=READ_ATTEMPTS, crc=crc)
            except VerifyError:
                if not self.slow_down():
                    raise
                crc = None
                continue
            self.note_retries(self.session.retries_used - before)
            return data

    # ---- writes ----

    def prepare_write(self) -> None:
        """Lift the flash's SR block protection (remembering it) before the first erase. A part
        no table knows is never assumed unprotected: its registers are read the JEDEC way, and
        any protect bit set stops the write here, before anything is erased."""
        if not self.chip.sr_protection or self.saved_sr is not None:
            return
        flash = self.info.flash or unknown_part(self.info.flash_id or bytes(3))
        sr = self._read_sr(flash.read_ops)
        bits = sr & flash.mask
        if not flash.known:
            if bits:
                raise FlashProtectedError(
                    f"The flash part ({flash.part_id}) is not in freebeken's table and its status registers "
                    f"({_sr_text(sr, 2)}) say parts of it may be write-protected; freebeken cannot lift that with "
                    "certainty on a part it does not know"
                )
            events.info(
                self.reporter,
                f"Flash part {flash.part_id} is not in freebeken's table; its status "
                f"registers ({_sr_text(sr, 2)}) show no block protection, so they are left as they are",
            )
            return
        self.saved_sr = sr
        if not bits:
            return
        if not flash.can_write(bits):
            raise FlashProtectedError(
                f"The flash part {flash.name} ({flash.part_id}) has protect bits set ({_sr_text(sr, len(flash.read_ops))}) "
                "that its table gives no way to write"
            )
        events.info(self.reporter, f"Lifting flash write protection ({flash.name}: {_sr_text(sr, len(flash.read_ops))})")
        if not self._write_sr(flash, sr & ~flash.mask):
            raise FlashProtectedError(
                f"The flash part {flash.name} ({flash.part_id}) did not take the cleared protect bits "
                f"(read {_sr_text(sr, len(flash.read_ops))})",
                hint="Nothing was erased or written. Power-cycle the device and try again; some parts lock their "
                "status register until power-off (SRP with the WP pin).",
            )

    def finish_write(self) -> None:
        """Put the SR protection back the way the stock firmware had it, and prove it by reading."""
        flash = self.info.flash
        if self.saved_sr is not None and flash is not None and self.saved_sr & flash.mask:
            if not self._write_sr(flash, self.saved_sr):
                raise ProtocolError(
                    f"The flash write protection of {flash.name} could not be put back "
                    f"(wanted {_sr_text(self.saved_sr, len(flash.read_ops))})",
                    hint="What was written is verified; the firmware sets its own protection at boot. Power-cycle "
                    "the device and run the same command again to retry.",
                )
            events.info(self.reporter, "Flash write protection restored (read back)")
        self.saved_sr = None

    def _read_sr(self, ops: tuple[int, ...]) -> int:
        sr = 0
        for i, op in enumerate(ops[:2]):
            sr |= self.session.transact(c.FlashReadSR(op)) << (8 * i)
        return sr

    def _write_sr(self, flash: FlashChip, value: int) -> bool:
        """Write ``value`` with the part's opcodes and read it back; the protect bits must match."""
        for _ in range(5):
            for opcode, payload in flash.sr_writes(value):
                self.session.transact(c.FlashWriteSR(payload, opcode))
            if self._read_sr(flash.read_ops) & flash.mask == value & flash.mask:
                return True
        return False

    def _unlock(self) -> None:
        """T: a LinkCheck re-arms the bootloader's unlock-on-erase after any CheckCRC."""
        if self.chip.crc_relocks and self.relock_pending:
            self.relink()
            self.relock_pending = False
            self.unlock_erase_needed = True

    def relink(self) -> None:
        self.session.drain(0.002)
        if self.session.transact(c.LinkCheck(), retries=5) is not True:
            raise ProtocolError("The bootloader did not confirm the link check")

    def erase(self, address: int, size: int) -> None:
        self.check_writable(address, size)
        self._unlock()
        size_cmd = {0x1000: c.ERASE_4K, 0x8000: c.ERASE_32K, 0x10000: c.ERASE_64K}[size]
        self.session.transact(c.FlashErase(size_cmd, address), retries=3)
        self.unlock_erase_needed = False

    def write(self, address: int, data: bytes) -> None:
        """Write one 4 KiB sector that is already erased."""
        self.check_writable(address, len(data))
        self._unlock()
        if self.unlock_erase_needed:
            # T writes are silently ignored until an erase lifted the protection; the sector is
            # blank (the plan says so), so erasing it again costs time but changes nothing.
            self.erase(address, SECTOR)
        self.session.transact(c.FlashWrite4K(address, data), retries=10)  # 4 KiB frames: many tries on a noisy line

    # ---- line quality ----

    def note_retries(self, retries: int) -> None:
        """Step the baud rate down after repeated trouble, keeping all work done so far."""
        self.trouble = self.trouble + 1 if retries else 0
        if self.trouble >= 3:
            self.slow_down()

    def slow_down(self) -> bool:
        """Continue at the next slower rate; False if already at the slowest."""
        self.trouble = 0
        current = self.session.baudrate
        slower = [b for b in FALLBACK_BAUDS if b < current]
        if not slower:
            return False
        events.warning(self.reporter, f"Line errors at {current} baud; continuing at {slower[0]}")
        if not set_baudrate(self.session, slower[0], self.reporter):
            link(self.session, self.reporter, timeout=10)
        self.relock_pending = self.chip.crc_relocks
        return True


def _sr_text(sr: int, registers: int) -> str:
    return ", ".join(f"SR{i + 1} 0x{sr >> 8 * i & 0xFF:02X}" for i in range(max(1, registers)))
