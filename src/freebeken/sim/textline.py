"""The UART line for chips whose download mode is a text console with X/YMODEM transfers (Realtek
AmebaZ2, Lightning LN882H), with the same timing model and faults as :mod:`.line` for Beken:

* bytes travel at the current baud (10 bits a byte); a host at another baud than the chip reads and
  sends garbage;
* the chip answers after the work takes its time (flash erase/program, hashing), times ``time_scale``;
* faults from :class:`.faults.Faults`: byte drop/corrupt/insert (above ``noisy_above`` only, when set),
  replies lost (``no_reply``), a power cut after N flash operations (the chip then stays silent until it
  is reset or its port opened again), a dead chip, and the wirings that apply (swapped: nothing arrives;
  echo: the adapter hears itself; badground: garbage both ways).

The chip model implements :class:`ConsoleChip`; this class owns the clock and the wire. A pyserial port
that is closed and opened again (as ltchiptool does to change its baud rate) keeps the same line, like a
real chip that does not notice the host reopening its port.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from .faults import Faults, garble
from .flash import NorFlash, PowerCut
from .wire import Segment, take_arrived


class ConsoleChip(Protocol):
    flash: NorFlash
    baud: int  # what the chip's UART runs at now

    def power_on(self, now: float) -> None: ...

    def receive(self, data: bytes, now: float) -> None: ...

    def tick(self, now: float) -> None: ...

    def wakeup(self) -> float | None: ...


class TextLine:
    survives_reopen = True  # see the module docstring

    def __init__(
        self,
        chip: ConsoleChip,
        *,
        time_scale: float = 1.0,
        faults: Faults | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.chip = chip
        self.time_scale = time_scale
        self.faults = faults or Faults()
        self.clock = clock
        self.lock = threading.RLock()
        self.out: deque[Segment] = deque()
        self.rx_free_at = 0.0
        self.tx_free_at = 0.0
        self.rts = False
        self.dtr = False
        self.powered = False
        self.resets = 0
        if self.faults.power_cut_after is not None:
            chip.flash.ops_before_cut = self.faults.power_cut_after
        if not self.faults.dead:
            self.power_on()

    # ---- power ----

    def power_on(self) -> None:
        with self.lock:
            self.powered = True
            self.resets += 1
            self.out.clear()
            self.chip.power_on(self.clock())

    def set_lines(self, rts: bool | None = None, dtr: bool | None = None) -> None:
        """The common auto-reset circuit: CEN held low while RTS is asserted and DTR is not."""
        with self.lock:
            if rts is not None:
                self.rts = rts
            if dtr is not None:
                self.dtr = dtr
            held = self.rts and not self.dtr and self.faults.reset_wired
            if held:
                self.powered = False
                self.out.clear()
            elif not self.powered and not self.faults.dead:
                self.power_on()

    def _guard(self, action: Callable[[], None]) -> None:
        try:
            action()
        except PowerCut:
            self.powered = False  # silent until reset or reopened

    # ---- host -> chip ----

    def byte_time(self, baud: int) -> float:
        return 10.0 / baud * self.time_scale

    def write(self, data: bytes, host_baud: int) -> float:
        with self.lock:
            now = self.clock()
            self._advance(now)
            bt = self.byte_time(host_baud)
            start = max(now, self.rx_free_at)
            self.rx_free_at = start + len(data) * bt
            wiring = self.faults.wiring
            if wiring == "echo":
                self._queue(data, start, host_baud)
            if not self.powered or wiring in ("swapped", "echo", "tx2"):
                return self.rx_free_at
            if wiring == "badground":
                data = garble(data, 1.0)
            if host_baud != self.chip.baud:
                data = garble(data, self.chip.baud / host_baud)
            data = self._mangle(data)
            arrived = self.rx_free_at
            self._guard(lambda: self.chip.receive(data, arrived))
            return self.rx_free_at

    def _mangle(self, data: bytes) -> bytes:
        if self.faults.noisy_above and self.chip.baud <= self.faults.noisy_above:
            return data
        return self.faults.mangle(data)

    def _advance(self, now: float) -> None:
        if self.powered:
            self._guard(lambda: self.chip.tick(now))

    # ---- chip -> host (called by the chip model) ----

    def send(self, data: bytes, t: float, *, reply: bool = True) -> float:
        """Queue chip output starting no earlier than ``t`` at the chip's baud; returns when it has left.
        ``reply``: an answer to a command (the ``no_reply`` fault may swallow it)."""
        if not self.powered:
            return t
        if reply and self.faults.no_reply and self.faults.rng.random() < self.faults.no_reply:
            return t
        wiring = self.faults.wiring
        if wiring in ("swapped", "echo"):
            return t
        if wiring == "badground":
            data = garble(data, 1.0)
        return self._queue(self._mangle(data), t, self.chip.baud)

    def _queue(self, data: bytes, t: float, baud: int) -> float:
        bt = self.byte_time(baud)
        start = max(t, self.tx_free_at)
        self.tx_free_at = start + len(data) * bt
        self.out.append(Segment(start, bt, baud, data))
        return self.tx_free_at

    def read(self, host_baud: int, limit: int) -> bytes:
        with self.lock:
            now = self.clock()
            self._advance(now)
            return take_arrived(self.out, now, host_baud, limit)

    def next_arrival(self) -> float | None:
        with self.lock:
            if self.out:
                seg = self.out[0]
                return seg.start + (seg.sent + 1) * seg.byte_time
            return self.chip.wakeup() if self.powered else None

    def pending(self) -> int:
        with self.lock:
            return sum(len(s.data) - s.sent for s in self.out)

    def discard_input(self) -> None:
        self.read(0, 1 << 30)
