"""Chip-aware primitives shared by identify and the flasher: CRC of a range, verified reads."""

from __future__ import annotations

from .. import events
from ..chips import ChipProfile
from ..errors import ChipStatusError, ProtocolError, VerifyError
from ..protocol import beken_crc
from ..protocol import commands as c
from .session import Session


def chip_crc(session: Session, chip: ChipProfile, start: int, length: int) -> int:
    """The chip's CheckCRC over exactly [start, start+length)."""
    return session.transact(c.CheckCrc(start, chip.crc.end_for(start, length)))


def read_sector(session: Session, chip: ChipProfile, address: int, retries: int = 8, crc: int | None = None) -> bytes:
    """Read 4 KiB and prove it against the chip's CRC (taken once, reused across re-reads).

    On a noisy line few 4 KiB replies arrive intact, but damaged copies disagree in different
    places: from the third copy on, their bytewise majority is tried too - still proven by the
    chip's CRC, so a vote can only ever return the right bytes."""
    problem = ""
    copies: list[bytes] = []
    for attempt in range(retries + 1):
        if attempt:
            session.retries_used += 1  # line trouble, which steps the baud rate down when it repeats
            events.retry(session.reporter, f"sector 0x{address:06X}: {problem}; re-reading")
        try:
            if crc is None:
                crc = chip_crc(session, chip, address, 0x1000)
            data = session.transact(c.FlashRead4K(address), retries=2)
        except ChipStatusError:
            raise
        except ProtocolError as e:
            problem = str(e)
            continue
        if beken_crc(data) == crc:
            return data
        copies.append(data)
        if len(copies) >= 3:
            voted = majority(copies)
            if beken_crc(voted) == crc or beken_crc(voted) == chip_crc(session, chip, address, 0x1000):
                return voted
        problem = "data does not match the chip's CRC"
        crc = None  # the CRC reply (or its command) may have been the corrupted part: ask again
    raise VerifyError(f"Could not read sector 0x{address:06X} intact after {retries + 1} attempts ({problem})")


def majority(copies: list[bytes]) -> bytes:
    """Bytewise majority of equally long copies (ties go to the earliest copy's byte)."""
    out = bytearray(copies[0])
    for i, column in enumerate(zip(*copies)):
        if column.count(column[0]) * 2 <= len(column):
            out[i] = max(set(column), key=column.count)
    return bytes(out)
