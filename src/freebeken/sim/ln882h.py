"""Lightning LN882H: the mask ROM's download mode and the RAM flasher it loads, at the level their UART
text protocol speaks (sources in docs/families.md).

ROM (BOOT/PA09 low at reset, 115200, no echo): ``version`` -> ``Mar 14 2021/00:23:32``;
``download [rambin] [0x20000000] [SIZE]`` -> YMODEM receive (CRC-16, asks with "C"), then runs the
program. This model runs the one RAM flasher tools load (identified by its SHA-256: the file ltchiptool
ships as soc/ln882h/util/ramcode.bin); any other program leaves the chip silent until reset.

RAM flasher ("RAMCODE"): echoes each command line, then answers: ``version`` -> ``RAMCODE``;
``flash_info`` -> ``id:0xEB6015,flash size:2M Byte``; ``flash_uid`` -> ``flash uid:<32 hex>``;
``get_mac_in_flash_otp`` -> the OTP MAC line then ``pppp``; ``baudrate N`` (answers at the old rate,
then switches); ``flash_read ADDR LEN`` (LEN <= 0x100) -> LEN bytes as hex followed by their
CRC-16/XMODEM (4 hex digits), no line end; ``startaddr ADDR``; ``upgrade`` -> YMODEM receive written
to flash from ADDR, each 4 KiB sector erased when first reached; ``reboot``.
"""

from __future__ import annotations

import hashlib

from ..chips.flash_chips import flash_by_id
from .flash import NorFlash
from .modem import ACK, CRC_C, NAK, ModemReceiver, Packet, crc16_xmodem
from .textline import TextLine

BOOT_BAUD = 115200
ROM_VERSION = b"Mar 14 2021/00:23:32"
RAM_ADDRESS = 0x20000000
#: (length, SHA-256) of the RAM flasher (Lightning's, as shipped by ltchiptool and LN882Loader)
RAMCODE = (37872, "6bd437c6f8366b9cca0fb8de0c80c70788516e3681c6c43d654512feb7a0c723")
RAM_BOOT_TIME = 0.3  # from the last YMODEM byte until RAMCODE answers (tools wait 2 s)
C_PERIOD = 1.0
MODEM_GAP = 1.0
LN_FLASH = flash_by_id(bytes.fromhex("eb6015"))


