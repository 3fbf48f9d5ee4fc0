"""Writes that went astray. A command whose address was corrupted or shifted on the line lands
somewhere else - on BK7231T even in the bootloader, whose check compares the raw address while
addresses wrap at the flash size. Nothing on the line prevents that, so a write is followed by
proof: the CRC of every 64 KiB block outside the image must be what it was before the write,
and the image must read back whole (a stray write can also hit a sector verified earlier).

The outside CRCs are taken at the start of every attempt of a write and kept in its journal;
they are compared afterwards when the line showed any trouble (an attempt that failed counts),
and always for the region no UART write may touch. Where an earlier attempt left the outside
changed, the older CRCs stand only when that attempt provably did it (``outside_baseline``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import events
from ..errors import SafetyError, VerifyError
from ..link.identify import agreed
from .chipio import ChipIO
from .plan import BLOCK, SECTOR

Span = tuple[int, int]  # (start, length)


def outside_spans(start: int, end: int, size: int) -> list[Span]:
    """The flash outside [start, end) (sector-aligned), cut at 64 KiB block boundaries."""
    start, end = start & ~(SECTOR - 1), (end + SECTOR - 1) & ~(SECTOR - 1)
    spans: list[Span] = []
    for lo, hi in ((0, start), (end, size)):
        a = lo
        while a < hi:
            b = min(hi, (a // BLOCK + 1) * BLOCK)
            spans.append((a, b - a))
            a = b
    return spans


@dataclass
class Snapshot:
    crcs: dict[Span, int]
    protected_below: int  # the chip's never-written region (BK7231T bootloader), 0 if none

    def critical(self) -> list[Span]:
        return [s for s in self.crcs if s[0] < self.protected_below]

    def to_json(self) -> dict[str, int]:
        return {f"{a}:{n}": crc for (a, n), crc in self.crcs.items()}

    @classmethod
    def from_json(cls, data: dict[str, int], io: ChipIO) -> Snapshot:
        crcs = {(int(k.split(":")[0]), int(k.split(":")[1])): int(v) for k, v in data.items()}
        return cls(crcs, 0 if io.chip.bootloader_writable else io.chip.app_start)


def snapshot(io: ChipIO, start: int, end: int) -> Snapshot:
    """CheckCRC echoes neither address nor length: a command damaged on the line answers for
    another range, and a wrong "before" would read as a stray write on every later run. Once the
    line has shown trouble (any retry on this link), each block's CRC is read until two agree."""
    spans = outside_spans(start, end, io.size)
    confirm = bool(io.session.retries_used)
    crcs = {s: _confirmed(io, *s) if confirm else io.crc(*s) for s in spans}
    return Snapshot(crcs, 0 if io.chip.bootloader_writable else io.chip.app_start)


def _confirmed(io: ChipIO, address: int, length: int, first: int | None = None) -> int:
    return agreed(lambda: io.crc(address, length), f"CRC of 0x{address:06X}-0x{address + length - 1:06X}", first=first)


class StrayWrite(VerifyError):
    """Something outside the image changed while writing; ``spans`` say where."""

    def __init__(self, spans: list[Span], before: dict[Span, int]) -> None:
        where = ", ".join(f"0x{a:06X}-0x{a + n:06X}" for a, n in spans)
        super().__init__(
            f"The flash changed outside the image while writing ({where}): a command was damaged on the serial line",
            hint="Restore this chip's backup (freebeken restore -p PORT BACKUP.bin) and use a lower baud rate "
            "(-b 115200), shorter wires or a better 3.3 V supply.",
        )
        self.spans = spans
        self.before = before


def check(io: ChipIO, shot: Snapshot, everything: bool) -> None:
    """Raise if the region UART never writes changed (always checked), or - when ``everything``
    - any block outside the image changed."""
    spans = list(shot.crcs) if everything else shot.critical()
    # a difference is read again until two copies agree: one damaged reply is not a stray write
    changed = [s for s in spans if (crc := io.crc(*s)) != shot.crcs[s] and _confirmed(io, *s, first=crc) != shot.crcs[s]]
    critical = [s for s in changed if s[0] < shot.protected_below]
    if critical:
        raise SafetyError(
            f"The {io.chip.name} bootloader region changed while writing: a command was damaged on the serial line "
            "and landed there",
            hint="Do not power the plug off if it still answers; UART cannot rewrite this bootloader. Read it out "
            "with `freebeken backup`, and repair it with an SPI programmer from this chip's backup.",
        )
    if changed:
        raise StrayWrite(changed, {s: shot.crcs[s] for s in changed})


def outside_baseline(io: ChipIO, now: Snapshot, recorded: Snapshot | None, after: dict[str, int] | None) -> Snapshot:
    """What the outside of the image must still hold once this run has written: what it holds
    now, at the start of this run. Where it changed since an earlier attempt recorded it, the old
    value stands only when that attempt provably made the change: it left its own snapshot
    (``after``) and the chip still matches it everywhere outside the image, so nothing else wrote
    to the chip since. A repair then puts back only what an attempt of this write damaged, never
    content older than another program's newer writing. A bootloader UART never writes (T) keeps
    its old value: a change there is reported whatever made it."""
    if recorded is None:
        return now
    moved = [s for s, crc in now.crcs.items() if s in recorded.crcs and recorded.crcs[s] != crc]
    if not moved:
        return now
    proven = after is not None and Snapshot.from_json(after, io).crcs == now.crcs
    keep = moved if proven else [s for s in moved if s[0] < now.protected_below]
    if len(keep) < len(moved):
        where = ", ".join(f"0x{a:06X}-0x{a + n - 1:06X}" for a, n in moved if (a, n) not in keep)
        events.warning(
            io.reporter,
            f"The flash outside the image changed since the interrupted attempt ({where}), and nothing shows that "
            "attempt did it: another program may have written there. It is left as it is (not put back from a "
            "backup); if nothing else wrote to this chip, compare it with your backup (freebeken verify).",
        )
    return Snapshot({s: recorded.crcs[s] if s in keep else crc for s, crc in now.crcs.items()}, now.protected_below)
