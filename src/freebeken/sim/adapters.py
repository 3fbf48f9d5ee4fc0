"""USB-serial adapters between the computer and the chip, as data (sources: docs/adapters.md).

What matters for a command/reply protocol: how long a byte takes from the wire into the program
(USB polling, the FTDI latency timer) and out of it, and which baud rates the adapter can really
produce (a rate it cannot hit within a UART's tolerance reads as garbage).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError

UART_TOLERANCE = 0.025  # both ends together; a larger rate error breaks framing


@dataclass(frozen=True)
class AdapterProfile:
    name: str
    rx_latency: float  # seconds from the last byte on the wire to the program (typical worst case)
    tx_latency: float  # seconds from write() to the first bit on the wire
    clock: float | None  # Hz of the baud generator; None: any rate is exact
    min_divisor: float = 1.0
    divisor_step: float = 1.0  # the finest divisor step (FTDI: 1/8)
    rates: tuple[int, ...] = ()  # a fixed table instead of a divisor (CP2102)
    max_baud: int = 6_000_000
    note: str = ""

    def actual(self, baud: int) -> float:
        """The rate the adapter produces when asked for ``baud``."""
        if baud > self.max_baud:
            return float(self.max_baud)
        if self.rates:
            return float(min(self.rates, key=lambda r: abs(r - baud)))
        if self.clock is None:
            return float(baud)
        divisor = max(self.min_divisor, round(self.clock / baud / self.divisor_step) * self.divisor_step)
        return self.clock / divisor

    def on_wire(self, baud: int) -> int:
        """``baud`` itself when the adapter hits it closely enough, else the (wrong) rate it makes."""
        if baud <= 0:  # "any rate" (the line's own bookkeeping, e.g. discarding input)
            return baud
        made = self.actual(baud)
        return baud if abs(made - baud) / baud <= UART_TOLERANCE else int(made)


# Rates CP2102's baud generator supports (Silicon Labs CP2102 datasheet, "baud rate" table; above
# 921600 only with the CP2102N/CP2104).
_CP2102 = (
    300,
    600,
    1200,
    1800,
    2400,
    4000,
    4800,
    7200,
    9600,
    14400,
    16000,
    19200,
    28800,
    38400,
    51200,
    56000,
    57600,
    64000,
    76800,
    115200,
    128000,
    153600,
    230400,
    250000,
    256000,
    460800,
    500000,
    576000,
    921600,
)

ADAPTERS: dict[str, AdapterProfile] = {
    "ideal": AdapterProfile("ideal", 0.0, 0.0, None, note="no USB: the simulator's own line"),
    "ch340": AdapterProfile(
        "ch340",
        0.002,
        0.001,
        12_000_000,
        min_divisor=6,
        max_baud=2_000_000,
        note="WCH CH340: 50 bps..2 Mbps from 12 MHz; bulk every 1 ms frame, its receive timeout adds ~1 ms",
    ),
    "cp2102": AdapterProfile(
        "cp2102",
        0.002,
        0.001,
        None,
        rates=_CP2102,
        max_baud=921_600,
        note="Silicon Labs CP2102: a fixed table up to 921600; 1.5 M and 2 M are not possible",
    ),
    "ftdi": AdapterProfile(
        "ftdi",
        0.016,
        0.001,
        3_000_000,
        min_divisor=1,
        divisor_step=0.125,
        max_baud=3_000_000,
        note="FTDI FT232R: 3 MHz / (n + k/8); a short reply waits for the 16 ms latency timer (driver default)",
    ),
    "pl2303": AdapterProfile(
        "pl2303",
        0.002,
        0.001,
        None,
        rates=(9600, 19200, 38400, 57600, 115200, 230400, 460800, 614400, 921600, 1228800),
        max_baud=1_228_800,
        note="Prolific PL2303 (HXA and clones): standard rates up to 1228800; 1.5 M fails (peers' trackers)",
    ),
}


def adapter_by_name(name: str) -> AdapterProfile:
    try:
        return ADAPTERS[name.lower()]
    except KeyError:
        raise UsageError(f"Unknown adapter profile {name!r}", hint=f"Use one of: {', '.join(ADAPTERS)}.") from None
