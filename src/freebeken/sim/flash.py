"""A 2 MiB SPI NOR flash: erase sets 0xFF, programming can only clear bits, status-register
block protection makes erase/program silently do nothing, and a power cut can land mid-operation.

Operations return the time they take on the real part (seconds, unscaled) so that the line model
can delay the chip's reply accordingly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..chips.flash_chips import FlashChip

PAGE = 256
#: What the simulated stock firmware leaves in a part's status registers, where it is not the
#: table's usual BP0..BP2 (a simulator choice, to exercise each way protection can be set): CMP
#: alone protects the whole array (BK7231GUIFlashTool clears SR2 CMP/TB since #148, July 2026).
STOCK_SR: dict[str, int] = {"GD25WQ16E": 0x4000, "MX25V1635F": 0x101C}


class PowerCut(Exception):
    """Raised inside a flash operation when the injected power cut hits."""


@dataclass
class NorFlash:
    chip: FlashChip
    data: bytearray = field(default_factory=bytearray)
    sr: int = 0  # SR1 | SR2 << 8 | SR3 << 16
    #: Flash operations (erase commands, page programs, SR writes) that still complete before the
    #: power is cut. None = no power cut planned.
    ops_before_cut: int | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    ops_done: int = 0

    def __post_init__(self) -> None:
        if not self.data:
            self.data = bytearray(b"\xff" * self.chip.size)
        if len(self.data) != self.chip.size:
            raise ValueError(f"flash image must be {self.chip.size} bytes, got {len(self.data)}")

    @property
    def size(self) -> int:
        return self.chip.size

    @property
    def protected(self) -> bool:
        # Simplification: any block-protect bit set protects the whole array (Tuya sets BP0..BP2,
        # which covers all of a 2 MiB part on the common chips; CMP alone covers all of any part).
        return bool(self.sr & self.chip.protect_mask)

    def protect(self) -> None:
        self.sr |= STOCK_SR.get(self.chip.name, self.chip.protect_value)

    def unprotect(self) -> None:
        self.sr &= ~self.chip.protect_mask

    # ---- array access (addresses wrap: the part ignores address bits above its size) ----

    def read(self, address: int, length: int) -> bytes:
        """Addresses wrap at the flash size, as the chip's address lines do."""
        a = address % self.size
        if a + length <= self.size:
            return bytes(self.data[a : a + length])
        out = bytearray(self.data[a:])
        while len(out) < length:
            out += self.data[: length - len(out)]
        return bytes(out)

    def erase(self, address: int, length: int) -> float:
        """Erase the aligned block of ``length`` bytes containing ``address``."""
        a = (address % self.size) & ~(length - 1)
        t = {0x1000: self.chip.t_erase_4k, 0x8000: self.chip.t_erase_32k, 0x10000: self.chip.t_erase_64k}.get(
            length, self.chip.t_erase_chip
        )
        if self.protected:
            return 0.0002  # the part ignores the instruction at once

        def partial() -> None:  # an interrupted erase leaves a mix of old and erased bytes
            for i in range(a, a + length):
                if self.rng.random() < 0.5:
                    self.data[i] = 0xFF

        self._operation(partial)
        self.data[a : a + length] = b"\xff" * length
        return t

    def program(self, address: int, payload: bytes) -> float:
        """Program ``payload`` page by page; NOR can only clear bits (result = old AND new)."""
        t = 0.0
        pos = 0
        while pos < len(payload):
            a = (address + pos) % self.size
            n = min(PAGE - a % PAGE, len(payload) - pos)
            chunk = payload[pos : pos + n]
            pos += n
            if self.protected:
                t += 0.00005
                continue

            def partial(a: int = a, chunk: bytes = chunk) -> None:
                k = self.rng.randrange(len(chunk) + 1)
                self._and(a, chunk[:k])

            self._operation(partial)
            self._and(a, chunk)
            t += self.chip.t_page
        return t

    def write_sr(self, opcode: int, payload: bytes) -> float:
        """0x01 writes SR1, and SR2 from a second byte on parts with two registers (the table's
        count; a part no table knows is simulated as a two-register one with CMP); 0x31 writes SR2
        and 0x11 SR3 on parts that list them. Anything else the part ignores."""
        self._operation(lambda: None)
        regs = 2 if not self.chip.known else self.chip.sr_size
        writes = self.chip.sr_write_ops if self.chip.known else (0x01, 0x31)
        if opcode == 0x01 and payload:
            self._set_reg(0, payload[0])
            if len(payload) > 1 and regs >= 2:
                self._set_reg(1, payload[1])
        elif opcode in (0x31, 0x11) and opcode in writes and payload:
            self._set_reg(1 if opcode == 0x31 else 2, payload[0])
        return self.chip.t_write_sr

    def read_sr(self, opcode: int) -> int:
        """The register the part's table reads with ``opcode`` (a Macronix's 0x15 is its second,
        the configuration register); an opcode the part does not list reads as a floating bus (0xFF)."""
        reads = self.chip.sr_read_ops if self.chip.known else (0x05, 0x35)
        if opcode not in reads:
            return 0xFF
        return (self.sr >> (8 * reads.index(opcode))) & 0xFF

    def _set_reg(self, index: int, value: int) -> None:
        self.sr = (self.sr & ~(0xFF << 8 * index)) | (value & 0xFF) << 8 * index

    # ---- internals ----

    def _and(self, a: int, chunk: bytes) -> None:
        end = a + len(chunk)
        old = int.from_bytes(self.data[a:end], "little")
        new = int.from_bytes(chunk, "little")
        self.data[a:end] = (old & new).to_bytes(len(chunk), "little")

    def _operation(self, partial) -> None:
        if self.ops_before_cut is not None:
            if self.ops_before_cut <= 0:
                partial()
                self.ops_before_cut = None
                raise PowerCut()
            self.ops_before_cut -= 1
        self.ops_done += 1
