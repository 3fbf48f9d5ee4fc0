"""Serial ports as each system names them, the USB adapter behind each, and what an error opening
one means there (Windows: COM3, "Access is denied" = in use; macOS: /dev/cu.*; Linux: /dev/ttyUSB0,
"Permission denied" = not in the dialout group). Pure apart from asking pyserial for the list."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import BusyError, FreebekenError, PortError

#: USB-serial chips by USB vendor:product id (the ids are the chip makers' own).
ADAPTERS: dict[tuple[int, int], str] = {
    (0x1A86, 0x7523): "CH340",
    (0x1A86, 0x5523): "CH341",
    (0x1A86, 0x55D4): "CH9102",
    (0x10C4, 0xEA60): "CP210x",
    (0x0403, 0x6001): "FTDI FT232R",
    (0x0403, 0x6010): "FTDI FT2232",
    (0x0403, 0x6014): "FTDI FT232H",
    (0x0403, 0x6015): "FTDI FT231X",
    (0x067B, 0x2303): "PL2303",
    (0x067B, 0x23A3): "PL2303GC",
}

EXAMPLE = {"win32": "COM3", "darwin": "/dev/cu.usbserial-1410"}
WHERE = {
    "win32": 'Device Manager, under "Ports (COM & LPT)", shows which COM port the adapter got',
    "darwin": "use the /dev/cu.* name (the /dev/tty.* twin waits for a carrier signal the adapter never gives)",
}


@dataclass(frozen=True)
class PortInfo:
    device: str
    adapter: str | None  # the USB-serial chip, when its USB id is known
    description: str

    @property
    def label(self) -> str:
        extra = self.adapter if self.adapter and self.adapter not in self.description else ""
        return " ".join(x for x in (self.device, extra, self.description if self.description != "n/a" else "") if x)


def list_serial(comports: Callable[[], Iterable[Any]] | None = None, system: str = sys.platform) -> list[PortInfo]:
    """The serial ports worth offering, USB adapters first. Legacy ports without hardware (Linux's
    /dev/ttyS*, hwid "n/a") are left out; on macOS each adapter's /dev/tty.* twin of /dev/cu.* too."""
    if comports is None:
        from serial.tools import list_ports

        comports = list_ports.comports
    found = [p for p in comports() if getattr(p, "hwid", None) and p.hwid != "n/a"]
    devices = {p.device for p in found}
    out = []
    for p in found:
        if system == "darwin" and p.device.startswith("/dev/tty.") and "/dev/cu." + p.device[9:] in devices:
            continue
        vid, pid = getattr(p, "vid", None), getattr(p, "pid", None)
        out.append(
            PortInfo(p.device, ADAPTERS.get((vid, pid)) if vid is not None and pid is not None else None, p.description or "")
        )
    return sorted(out, key=lambda p: (p.adapter is None, _natural(p.device)))


def _natural(name: str) -> list[Any]:
    """COM3 before COM10, ttyUSB2 before ttyUSB10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def example_port(system: str = sys.platform) -> str:
    return EXAMPLE.get(system, "/dev/ttyUSB0")


def open_error(port: str, error: Exception, system: str = sys.platform) -> FreebekenError:
    """What pyserial's failure to open ``port`` means on this system, and what to do."""
    text = str(error)
    if "exclusively lock" in text or system == "win32" and ("Access is denied" in text or "PermissionError" in text):
        return BusyError(
            f"Another program is using the serial port {port}",
            hint="Close it - another freebeken, BK7231GUIFlashTool, a serial monitor (PuTTY, the Arduino IDE) - and try again.",
        )
    if "Permission denied" in text:
        hint = (
            "Add yourself to the group that owns serial ports (sudo usermod -aG dialout $USER; on Arch: uucp), "
            "then log out and in again."
            if system.startswith("linux")
            else "Check who may open it (ls -l " + port + ")."
        )
        return PortError(f"Not allowed to open the serial port {port}", hint=hint)
    if "No such file" in text or "FileNotFoundError" in text or "cannot find the file" in text:
        where = WHERE.get(system, "unplug and replug the adapter to see which name appears")
        return PortError(
            f"There is no serial port {port}",
            hint=f"`freebeken ports` lists this computer's ports ({where}); a port looks like {example_port(system)}.",
        )
    return PortError(f"Cannot open serial port {port}: {error}")
