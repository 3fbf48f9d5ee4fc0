"""The UART line between a host and a simulated chip, with real-world timing.

* Bytes travel at the current baud (10 bits per byte). Host and chip each have their own baud;
  when they differ, the receiver sees garbage (as after an unfollowed SetBaudRate).
* The chip answers a command after its last byte arrived plus the time the work takes
  (flash erase/program, CRC). ``time_scale`` multiplies every modelled duration: 1 = real timing,
  0 = instant (tests).
* After power-on or reset (CEN pulse through RTS/DTR, Reboot), the loader listens for a LinkCheck
  during ``boot_window`` seconds of real time (not scaled: it races the host's real loop); then the
  "application" boots and prints log lines at 115200 every ``noise_period`` seconds.
* Reset wiring follows the common two-transistor auto-reset circuit: the chip is held in reset
  while RTS is asserted and DTR is not.

Thread-safe: the pty server calls it from two threads.
"""

from __future__ import annotations

import struct
import threading
import time
from collections import deque
from collections.abc import Callable

from ..chips.profiles import SCTRL_EFUSE_CTRL, SCTRL_EFUSE_OPTR
from ..protocol import commands as c
from .adapters import ADAPTERS, AdapterProfile
from .chip import PacketParser, SimChip
from .faults import Faults, garble
from .flash import PowerCut
from .wire import Segment, take_arrived

BOOT_BAUD = 115200
TUYA_MCU_HEARTBEAT = bytes.fromhex("55aa00000000ff")  # the module's heartbeat query to its MCU
APP_LOG = (
    b"[01-01 00:00:0%d TUYA Info][mqc_app.c:171] mqtt get serve ip success\r\n",
    b"[01-01 00:00:0%d TUYA Notice][tuya_main.c:312] wifi status changed: 2\r\n",
    b"ap_cfg: rssi -61, channel %d\r\n",
)


