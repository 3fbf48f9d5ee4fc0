"""Compare a file with the chip (by CRC, no transfer) and read arbitrary ranges."""

from __future__ import annotations

from dataclasses import dataclass

from .. import events
from ..errors import UsageError
from ..protocol import beken_crc
from .chipio import SECTOR, ChipIO
from .plan import sector_spans


@dataclass
class VerifyResult:
    matching: int
    mismatches: list[tuple[int, int]]  # (start, end) flash ranges that differ

    @property
    def ok(self) -> bool:
        return not self.mismatches


def verify(io: ChipIO, data: bytes, offset: int) -> VerifyResult:
    end = offset + len(data)
    if offset < 0 or end > io.size:
        raise UsageError(f"0x{offset:X}..0x{end:X} is outside the {io.size // 1024} KiB flash")
    events.phase(io.reporter, "Verify: comparing by CRC", total=len(data))
    bad: list[tuple[int, int]] = []
    good = 0
    for address, lo, hi in sector_spans(offset, end):
        want = data[lo - offset : hi - offset]
        if hi - lo == SECTOR:
            same = io.crc(address, SECTOR) == beken_crc(want)
        else:  # a partial sector: compare the bytes themselves
            same = io.read(address)[lo - address : hi - address] == want
        if same:
            good += 1
        elif bad and bad[-1][1] == lo:
            bad[-1] = (bad[-1][0], hi)
        else:
            bad.append((lo, hi))
        events.progress(io.reporter, hi - offset, len(data))
    return VerifyResult(good, bad)


def read_range(io: ChipIO, start: int, length: int) -> bytes:
    if start < 0 or length <= 0 or start + length > io.size:
        raise UsageError(f"Cannot read 0x{start:X}+0x{length:X}: the flash holds 0x{io.size:X} bytes")
    events.phase(io.reporter, "Read: reading the flash", total=length)
    out = bytearray()
    first = start & ~(SECTOR - 1)
    for address in range(first, start + length, SECTOR):
        out += io.read(address)
        events.progress(io.reporter, min(len(out) - (start - first), length), length)
    return bytes(out[start - first : start - first + length])
