"""Command/reply exchange over one serial port (real, or ``sim://``).

The port is anything pyserial-like (``read``, ``write``, ``flush``, ``in_waiting``, ``baudrate``,
``rts``/``dtr``): that is the one serial interface, and the simulator implements it too.
"""

from __future__ import annotations

import time
from typing import Any, Protocol, runtime_checkable

import serial

from .. import events
from ..errors import ChipStatusError, LinkError, PortError, ProtocolError, UsageError
from ..events import NullReporter, Reporter
from ..protocol import commands as c
from ..protocol.frames import Reply, ReplyScanner
from .ports import example_port, open_error

POLL = 0.02  # port read timeout: short, so deadlines are honoured without reconfiguring the port


class SerialPort(Protocol):
    baudrate: int
    timeout: float | None
    rts: bool
    dtr: bool

    def read(self, size: int = 1) -> bytes: ...
    def write(self, data: bytes) -> int | None: ...
    def flush(self) -> None: ...
    def reset_input_buffer(self) -> None: ...
    def close(self) -> None: ...
    @property
    def in_waiting(self) -> int: ...


def open_port(port: str, baudrate: int = 115200) -> SerialPort:
    """Open a real serial port or a ``sim://`` simulator URL."""
    from .. import sim  # noqa: F401  registers sim:// with pyserial

    if not port:
        raise UsageError(
            "No port given",
            hint=f"Pass -p {example_port()} (`freebeken ports` lists them), or sim://bk7231t to try the simulator.",
        )
    try:
        # exclusive: a second program on the same port would interleave the chip's replies
        return serial.serial_for_url(port, baudrate=baudrate, timeout=POLL, exclusive=True)
    except serial.SerialException as e:
        raise open_error(port, e) from None
    except ValueError as e:
        raise PortError(f"Cannot use serial port {port}: {e}") from e


@runtime_checkable
class ScaledPort(Protocol):
    """An optional port capability: a simulator whose clock runs ``time_scale`` times real time
    (``sim://...?time_scale=0.02``). Chip work then takes proportionally less; a real port lacks it."""

    @property
    def time_scale(self) -> float: ...


