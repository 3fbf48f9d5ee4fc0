"""How many times a sector that did not verify is written again, and when a write stops for the
line. Pure: numbers in, numbers out (the writer counts; this decides).

The loader does not check a write command's data: a 4 KiB frame arrives intact with the chance
(1 - error rate per byte) ** 4110, 66 % at 1e-4, 29 % at 3e-4, 1.6 % at 1e-3. So on a line that
spoils many writes a sector gets as many rewrites as make giving up on it rare (one in a
million), up to MAX_REWRITES; the line's quality comes from the other sectors, so a sector that
never verifies on a good line (protected, failing flash) is still given up after WRITE_RETRIES.
Erase and write commands are unchecked too, and one damaged on the line lands elsewhere: on a
line that spoils nearly every write (measured at 1e-3: 24 minutes of rewrites, then five blocks
outside the image changed) the write stops early and says the line is the cause.
Where UART cannot rewrite the bootloader (BK7231T/U: the loader lives in it), a damaged
command's worst landing is a bricked chip (addresses past 2 MiB wrap onto it unchecked), so
there the budget stays a clean line's and a line that spoils half the writes stops the write.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..chips import ChipProfile

WRITE_RETRIES = 10  # rewrites of a sector on a line that writes most sectors at the first try
MAX_REWRITES = 100
GIVE_UP = 1e-6
HOPELESS = 0.05  # share of writes arriving intact below which a write is not worth going on
HOPELESS_WHERE_FATAL = 0.5


@dataclass(frozen=True)
class RewritePolicy:
    fatal_landing: bool  # a damaged command can land on a bootloader UART cannot rewrite
    retries: int = WRITE_RETRIES
    max_rewrites: int = MAX_REWRITES
    give_up: float = GIVE_UP
    hopeless_below: float = HOPELESS
    hopeless_where_fatal: float = HOPELESS_WHERE_FATAL

    @classmethod
    def for_chip(cls, chip: ChipProfile) -> RewritePolicy:
        return cls(fatal_landing=not chip.bootloader_writable)

    @staticmethod
    def quality(verified: int, rewritten: int, own_failures: int = 0) -> float:
        """The share of sector writes that verified at once, judged by the other sectors (those
        of the sector in question, ``own_failures``, left out), with a neutral prior (one success,
        one failure) while there are few."""
        bad = rewritten - own_failures
        return (verified + 1) / (verified + bad + 2)

    def budget(self, verified: int, rewritten: int, own_failures: int) -> int:
        """Rewrites one sector gets before the writer comes back to it (or gives up on it)."""
        p = self.quality(verified, rewritten, own_failures)
        if p >= 0.9 or self.fatal_landing:
            return self.retries
        return min(self.max_rewrites, max(self.retries, math.ceil(math.log(self.give_up) / math.log(1 - p))))

    def hopeless(self, verified: int, rewritten: int) -> bool:
        """Every further command over this line risks more than it gains: stop the write."""
        if self.fatal_landing:
            return rewritten >= 20 and self.quality(verified, rewritten) < self.hopeless_where_fatal
        return rewritten >= 50 and self.quality(verified, rewritten) < self.hopeless_below
