"""Decide, sector by sector, what a write needs: nothing, erase, write, or both. Pure.

Input: the wanted content of each 4 KiB sector and the CRC the chip reports for it now.
A sector whose CRC already matches is skipped; a blank target only needs an erase; a blank
sector only needs programming. Whole 64 KiB blocks are erased at once where that is cheaper than
separate 4 KiB erases (counting any identical sectors the block erase forces us to rewrite).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..protocol import beken_crc
from ..protocol.crc import BLANK_SECTOR_CRC

SECTOR = 0x1000
BLOCK = 0x10000
SKIP, ERASE, WRITE, ERASE_WRITE = "skip", "erase", "write", "erase+write"
UNKNOWN = -1  # a "current CRC" no sector has: its content was not asked, so it is erased and written
#: Images that replace the chip's application (OpenBeken release files): once a whole 64 KiB block of
#: one shares nothing with the chip, what follows is new too and need not be asked about. Everything
#: else (a backup put back, a repair, a raw image) is mostly what the chip holds already: after a 0.5
#: MiB flash a restore differs in 128 sectors of 496, and only asking each block tells which.
FRESH_KINDS = frozenset({"app", "full"})


def rest_is_new(kind: str, same: int, blank: bool, run: int) -> bool:
    """After comparing one run of sectors (``same`` of ``run`` identical, ``blank`` if any was
    erased): may the sectors after it be taken as new (erased and written without asking)?"""
    return kind in FRESH_KINDS and same == 0 and not blank and run == BLOCK // SECTOR


def sector_spans(start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(sector address, lo, hi) for each 4 KiB sector that [start, end) touches; [lo, hi) is
    the part of it inside the range."""
    for address in range(start & ~(SECTOR - 1), end, SECTOR):
        yield address, max(address, start), min(address + SECTOR, end)


@dataclass(frozen=True)
class SectorStep:
    address: int
    action: str
    crc: int  # the CRC the chip must report once the step is done

    @property
    def erases(self) -> bool:
        return self.action in (ERASE, ERASE_WRITE)

    @property
    def writes(self) -> bool:
        return self.action in (WRITE, ERASE_WRITE)


@dataclass
class Plan:
    steps: list[SectorStep]
    block_erases: list[int] = field(default_factory=list)  # 64K blocks erased whole

    def count(self, action: str) -> int:
        return sum(1 for s in self.steps if s.action == action)

    @property
    def bytes_to_write(self) -> int:
        return sum(SECTOR for s in self.steps if s.writes)


@dataclass(frozen=True)
class Costs:
    """Seconds; used only to choose between one 64K erase and several 4K erases."""

    erase_4k: float = 0.045
    erase_64k: float = 0.25
    write_sector: float = 0.06


def sector_action(target: bytes, current_crc: int) -> tuple[str, int]:
    crc = beken_crc(target)
    if crc == current_crc:
        return SKIP, crc
    if crc == BLANK_SECTOR_CRC:
        return ERASE, crc
    if current_crc == BLANK_SECTOR_CRC:
        return WRITE, crc
    return ERASE_WRITE, crc


def make_plan(targets: dict[int, bytes], current: dict[int, int], costs: Costs = Costs(), lowest_block: int = 0) -> Plan:
    """``targets``: sector address -> 4096 bytes wanted; ``current``: address -> chip CRC now.
    Blocks starting below ``lowest_block`` are never erased whole."""
    steps = {a: SectorStep(a, *sector_action(t, current[a])) for a, t in sorted(targets.items())}
    block_erases: list[int] = []
    for block in sorted({a & ~(BLOCK - 1) for a in steps}):
        members = [steps.get(block + i * SECTOR) for i in range(BLOCK // SECTOR)]
        if block < lowest_block or any(m is None for m in members):
            continue
        need_erase = [m for m in members if m and m.erases]
        rewrite = [m for m in members if m and m.action == SKIP and m.crc != BLANK_SECTOR_CRC]
        separate = len(need_erase) * costs.erase_4k
        whole = costs.erase_64k + len(rewrite) * costs.write_sector
        if need_erase and whole < separate:
            block_erases.append(block)
            for m in members:
                assert m is not None
                if m.crc == BLANK_SECTOR_CRC:
                    steps[m.address] = SectorStep(m.address, SKIP, m.crc)  # the block erase does it
                else:
                    steps[m.address] = SectorStep(m.address, WRITE, m.crc)
    return Plan(list(steps.values()), block_erases)
