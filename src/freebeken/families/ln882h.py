"""LN882H behind the seam: ltchiptool's LN882hTool links, loads the RAM flasher, changes the baud rate and
writes (YMODEM); reads use the RAM flasher's ``flash_read`` directly, taking each answer by its known
length (2 hex digits a byte + a 4-digit CRC-16) instead of waiting for the line to go quiet as
ltchiptool's reader does - 20 ms per 256 bytes, 2.9 minutes of waiting on a 2 MiB flash.

Integrity: the RAM flasher computes nothing over flash. Reads are proven by the CRC-16 of each 256 bytes;
writes by reading them back (``integrity = "readback"``)."""

from __future__ import annotations

import tempfile
import time
from functools import partial
from pathlib import Path

from ymodem.CRC import calc_crc16  # ltchiptool's YMODEM dependency: its CRC-16/XMODEM

from ..errors import LinkError
from .base import SECTOR, Identity
from .ltlink import LtFamily, contained, protocol_error, retrying
from .specs import LN882H

CHUNK = 0x100  # the RAM flasher's largest flash_read
ATTEMPTS = 8


class Ln882hFamily(LtFamily):
    spec = LN882H

    def __init__(self, port: str, *, baudrate: int | None = None, timeout: float = 15.0) -> None:
        from ltchiptool.soc.ln882h.util.ln882htool import LN882hTool

        super().__init__(LN882hTool, port, baudrate, timeout)

    def identify(self) -> Identity:
        if self.identity is not None:
            return self.identity
        tool = self.tool
        self._link()
        with contained():
            if not tool.ramcode:
                retrying("Loading the RAM flasher", tool.ram_boot, 3, self._recover)
            retrying("Changing the baud rate", lambda: (tool.change_baudrate(self.baudrate), tool.link()), 3, self._recover)
            info_line = retrying("Reading the flash id", lambda: tool.command("flash_info")[-1], ATTEMPTS, self._recover)
            mac_lines = retrying("Reading the MAC", lambda: tool.command("get_mac_in_flash_otp"), ATTEMPTS, self._recover)
        try:
            fields = dict(part.split(":", 1) for part in str(info_line).split(","))
            flash_id = int(fields["id"], 16)
        except (KeyError, ValueError) as e:
            raise protocol_error(f"Unexpected flash_info answer {info_line!r}") from e
        mac = _mac([str(x) for x in mac_lines])
        self.identity = Identity(self.spec, 1 << (flash_id & 0xFF), mac, {"flash id": f"0x{flash_id:06X}"})
        if self.identity.flash_size not in (0x100000, 0x200000, 0x400000):
            raise LinkError(f"The LN882H reports an unlikely flash size ({self.identity.flash_size} bytes)")
        return self.identity

    def _read_chunk(self, address: int, length: int) -> bytes:
        s = self.tool.s
        cmd = f"flash_read 0x{address:X} 0x{length:X}"
        s.timeout = 0.05
        s.reset_input_buffer()
        s.write(cmd.encode() + b"\r\n")
        want = len(cmd) + 2 + 2 * length + 4
        buf = bytearray()
        deadline = time.monotonic() + 0.5 + want * 20 / max(s.baudrate, 1)
        while len(buf) < want:
            buf += s.read(want - len(buf))
            if time.monotonic() > deadline:
                raise TimeoutError(f"flash_read 0x{address:X}: {len(buf)} of {want} characters")
        if bytes(buf[: len(cmd)]) != cmd.encode():
            # the echo is what the flasher executed: a bit flipped on the way there reads another address
            raise ValueError(f"flash_read 0x{address:X}: the flasher echoed {bytes(buf[: len(cmd)])!r}")
        text = bytes(buf[len(cmd) + 2 :]).decode(errors="replace")
        data = bytes.fromhex(text[: 2 * length])
        if int(text[2 * length :], 16) != calc_crc16(data):  # CRC-16/XMODEM, as ltchiptool checks it
            raise ValueError(f"CRC-16 mismatch at 0x{address:X}")
        return data

    def read(self, address: int, length: int) -> bytes:
        self.identify()  # links (and loads the RAM flasher) on first use
        out = bytearray()
        for start in range(address, address + length, CHUNK):
            n = min(CHUNK, address + length - start)
            out += retrying(f"Reading 0x{start:06X}", partial(self._read_chunk, start, n), ATTEMPTS, self._recover)
        return bytes(out)

    def digest(self, address: int, length: int) -> bytes | None:
        self.identify()
        return None

    def write(self, address: int, data: bytes) -> None:
        """``startaddr`` + ``upgrade`` + ltchiptool's YMODEM sender. Not ltchiptool's flash_write: it
        re-links after each upload with a 3 s quiet-line timeout, 3.4 s per call (48 s of a 900 KiB image
        written in journaled 64 KiB runs)."""
        assert address % SECTOR == 0 and len(data) % SECTOR == 0
        self.identify()
        tool = self.tool

        def send() -> None:
            with contained(), tempfile.TemporaryDirectory(prefix="freebeken-") as folder:
                image = Path(folder) / "image.bin"
                image.write_bytes(data)
                self._echoed(f"startaddr 0x{address:X}")  # a flipped bit here would write elsewhere
                tool.command("upgrade", waitresp=False)
                tool.push_timeout(3)
                try:
                    if not tool.ym.send([str(image)]):
                        raise RuntimeError("YMODEM transfer failed")
                finally:
                    tool.pop_timeout()
                self._ping()

        retrying(f"Writing 0x{address:06X}", send, 4, self._recover)

    def _echoed(self, cmd: str) -> None:
        """Send a command and insist on its echo: the RAM flasher repeats what it will execute."""
        s = self.tool.s
        s.timeout = 0.05
        s.reset_input_buffer()
        s.write(cmd.encode() + b"\r\n")
        buf = bytearray()
        deadline = time.monotonic() + 1.0
        while len(buf) < len(cmd) and time.monotonic() < deadline:
            buf += s.read(len(cmd) - len(buf))
        if bytes(buf) != cmd.encode():
            raise ValueError(f"{cmd!r} echoed as {bytes(buf)!r}")
        time.sleep(0.02)  # the rest of its answer, then nothing
        s.reset_input_buffer()

    def _ping(self) -> None:
        """The RAM flasher answers ``version`` again once the upload is stored."""
        s = self.tool.s
        s.timeout = 0.05  # ltchiptool leaves its last timeout (up to 3 s) on the port
        s.reset_input_buffer()
        s.write(b"version\r\n")
        buf = bytearray()
        deadline = time.monotonic() + 3.0
        while b"RAMCODE" not in buf:
            buf += s.read(max(1, s.in_waiting))
            if b"RAMCODE" not in buf and time.monotonic() > deadline:
                raise TimeoutError("no RAMCODE answer after the upload")


def _mac(lines: list[str]) -> bytes | None:
    for line in lines:
        digits = line.replace(":", "").replace("-", "").strip()
        if len(digits) == 12:
            try:
                return bytes.fromhex(digits)
            except ValueError:
                continue
    return None
