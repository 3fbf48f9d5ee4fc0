"""``freebeken doctor``: is the wiring right, and how fast can this adapter go?

Links without the long retry loop; when that fails, the link doctor says why. When it works, each
fast rate is tried with the same proof a transfer uses (a 4 KiB read checked by the chip's CRC).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import events
from ..events import Reporter
from ..link.connect import set_baudrate, try_link
from ..link.doctor import LinkDiagnosis
from ..link.identify import identify
from ..link.session import Session, open_port
from .baud import AUTO_CANDIDATES, link_test
from .chipio import ChipIO


@dataclass
class Checkup:
    port: str
    diagnosis: LinkDiagnosis
    chip: str | None = None
    rates: dict[int, bool] = field(default_factory=dict)  # baud -> carried a proven 4 KiB read

    @property
    def ok(self) -> bool:
        return self.diagnosis.code == "linked"

    @property
    def best_rate(self) -> int | None:
        good = [baud for baud, fine in self.rates.items() if fine]
        return max(good) if good else (115200 if self.ok else None)

    def as_dict(self) -> dict[str, object]:
        return {
            "port": self.port,
            "ok": self.ok,
            "diagnosis": self.diagnosis.as_dict(),
            "chip": self.chip,
            "rates": {str(k): v for k, v in self.rates.items()},
            "best_rate": self.best_rate,
        }


def checkup(
    port: str, reporter: Reporter, timeout: float = 6.0, auto_reset: bool = True, rates: tuple[int, ...] | None = None
) -> Checkup:
    """``rates``: the fast rates to try (default: those `auto` picks from)."""
    session = Session(open_port(port), reporter)
    try:
        found = try_link(session, reporter, timeout=timeout, auto_reset=auto_reset)
        result = Checkup(port, found)
        if not result.ok:
            return result
        info = identify(session, with_mac=False)
        result.chip = info.chip.name
        io = ChipIO(session, info)
        for baud in rates or AUTO_CANDIDATES:
            events.phase(reporter, f"Trying {baud} baud")
            result.rates[baud] = set_baudrate(session, baud, reporter) and link_test(io)
            if session.baudrate != 115200:
                set_baudrate(session, 115200, reporter)
        if not any(result.rates.values()):
            tried = ", ".join(str(b) for b in result.rates)
            found.evidence.append(f"none of the rates tried ({tried}) carried a proven read")
            found.advice = (
                f"Only 115200 baud works of those tried ({tried}): transfers will take about 8x longer. Shorter "
                "wires, a CH340 or FTDI adapter, or a steadier 3.3 V supply usually allow 921600 or more."
            )
        return result
    finally:
        session.port.close()
