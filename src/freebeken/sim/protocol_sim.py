"""pyserial URL handler: ``serial.serial_for_url("sim://bk7231n?time_scale=0")``.

pyserial finds it through ``serial.protocol_handler_packages`` (``freebeken.sim`` registers
itself on import), so anything that opens ports with ``serial_for_url`` can talk to the simulator.
"""

from __future__ import annotations

import time

from serial import PortNotOpenError, SerialBase, SerialException

from ..locks import Held, hold
from .config import SimConfig, save_image
from .families import config_for_url
from .line import SimLine


class Serial(SerialBase):
    is_open: bool  # set by SerialBase.__init__ (unannotated there)
    line: SimLine | None = None
    config: SimConfig | None = None

    def open(self) -> None:
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        if self.is_open:
            raise SerialException("Port is already open.")
        config = config_for_url(self.portstr)  # Beken's SimConfig, or another family's
        self.config = config  # type: ignore[assignment]  # the families' config offers what this class uses of it
        # one program per simulated chip, as a real port is opened exclusively
        self._lock: Held | None = hold(config.image, f"the simulated chip {config.image}") if config.image else None
        # a line that survives a reopen (the non-Beken chips: ltchiptool reopens the port to change baud) is kept
        if self.line is None or not getattr(self.line, "survives_reopen", False):
            self.line = config.build()  # type: ignore[assignment]  # likewise its line
        self.is_open = True
        self._update_lines()

    def close(self) -> None:
        try:
            if self.is_open and self.line is not None and self.config is not None:
                if self.config.image is not None:
                    save_image(self.config.image, self.line.chip.flash.data)
        finally:
            self.is_open = False
            lock = getattr(self, "_lock", None)
            if lock is not None:
                lock.release()

    def _reconfigure_port(self) -> None:
        pass  # the line reads our baudrate on every transfer

    def _update_lines(self) -> None:
        if self.line is not None:
            self.line.set_lines(rts=self._rts_state, dtr=self._dtr_state)

    _update_rts_state = _update_lines
    _update_dtr_state = _update_lines

    @property
    def time_scale(self) -> float:
        return self.config.time_scale if self.config else 1.0

    def _line(self) -> SimLine:
        if not self.is_open or self.line is None:
            raise PortNotOpenError()
        return self.line

    @property
    def in_waiting(self) -> int:
        line = self._line()
        self._buffer = getattr(self, "_buffer", b"") + line.read(self._baudrate, 1 << 30)
        return len(self._buffer)

    def read(self, size: int = 1) -> bytes:
        line = self._line()
        buf = bytearray(getattr(self, "_buffer", b""))
        self._buffer = b""
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        while len(buf) < size:
            buf += line.read(self._baudrate, size - len(buf))
            if len(buf) >= size:
                break
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            nxt = line.next_arrival()
            wait = 0.01 if nxt is None else max(0.0, nxt - now)
            if deadline is not None:
                wait = min(wait, deadline - now)
            if wait > 0:
                time.sleep(wait)
        if len(buf) > size:
            self._buffer = bytes(buf[size:])
            del buf[size:]
        return bytes(buf)

    def write(self, data: bytes) -> int:
        self._tx_done = self._line().write(bytes(data), self._baudrate)
        return len(data)

    def flush(self) -> None:
        """Like a real UART: return when the bytes have left."""
        wait = getattr(self, "_tx_done", 0.0) - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def reset_input_buffer(self) -> None:
        self._buffer = b""
        self._line().discard_input()

    def reset_output_buffer(self) -> None:
        pass

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True