class SimLine:
    def __init__(
        self,
        chip: SimChip,
        *,
        time_scale: float = 1.0,
        boot_window: float = 0.3,
        stay_in_loader: bool = False,
        faults: Faults | None = None,
        noise_period: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        adapter: AdapterProfile = ADAPTERS["ideal"],
    ) -> None:
        self.chip = chip
        self.adapter = adapter
        self.time_scale = time_scale
        self.boot_window = boot_window
        self.stay_in_loader = stay_in_loader
        self.faults = faults or Faults()
        self.noise_period = noise_period
        self.clock = clock
        self.lock = threading.RLock()
        self.parser = PacketParser()
        self.chip_baud = BOOT_BAUD
        self.state = "off"  # off | reset | window | loader | app
        self.window_end = 0.0
        self.next_noise = 0.0
        self.noise_count = 0
        self.rx_free_at = 0.0  # host->chip line busy until
        self.tx_free_at = 0.0  # chip->host line busy until
        self.chip_free_at = 0.0
        self.out: deque[Segment] = deque()
        self.rts = False
        self.dtr = False
        self.resets = 0
        self.app_input = bytearray()
        self.efuse_index = 0  # the eFuse byte the last read started on (for the efuse_* faults)
        self.efuse_flipped: set[int] = set()
        if self.faults.power_cut_after is not None:
            chip.flash.ops_before_cut = self.faults.power_cut_after
        if not self.faults.dead:
            self.power_on()

    # ---- power and reset ----

    def power_on(self) -> None:
        with self.lock:
            self._boot(self.clock())

    def power_off(self) -> None:
        with self.lock:
            self.state = "off"
            self.out.clear()

    def set_lines(self, rts: bool | None = None, dtr: bool | None = None) -> None:
        with self.lock:
            if rts is not None:
                self.rts = rts
            if dtr is not None:
                self.dtr = dtr
            held = self.rts and not self.dtr and self.faults.reset_wired
            if held and self.state != "reset":
                self.state = "reset"
                self.out.clear()
            elif not held and self.state == "reset" and not self.faults.dead:
                self._boot(self.clock())  # CEN released: also restores power after a cut

    def _boot(self, now: float) -> None:
        self.resets += 1
        self.state = "window"
        self.window_end = now + self.boot_window
        self.chip_baud = BOOT_BAUD
        self.parser.reset()
        self.chip.reset()
        self.chip_free_at = now

    def _advance(self, now: float) -> None:
        """Let time pass: close the boot window, let the app print."""
        if self.state == "window" and not self.stay_in_loader and now > self.window_end:
            self.state = "app"
            self.chip_baud = BOOT_BAUD
            self.next_noise = self.window_end
        if self.state == "app":
            while self.next_noise <= now:
                if self.faults.mcu_chatter:  # a TuyaMCU firmware talks to its MCU on UART1, logs elsewhere
                    self._send(TUYA_MCU_HEARTBEAT, self.next_noise, baud=self.faults.mcu_chatter)
                else:
                    line = APP_LOG[self.noise_count % len(APP_LOG)] % (self.noise_count % 10)
                    self._send(line, self.next_noise, log=True)
                self.noise_count += 1
                self.next_noise += self.noise_period

    # ---- host -> chip ----

    def byte_time(self, baud: int) -> float:
        return 10.0 / baud * self.time_scale

    def write(self, data: bytes, host_baud: int) -> float:
        """Host sends ``data``; returns the (real) time when the last byte has left the host."""
        if self.faults.ctrl_c_after is not None and self.chip.commands >= self.faults.ctrl_c_after:
            self.faults.ctrl_c_after = None  # pressed once
            raise KeyboardInterrupt
        with self.lock:
            now = self.clock() + self.adapter.tx_latency * self.time_scale  # the USB OUT transfer
            host_baud = self.adapter.on_wire(host_baud)
            self._advance(now)
            bt = self.byte_time(host_baud)
            start = max(now, self.rx_free_at)
            self.rx_free_at = start + len(data) * bt
            wiring = self.faults.wiring
            if wiring == "echo":  # the adapter hears its own bytes
                self._send(data, start, baud=host_baud, wire=True)
            if self.state in ("off", "reset") or wiring == "swapped":
                return self.rx_free_at
            if wiring == "badground":
                data = garble(data, 1.0)
            if self.faults.mcu_chatter:  # the MCU's TX drives the same RX1 and overpowers the adapter's
                data = garble(data, 1.0)
            if host_baud != self.chip_baud:
                data = garble(data, self.chip_baud / host_baud)
            data = self._mangle(data)
            if self.state == "app":
                self._app_receive(data, start + len(data) * bt)
                return self.rx_free_at
            for index, pkt in self.parser.feed(data):
                arrived = start + (index + 1) * bt
                self._execute(pkt, arrived)
                if self.state not in ("window", "loader"):
                    break
            return self.rx_free_at

    def _execute(self, pkt, arrived: float) -> None:
        if self.state == "window":
            if arrived > self.window_end and not self.stay_in_loader:
                self._advance(arrived)
                return
            linking = (not pkt.is_long) and pkt.code in (c.LINK_CHECK, c.STAY_ROM)
            if not linking:
                return
            self.state = "loader"
        t = max(arrived, self.chip_free_at)
        try:
            outcome = self.chip.handle(pkt)
        except PowerCut:
            self.power_off()
            self.state = "off"
            return
        t += outcome.busy * self.time_scale
        self.chip_free_at = t
        if outcome.reset:
            self._boot(t)
            return
        if outcome.new_baud:
            self.chip_baud = outcome.new_baud
        if outcome.reply is not None and not (self.faults.no_reply and self.faults.rng.random() < self.faults.no_reply):
            self._send(self._mangle(self._efuse_fault(pkt, outcome.reply)), t)
            self.chip_free_at = self.tx_free_at  # the loader sends its reply before reading on

    def _efuse_fault(self, pkt, reply: bytes) -> bytes:
        """A bit flipped in the value of an eFuse byte read (efuse_flip, efuse_noise): the reply's
        frame and echoed address stay intact, so nothing on the line can tell."""
        if pkt.is_long or len(pkt.payload) < 4:
            return reply
        (addr,) = struct.unpack_from("<I", pkt.payload)
        if pkt.code == c.WRITE_REG and addr == SCTRL_EFUSE_CTRL and len(pkt.payload) >= 8:
            value = struct.unpack_from("<I", pkt.payload, 4)[0]
            if value & 1:
                self.efuse_index = (value >> 8) & 0x1F
        if pkt.code != c.READ_REG or addr != SCTRL_EFUSE_OPTR:
            return reply
        faults, bit = self.faults, None
        if faults.efuse_flip == self.efuse_index and self.efuse_index not in self.efuse_flipped:
            self.efuse_flipped.add(self.efuse_index)
            bit = 4
        elif faults.efuse_noise and faults.rng.random() < faults.efuse_noise:
            bit = faults.rng.randrange(8)
        if bit is None:
            return reply
        flipped = bytearray(reply)
        flipped[-4] ^= 1 << bit  # the value's low byte: the eFuse byte
        return bytes(flipped)

    def _mangle(self, data: bytes) -> bytes:
        """Line faults; with ``noisy_above`` they only hit rates the adapter cannot do cleanly."""
        if self.faults.noisy_above and self.chip_baud <= self.faults.noisy_above:
            return data
        return self.faults.mangle(data)

    def _app_receive(self, data: bytes, t: float) -> None:
        # OpenBeken and Tuya apps accept "reboot" on their UART console (hid_download relies on it)
        self.app_input += data
        if b"reboot" in self.app_input and self.faults.console:
            self.app_input.clear()
            self._boot(t)
        elif len(self.app_input) > 64:
            del self.app_input[:-8]

    def _send(self, data: bytes, t: float, *, log: bool = False, baud: int = 0, wire: bool = False) -> None:
        """Queue chip output (or, ``wire``, the host's own echo) for the host, as the wiring lets it through:
        the log reaches an adapter on TX2 as well as one on TX1 (this model prints it on both)."""
        wiring = self.faults.wiring
        if not wire and (wiring in ("swapped", "echo") or (wiring == "tx2" and not log)):
            return
        if wiring == "badground":
            data = garble(data, 1.0)
        baud = baud or self.chip_baud
        bt = self.byte_time(baud)
        start = max(t, self.tx_free_at)
        self.tx_free_at = start + len(data) * bt
        self.out.append(Segment(start, bt, baud, data))

    # ---- chip -> host ----

    def read(self, host_baud: int, limit: int) -> bytes:
        """Bytes that have fully arrived at the host by now (at most ``limit``)."""
        with self.lock:
            now = self.clock()
            self._advance(now)
            now -= self.adapter.rx_latency * self.time_scale  # what the adapter has handed over by now
            host_baud = self.adapter.on_wire(host_baud)
            return take_arrived(self.out, now, host_baud, limit)

    def next_arrival(self) -> float | None:
        """When the next byte will have arrived at the host (None: nothing scheduled)."""
        with self.lock:
            if self.out:
                seg = self.out[0]
                return seg.start + (seg.sent + 1) * seg.byte_time + self.adapter.rx_latency * self.time_scale
            if self.state == "app":
                return self.next_noise
            if self.state == "window" and not self.stay_in_loader:
                return self.window_end + 1e-6
            return None

    def pending(self) -> int:
        with self.lock:
            return sum(len(s.data) - s.sent for s in self.out)

    def discard_input(self) -> None:
        """Host flushes its receive buffer: everything arrived so far is dropped."""
        self.read(0, 1 << 30)  # baud 0 never matches; content irrelevant
