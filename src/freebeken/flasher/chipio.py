"""Flash operations on a linked chip, with the chip's rules applied in one place.

* Safety: nothing is ever erased or written below ``chip.app_start`` on a chip whose bootloader
  is not writable (BK7231T), nor past the end of the flash (that would wrap around).
* BK7231T re-protects its flash after every CheckCRC; the next erase lifts the protection only
  after a fresh LinkCheck. ``ChipIO`` tracks that and re-links before erasing/writing.
* BK7231N stock firmware leaves SPI block protection on: cleared before writing, restored after.
* Reads below a protected boundary go through the +flash-size wrap-around (reading is harmless).
* Repeated line errors step the baud rate down without starting over.
"""

from __future__ import annotations

from .. import events
from ..chips import ChipProfile
from ..errors import ProtocolError, SafetyError, VerifyError
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

    @property
    def size(self) -> int:
        return self.info.flash_size

    @property
    def lowest_writable(self) -> int:
        return 0 if self.allow_bootloader else self.chip.app_start

    # ---- safety ----

    def check_writable(self, address: int, length: int) -> None:
        """Last line of defence, called before every erase and write command."""
        if address < self.lowest_writable or address + length > self.size or length <= 0:
            raise SafetyError(
                f"Refusing to modify 0x{address:06X}..0x{address + length:06X} on {self.chip.name}",
                hint=(
                    f"The {self.chip.name} bootloader lives below 0x{self.chip.app_start:X}; "
                    + (
                        "it cannot be rewritten over UART without bricking the device."
                        if not self.chip.bootloader_writable
                        else "pass --include-bootloader to write it (BK7231N only)."
                    )
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
        """Lift N's SR block protection (remembering it) before the first erase."""
        if not self.chip.sr_protection or self.saved_sr is not None:
            return
        flash = self.info.flash
        if flash is None:
            events.warning(self.reporter, "Unknown flash chip: assuming it is not write-protected")
            return
        sr = self._read_sr(flash.sr_read_ops)
        self.saved_sr = sr
        if sr & flash.protect_mask:
            events.info(self.reporter, f"Lifting flash write protection (SR 0x{sr:04X})")
            self._write_sr(sr & ~flash.protect_mask, flash.protect_mask)

    def finish_write(self) -> None:
        """Put N's SR protection back the way the stock firmware had it."""
        flash = self.info.flash
        if self.saved_sr is not None and flash is not None and self.saved_sr & flash.protect_mask:
            self._write_sr(self.saved_sr, flash.protect_mask)
            events.info(self.reporter, "Flash write protection restored")
        self.saved_sr = None

    def _read_sr(self, ops: tuple[int, ...]) -> int:
        sr = 0
        for i, op in enumerate(ops[:2]):
            sr |= self.session.transact(c.FlashReadSR(op)) << (8 * i)
        return sr

    def _write_sr(self, value: int, mask: int) -> None:
        flash = self.info.flash
        assert flash is not None
        nbytes = 1 if flash.sr_size == 1 else 2
        for _ in range(5):
            self.session.transact(c.FlashWriteSR(value.to_bytes(2, "little")[:nbytes]))
            if self._read_sr(flash.sr_read_ops) & mask == value & mask:
                return
        raise ProtocolError(
            "The flash status register did not take the new value",
            hint="Power-cycle the device and try again; some flash chips lock their SR until power-off.",
        )

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