class Session:
    """Sends commands to a linked loader and returns typed results.

    Replies are searched for in the byte stream, so log noise and stale replies are skipped;
    on timeout or a garbled reply the command is re-sent up to ``retries`` times.
    """

    def __init__(self, port: SerialPort, reporter: Reporter | None = None) -> None:
        self.port = port
        self.reporter = reporter or NullReporter()
        self.scanner = ReplyScanner()
        self.retries_used = 0
        self.work_scale = max(0.0, min(1.0, port.time_scale)) if isinstance(port, ScaledPort) else 1.0
        if port.timeout != POLL:
            port.timeout = POLL

    @property
    def baudrate(self) -> int:
        return self.port.baudrate

    def wire_time(self, nbytes: int) -> float:
        return nbytes * 10 / self.port.baudrate

    def send(self, cmd: c.Command) -> None:
        self.write(cmd.frame())

    def write(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except (serial.SerialException, OSError) as e:
            raise PortError(f"Writing to the serial port failed: {e}") from e

    def drain(self, quiet: float = 0.02) -> None:
        """Read and drop input until the line has been quiet for ``quiet`` seconds."""
        self.scanner.clear()
        until = time.monotonic() + quiet
        while time.monotonic() < until:
            if self._read_some():
                until = time.monotonic() + quiet

    def _read_some(self) -> bytes:
        try:
            data = self.port.read(max(1, self.port.in_waiting))
        except (serial.SerialException, OSError) as e:
            raise PortError(f"Reading from the serial port failed: {e}") from e
        if data:
            self.scanner.feed(data)
        return data

    def wait_reply(self, cmd: c.Command, timeout: float) -> Reply | None:
        key = cmd.reply_key
        assert key is not None
        deadline = time.monotonic() + timeout
        while True:
            reply = self.scanner.find(key)
            if reply is not None:
                return reply
            if time.monotonic() >= deadline:
                return None
            self._read_some()

    def alive(self) -> bool:
        """Does the loader still answer a LinkCheck? (A silent command may just have been lost.)"""
        probe = c.LinkCheck()
        for _ in range(3):
            self.drain(0.002)
            self.send(probe)
            if self.wait_reply(probe, 0.02 + self.wire_time(16)) is not None:
                return True
        return False

    def _unstick(self) -> bool:
        """A long command whose length bytes were damaged on the line leaves the loader waiting
        for up to 64 KiB of payload, swallowing every LinkCheck meanwhile. Fill that frame with
        zeros (no command starts with them), then ask again: only then is silence a lost chip."""
        self.write(b"\x00" * (0xFFFF + 8))
        self.port.flush()
        self.drain(0.02)
        return self.alive()

    def round_trip(self) -> float:
        """Seconds a short command costs beyond its wire time: the USB adapter's latency (1-17 ms,
        docs/adapters.md) plus the loader's turnaround. Best of three LinkChecks."""
        cmd = c.LinkCheck()
        best = float("inf")
        for _ in range(3):
            start = time.monotonic()
            try:
                self.transact(cmd, retries=1)
            except ProtocolError:  # a noisy line: the measurement is only a hint, the work goes on
                continue
            best = min(best, time.monotonic() - start)
        return max(0.0, best - self.wire_time(len(cmd.frame()) + 8)) if best < float("inf") else 0.0

    def timeout_for(self, cmd: c.Command, frame_len: int | None = None) -> float:
        frame_len = len(cmd.frame()) if frame_len is None else frame_len
        return self.wire_time(frame_len + cmd.reply_length) * 1.5 + cmd.work_time() * self.work_scale + 0.05

    def transact(self, cmd: c.Command, *, retries: int = 3, timeout: float | None = None, probe: bool = False) -> Any:
        """Send ``cmd`` and return its decoded reply, retrying on silence or garbage.

        ``probe``: silence is an expected answer (e.g. a loader that lacks the command), so it is
        neither reported as a retry nor taken as a sign of lost power."""
        frame = cmd.frame()  # built once: a 4 KiB write's frame is re-sent as is on retries
        if cmd.reply_key is None:
            self.write(frame)
            return None
        limit = timeout if timeout is not None else self.timeout_for(cmd, len(frame))
        problem = ""
        refused: int | None = None  # a status seen once may be one corrupted byte; twice, it is the chip's
        for attempt in range(retries + 1):
            if attempt:
                if not probe:
                    self.retries_used += 1
                    events.retry(self.reporter, f"{cmd.name}: {problem}; retrying ({attempt}/{retries})")
                self.drain(0.01)
            self.write(frame)
            reply = self.wait_reply(cmd, limit)
            if reply is None:
                problem = "no reply"
                # A byte lost inside the frame leaves the loader waiting for one more: whatever
                # comes next completes it. Zeros complete it harmlessly - they start no command,
                # and an address shifted by a lost byte then stays below 0x11000, which BK7231T
                # refuses - where our next frame's 0x01 would have pointed it into the bootloader.
                self.write(bytes(len(frame)))
                if not probe and not isinstance(cmd, c.LinkCheck) and not self.alive() and not self._unstick():
                    raise LinkError(
                        f"The chip stopped answering during {cmd.name}",
                        hint="It probably lost power or was unplugged. Check the supply and wiring, then run "
                        "the same command again: it continues where it stopped.",
                    )
                continue
            try:
                return cmd.decode(reply)
            except ChipStatusError as e:
                if probe or e.status == refused or attempt == retries:
                    raise
                refused, problem = e.status, str(e)
            except ProtocolError as e:
                problem = str(e)
        raise ProtocolError(f"{cmd.name}: {problem} after {retries + 1} attempts")