class Ln882hChip:
    def __init__(self, flash: NorFlash, *, mac: bytes, uid: bytes, boot: str = "download") -> None:
        self.flash = flash
        self.mac = mac
        self.uid = uid
        self.boot = boot
        self.line: TextLine | None = None
        self.baud = BOOT_BAUD
        self.state = "rom"  # rom | ram | app | silent | ymodem
        self.after_modem = "rom"
        self.buf = bytearray()
        self.free_at = 0.0
        self.modem: ModemReceiver | None = None
        self.next_c = 0.0
        self.last_rx = 0.0
        self.file: bytearray = bytearray()
        self.file_size = 0
        self.header_done = False
        self.start_addr = 0
        self.erased: set[int] = set()
        self.ram_ready_at = 0.0
        self.files = 0

    @property
    def scale(self) -> float:
        return self.line.time_scale if self.line else 0.0

    # ---- line interface ----

    def power_on(self, now: float) -> None:
        self.baud = BOOT_BAUD
        self.state = "rom" if self.boot == "download" else "app"
        self.buf.clear()
        self.free_at = now
        self.modem = None

    def tick(self, now: float) -> None:
        if self.state == "ymodem" and self.modem is not None:
            if self.modem.buf and now - self.last_rx > MODEM_GAP * max(self.scale, 0.05):
                self.modem.timeout()
                self._emit(bytes([NAK]), now)
            elif not self.header_done and not self.modem.buf and now >= self.next_c:
                self._emit(bytes([CRC_C]), now, reply=False)
                self.next_c = now + C_PERIOD * max(self.scale, 0.05)

    def wakeup(self) -> float | None:
        return self.next_c if self.state == "ymodem" and not self.header_done else None

    def receive(self, data: bytes, now: float) -> None:
        t = max(now, self.free_at)
        self.last_rx = now
        if self.state in ("app", "silent"):
            return
        if self.state == "ymodem":
            self._ymodem(data, t)
            return
        if self.state == "ram" and now < self.ram_ready_at:
            return  # still starting
        self.buf += data
        while b"\n" in self.buf and self.state in ("rom", "ram"):
            raw, _, rest = bytes(self.buf).partition(b"\n")
            self.buf = bytearray(rest)
            self._command(raw.decode(errors="replace").strip(), t)
            t = max(t, self.free_at)
        if self.state == "ymodem" and self.buf:
            rest, self.buf = bytes(self.buf), bytearray()
            self._ymodem(rest, t)

    # ---- commands ----

    def _emit(self, data: bytes, t: float, *, reply: bool = True) -> None:
        assert self.line is not None
        self.free_at = self.line.send(data, t, reply=reply)

    def _command(self, text: str, t: float) -> None:
        words = text.split()
        if not words:
            return
        if self.state == "rom":
            self._rom_command(words, t)
            return
        echo = text.encode() + b"\r\n"
        name, args = words[0], words[1:]
        try:
            if name == "version":
                self._emit(echo + b"RAMCODE\r\n", t)
            elif name == "flash_info":
                self._emit(echo + b"id:0x%06X,flash size:%dM Byte\r\n" % (self._flash_id(), self.flash.size >> 20), t)
            elif name == "flash_uid":
                self._emit(echo + b"flash uid:" + self.uid.hex().upper().encode() + b"\r\n", t)
            elif name == "get_mac_in_flash_otp":
                self._emit(echo + self.mac.hex(":").upper().encode() + b"\r\npppp\r\n", t)
            elif name == "baudrate":
                self._emit(echo, t)
                self.baud = int(args[0])  # after the echo has left at the old rate
            elif name == "flash_read":
                address, length = int(args[0], 16), int(args[1], 16)
                if length > 0x100:
                    raise ValueError
                data = self.flash.read(address, length)
                self._emit(echo + data.hex().upper().encode() + b"%04X" % crc16_xmodem(data), t)
            elif name == "startaddr":
                self.start_addr = int(args[0], 16)
                self._emit(echo + b"startaddr: 0x%08X\r\npppp\r\n" % self.start_addr, t)
            elif name == "upgrade":
                self._emit(echo, t)
                self._start_ymodem("flash", t)
            elif name == "filecount":
                self._emit(echo + b"filecount:%d\r\npppp\r\n" % self.files, t)
            elif name == "reboot":
                self._emit(echo, t)
                self.state = "app"
            else:
                self._emit(echo + b"unknown cmd\r\npppp\r\n", t)
        except (IndexError, ValueError):
            self._emit(echo + b"param error\r\npppp\r\n", t)

    def _flash_id(self) -> int:
        return int.from_bytes(self.flash.chip.jedec, "big")  # 0xEB6015: size code 0x15 = 2 MiB in the low byte

    def _rom_command(self, words: list[str], t: float) -> None:
        if words[0] == "version":
            self._emit(ROM_VERSION + b"\r\n", t)
        elif words[0] == "download" and len(words) >= 4 and words[1] == "[rambin]":
            self._start_ymodem("ram", t)

    # ---- YMODEM ----

    def _start_ymodem(self, target: str, t: float) -> None:
        self.after_modem = "ram" if target == "flash" else "rom"
        self.target = target
        self.state = "ymodem"
        self.modem = ModemReceiver(crc=True, expected=0)
        self.header_done = False
        self.file = bytearray()
        self.file_size = 0
        self.erased = set()
        self.next_c = t + 0.02 * self.scale

    def _ymodem(self, data: bytes, t: float) -> None:
        assert self.modem is not None
        for item in self.modem.feed(data):
            if isinstance(item, Packet):
                t = self._packet(item, t)
                if self.state != "ymodem":
                    return
            elif item == "bad":
                self._emit(bytes([NAK]), t)
            elif item == "eot":
                self._emit(bytes([ACK]) + bytes([CRC_C]), t)
                self.modem.expected = 0
                self.header_done = True
            elif item == "cancel":
                self.state = self.after_modem
                return

    def _packet(self, pkt: Packet, t: float) -> float:
        assert self.modem is not None
        if pkt.seq == 0 and self.modem.expected == 0:
            name, _, rest = pkt.data.partition(b"\0")
            if not name:  # the null header: the batch is over
                self._emit(bytes([ACK]), t)
                self._finish(t)
                return t
            self.file_size = int(rest.split(b"\0")[0].split(b" ")[0] or b"0")
            self.file = bytearray()
            self.header_done = True
            self.modem.expected = 1
            self._emit(bytes([ACK, CRC_C]), t)
            return t
        if pkt.seq == self.modem.expected & 0xFF:
            keep = pkt.data[: max(0, self.file_size - len(self.file))]
            busy = self._store(len(self.file), keep) if self.target == "flash" else 0.0
            self.file += keep
            self.modem.expected += 1
            t += busy * self.scale
        self._emit(bytes([ACK]), t)  # a repeated packet is acknowledged again, not stored twice
        return t

    def _store(self, offset: int, data: bytes) -> float:
        address = self.start_addr + offset
        busy = 0.0
        for sector in range(address & ~0xFFF, address + len(data), 0x1000):
            if sector not in self.erased:
                busy += self.flash.erase(sector, 0x1000)
                self.erased.add(sector)
        return busy + (self.flash.program(address, data) if data else 0.0)

    def _finish(self, t: float) -> None:
        if self.target == "flash":
            self.files += 1
            self.state = "ram"
            return
        length, digest = RAMCODE
        if len(self.file) == length and hashlib.sha256(self.file).hexdigest() == digest:
            self.state = "ram"
            self.ram_ready_at = t + RAM_BOOT_TIME * self.scale
        else:
            self.state = "silent"
