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


CHUNK = 256  # both loaders can CRC one 256-byte block (T counts CheckCRC in such blocks)


def read_sector(session: Session, chip: ChipProfile, address: int, retries: int = 8, crc: int | None = None) -> bytes:
    """Read 4 KiB and prove it against the chip's CRC (taken once, reused across re-reads).

    On a noisy line few 4 KiB replies arrive intact, but damaged copies are damaged in different
    places. After the second damaged copy the chip is asked the CRC of each 256-byte block, and
    the sector is put together block by block from whichever copy holds each block intact
    (a block survives far more often than 4 KiB do, and a byte lost and another inserted only
    spoils the blocks between them); the bytewise majority is tried too. Whatever is assembled is
    proven by the whole sector's CRC, so it can only ever return the right bytes."""
    problem = ""
    copies: list[bytes] = []
    blocks: list[int | None] | None = None
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
        if len(copies) >= 2:
            blocks = _block_crcs(session, chip, address, blocks)
            for candidate in (_assemble(copies, blocks), majority(copies) if len(copies) >= 3 else None):
                if candidate is None:
                    continue
                got = beken_crc(candidate)
                if got == crc or got == chip_crc(session, chip, address, 0x1000):  # asked again only when it differs
                    return candidate
        problem = "data does not match the chip's CRC"
        crc = None  # the CRC reply (or its command) may have been the corrupted part: ask again
    raise VerifyError(f"Could not read sector 0x{address:06X} intact after {retries + 1} attempts ({problem})")


def _block_crcs(session: Session, chip: ChipProfile, address: int, known: list[int | None] | None) -> list[int | None]:
    """The chip's CRC of each 256-byte block of the sector. None marks a block to ask (again): one
    not asked yet, one whose reply was lost, and one whose CRC matched no copy (that reply may have
    been the damaged part)."""
    out: list[int | None] = list(known) if known else [None] * (0x1000 // CHUNK)
    for i, value in enumerate(out):
        if value is None:
            try:
                out[i] = chip_crc(session, chip, address + i * CHUNK, CHUNK)
            except ProtocolError:
                pass
    return out


def _assemble(copies: list[bytes], blocks: list[int | None]) -> bytes | None:
    """The sector from the copies' intact blocks, or None while a block is intact in none of them
    (its CRC is then forgotten, to be asked again next time)."""
    out = bytearray()
    for i, want in enumerate(blocks):
        piece = next(
            (
                cp[i * CHUNK : (i + 1) * CHUNK]
                for cp in copies
                if want is not None and beken_crc(cp[i * CHUNK : (i + 1) * CHUNK]) == want
            ),
            None,
        )
        if piece is None:
            blocks[i] = None
        else:
            out += piece
    return bytes(out) if len(out) == 0x1000 else None


def majority(copies: list[bytes]) -> bytes:
    """Bytewise majority of equally long copies (ties go to the earliest copy's byte)."""
    out = bytearray(copies[0])
    for i, column in enumerate(zip(*copies, strict=True)):
        if column.count(column[0]) * 2 <= len(column):
            out[i] = max(set(column), key=column.count)
    return bytes(out)
