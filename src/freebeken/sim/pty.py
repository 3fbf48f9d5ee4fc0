"""Serve a simulated chip on a pseudo-terminal so any external tool can open it as a port.

Linux ptys reject the DTR/RTS ioctls, so an external tool cannot pulse reset through them. The
server therefore also listens on a control socket, and ``shim/sitecustomize.py`` (put on a Python
tool's PYTHONPATH) forwards pyserial's DTR/RTS changes there: unmodified tools reset the
simulated chip exactly as they would a real one. The host's baud rate is read from the pty's
termios on every transfer, so an unfollowed SetBaudRate produces garbage as on hardware.
"""

from __future__ import annotations

import os
import select
import socket
import tempfile
import termios
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

from .line import SimLine

SHIM_DIR = Path(__file__).with_name("shim")
_SPEEDS = {getattr(termios, n): int(n[1:]) for n in dir(termios) if n.startswith("B") and n[1:].isdigit()}


class PtyServer:
    def __init__(self, line: SimLine, save: Callable[[], None] | None = None) -> None:
        self.line = line
        self.save = save
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self._dir = tempfile.mkdtemp(prefix="freebeken-sim-")
        self.control_path = os.path.join(self._dir, "control")
        self.control = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.control.bind(self.control_path)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._rx_loop, daemon=True),
            threading.Thread(target=self._tx_loop, daemon=True),
        ]
        self._saved_ops = -1

    @property
    def env(self) -> dict[str, str]:
        """Environment under which a Python tool's DTR/RTS changes reach the simulator."""
        path = os.pathsep.join(filter(None, [str(SHIM_DIR), os.environ.get("PYTHONPATH", "")]))
        return {"PYTHONPATH": path, "FREEBEKEN_SIM_PTYS": f"{self.path}={self.control_path}"}

    def host_baud(self) -> int:
        # On Linux, termios calls on the master act on the slave: this is the host's setting.
        return _SPEEDS.get(termios.tcgetattr(self.master)[5], 115200)

    def start(self) -> PtyServer:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)
        self._save_if_changed()
        for fd in (self.master, self.slave):
            os.close(fd)
        self.control.close()
        os.unlink(self.control_path)
        os.rmdir(self._dir)

    def __enter__(self) -> PtyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _rx_loop(self) -> None:
        last_save = time.monotonic()
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master, self.control], [], [], 0.05)  # type: ignore[type-var]
            if self.master in ready:
                try:
                    data = os.read(self.master, 65536)
                except (BlockingIOError, OSError):
                    data = b""
                if data:
                    self.line.write(data, self.host_baud())
            if self.control in ready:
                self._control(self.control.recv(256).decode(errors="replace"))
            if self.save and time.monotonic() - last_save > 1.0:
                self._save_if_changed()
                last_save = time.monotonic()

    def _control(self, message: str) -> None:
        lines = {}
        for item in message.split():
            name, _, value = item.partition("=")
            if name in ("rts", "dtr"):
                lines[name] = value == "1"
        if lines:
            self.line.set_lines(**lines)

    def _tx_loop(self) -> None:
        held = b""  # what the pty's small buffer did not take yet (a real driver buffers far more)
        held_since = 0.0
        while not self._stop.is_set():
            data = held + self.line.read(self.host_baud(), 65536)
            if data:
                try:
                    sent = os.write(self.master, data)
                except BlockingIOError:
                    sent = 0
                held = data[sent:]
                if not held:
                    continue
                now = time.monotonic()
                held_since = held_since if sent == 0 and held_since else now
                if now - held_since > 1.0:
                    held = b""  # nobody reads the port: the bytes are lost, as on a real line
                time.sleep(0.0005)
                continue
            nxt = self.line.next_arrival()
            wait = 0.005 if nxt is None else min(0.005, max(0.0, nxt - time.monotonic()))
            time.sleep(wait or 0.0002)

    def _save_if_changed(self) -> None:
        ops = self.line.chip.flash.ops_done
        if self.save and ops != self._saved_ops:
            self._saved_ops = ops
            self.save()
