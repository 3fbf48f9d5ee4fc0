"""Realtek AmebaZ2 (RTL8720CF) mask-ROM download mode, at the level its UART console speaks.

Facts (sources in docs/families.md): with PA00 held high at reset the ROM runs a text console on the log
UART at 115200. ``ping`` -> ``ping``; ``ucfg BAUD 0 0`` -> ``OK`` at the new rate; ``DB ADDR COUNT`` /
``DW ADDR COUNT`` dump memory as hex lines (flash mapped at 0x98000000, 16 bytes or 4 words a line, a
`` [Addr]`` header before bytes); ``EW ADDR V...`` writes words (a line per word); ``fwd CFG OFFSET``
receives XMODEM-1K (8-bit sum: the ROM asks with NAK, about once a second) into flash, erasing each
4 KiB sector first; ``hashq LENGTH CFG`` answers ``hashs `` and the SHA-256 of LENGTH flash bytes from
the last ``fwd`` offset; ``disc`` leaves download mode; ``WDTRST`` resets. The console's commands are a
table in ROM (name, handler, help); a tool that rewrites a handler pointer with ``EW`` and calls the
command runs code in RAM - this model recognises the one program tools load (ltchiptool's eFuse reader,
known by its SHA-256) and runs its effect: the 512 physical eFuse bytes at 0x10038000.
"""

from __future__ import annotations

import hashlib
import random

from ..chips.flash_chips import FlashChip
from .flash import NorFlash
from .modem import ACK, NAK, ModemReceiver, Packet
from .textline import TextLine

BOOT_BAUD = 115200
FLASH_MAP = 0x98000000
REG_BOOT = 0x40000038  # bits 5..6: flash pin mode (1 = RTL8720CF, PIN_B6_B12)
REG_SYSCFG0 = 0x400001F0  # bits 4..7: chip version (> 2: ROM v3.0), 8..11: vendor id
CMD_TABLE_PTR = 0x1002F054
CMD_TABLE = 0x1003E000
CMD_NAMES = ("DB", "DHW", "DW", "EB", "EW", "ping", "disc", "ucfg", "WDTRST", "hashq", "fwd", "fwdram")
EFUSE_BUFFER = 0x10038000
#: (length, SHA-256) of the eFuse-reading program ltchiptool loads at 0x10037000 (soc/ambz2/util/ambz2code.py)
EFUSE_STUB = (52, "f734759e3deadbab5a7e0b2fe263107ebac81f3b564cdbd161b6cf688fd4eb5e")
HASH_RATE = 1_500_000  # bytes/s the ROM hashes flash at (ltchiptool's crc_speed_bps)
NAK_PERIOD = 1.0  # the ROM's XMODEM receiver asks about once a second
XMODEM_GAP = 1.0
CAN_REPLY_DELAY = 0.05  # real seconds, not scaled: it races the host's loop
RTL_FLASH = FlashChip("RTL8720CF-internal", bytes.fromhex("c84015"), 2, 0x407C)


def physical_efuse(mac: bytes, bt_mac: bytes, chip_type: int = 0xFE) -> bytes:
    """Realtek's physical eFuse encoding (header byte, extended header for cells >= 16, word-enable
    map with 0 = present) holding the Wi-Fi MAC (logical 0x11A) and the BT MAC (logical 0x190)."""
    out = bytearray()
    # MAC at 0x11A..0x11F: words 1..3 of cell 0x23; BT MAC at 0x190..0x195: words 0..2 of cell 0x32
    for cell, words, payload in ((0x118 // 8, 0b0001, mac), (0x190 // 8, 0b1000, bt_mac)):
        out += bytes([((cell & 7) << 5) | 0x0F, ((cell >> 3) << 4) | words]) + payload
    phys = bytearray(b"\xff" * 512)
    phys[: len(out)] = out
    phys[0x1F8] = chip_type
    return bytes(phys)


class AmbZ2Rom:
    def __init__(self, flash: NorFlash, *, mac: bytes, boot: str = "download", seed: int = 0) -> None:
        self.flash = flash
        self.mac = mac
        self.efuse = physical_efuse(mac, mac[:5] + bytes([(mac[5] + 1) & 0xFF]))
        self.boot = boot  # "download": PA00 held high; "app": the firmware runs and ignores us
        self.rng = random.Random(seed)
        self.line: TextLine | None = None
        self.baud = BOOT_BAUD
        self.mem: dict[int, int] = {}
        self.state = "console"
        self.buf = bytearray()
        self.free_at = 0.0
        self.modem: ModemReceiver | None = None
        self.fwd_offset: int | None = None
        self.fwd_pos = 0
        self.erased: set[int] = set()
        self.next_nak = 0.0
        self.last_rx = 0.0
        self.hash_offset = 0

    # ---- line interface ----

    @property
    def scale(self) -> float:
        return self.line.time_scale if self.line else 0.0

    def power_on(self, now: float) -> None:
        self.baud = BOOT_BAUD
        self.state = "console" if self.boot == "download" else "app"
        self.buf.clear()
        self.mem = self._rom_memory()
        self.free_at = now
        self.modem = None

    def tick(self, now: float) -> None:
        if self.state == "xmodem" and self.modem is not None:
            if self.modem.buf and now - self.last_rx > XMODEM_GAP * max(self.scale, 0.05):
                self.modem.timeout()
                self._emit(bytes([NAK]), now)
            elif self.fwd_pos == 0 and not self.modem.buf and now >= self.next_nak:
                self._emit(bytes([NAK]), now, reply=False)
                self.next_nak = now + NAK_PERIOD * max(self.scale, 0.05)

    def wakeup(self) -> float | None:
        return self.next_nak if self.state == "xmodem" and self.fwd_pos == 0 else None

    def receive(self, data: bytes, now: float) -> None:
        t = max(now, self.free_at)
        self.last_rx = now
        if self.state == "app":
            return
        if self.state == "xmodem":
            self._xmodem(data, t)
            return
        self.buf += data
        while b"\n" in self.buf and self.state == "console":
            raw, _, rest = bytes(self.buf).partition(b"\n")
            self.buf = bytearray(rest)
            self._command(raw.decode(errors="replace").strip(), t)
            t = max(t, self.free_at)
        if self.state == "xmodem" and self.buf:
            rest, self.buf = bytes(self.buf), bytearray()
            self._xmodem(rest, t)

    # ---- console ----

    def _emit(self, data: bytes, t: float, *, reply: bool = True) -> None:
        assert self.line is not None
        self.free_at = self.line.send(data, t, reply=reply)

    def _lost(self, command: str, what: str = "lose_reply") -> bool:
        """The ``lose_reply``/``lose_command`` faults: the first reply to ``command``, or the command
        itself, never arrives."""
        assert self.line is not None
        faults = self.line.faults
        if getattr(faults, what) != command:
            return False
        setattr(faults, what, "")
        return True

    def _command(self, text: str, t: float) -> None:
        words = text.split()
        if not words:
            return
        name, args = words[0], words[1:]
        if self._lost(name, "lose_command"):
            return
        try:
            if name == "ping":
                self._emit(b"ping", t)
            elif name == "ucfg":
                self.baud = int(args[0])
                if self._lost("ucfg"):
                    return
                self._emit(b"OK", t + 0.02)  # real: the ROM re-clocks its UART, then answers at the new rate
            elif name == "DB":
                self._dump_bytes(int(args[0], 16), int(args[1]), t)
            elif name == "DW":
                self._dump_words(int(args[0], 16), int(args[1]), t)
            elif name == "EW":
                self._write_words(int(args[0], 16), [int(v, 16) for v in args[1:]], t)
            elif name == "hashq":
                self._hash(int(args[0]), t)
            elif name == "fwd":
                self._start_fwd(int(args[-1], 16), t)
            elif name == "disc":
                self.state = "app"
            elif name == "WDTRST":
                assert self.line is not None
                self.power_on(t)
            elif name in CMD_NAMES:
                self._call(name, t)
        except (IndexError, ValueError):
            self._emit(b"\r\nCommand format error\r\n", t)

    def _rom_memory(self) -> dict[int, int]:
        mem: dict[int, int] = {}
        self._poke(mem, REG_BOOT, 1 << 5)
        self._poke(mem, REG_SYSCFG0, (0x0 << 8) | (0x3 << 4))
        self._poke(mem, CMD_TABLE_PTR, CMD_TABLE)
        names = CMD_TABLE + 0x200
        for i, cmd in enumerate(CMD_NAMES):
            entry = CMD_TABLE + 12 * i
            self._poke(mem, entry, names + 16 * i)
            self._poke(mem, entry + 4, 0x0000_1000 + 0x40 * i | 1)  # ROM handlers
            self._poke(mem, entry + 8, 0)
            for j, b in enumerate(cmd.encode() + b"\0"):
                mem[names + 16 * i + j] = b
        self._poke(mem, CMD_TABLE + 12 * len(CMD_NAMES), 0)
        return mem

    @staticmethod
    def _poke(mem: dict[int, int], address: int, value: int) -> None:
        for i, b in enumerate(value.to_bytes(4, "little")):
            mem[address + i] = b

    def _peek(self, address: int, length: int) -> bytes:
        if address >= FLASH_MAP:
            return self.flash.read(address - FLASH_MAP, length)
        return bytes(self.mem.get(address + i, 0) for i in range(length))

    def _dump_bytes(self, address: int, count: int, t: float) -> None:
        lines = [b" [Addr]   .0 .1 .2 .3 .4 .5 .6 .7 .8 .9 .A .B .C .D .E .F\r\n"]
        data = self._peek(address, (count + 15) // 16 * 16)
        for off in range(0, len(data), 16):
            row = data[off : off + 16]
            text = "".join(chr(b) if 0x21 <= b < 0x7F else "." for b in row)
            lines.append(f"{address + off:08X}: {' '.join(f'{b:02x}' for b in row)}    {text}\r\n".encode())
        self._emit(b"".join(lines), t)

    def _dump_words(self, address: int, count: int, t: float) -> None:
        data = self._peek(address, (count + 3) // 4 * 16)
        out = []
        for off in range(0, (count + 3) // 4 * 16, 16):
            words = [int.from_bytes(data[off + 4 * k : off + 4 * k + 4], "little") for k in range(4)]
            out.append(f"{address + off:08X}:    {'    '.join(f'{w:08X}' for w in words)}\r\n".encode())
        self._emit(b"".join(out), t)

    def _write_words(self, address: int, values: list[int], t: float) -> None:
        out = []
        for i, v in enumerate(values):
            self._poke(self.mem, address + 4 * i, v)
            out.append(f"{address + 4 * i:08X}: {v:08X}\r\n".encode())
        self._emit(b"".join(out), t)

    def _hash(self, length: int, t: float) -> None:
        digest = hashlib.sha256(self.flash.read(self.hash_offset, length)).digest()
        self._emit(b"hashs " + digest, t + length / HASH_RATE * self.scale)

    def _call(self, name: str, t: float) -> None:
        """A console command whose handler a tool may have pointed into RAM."""
        entry = CMD_TABLE + 12 * CMD_NAMES.index(name)
        target = int.from_bytes(self._peek(entry + 4, 4), "little") & ~1
        if target < 0x10000:
            if target in (0x0, 0x1443C):  # the ROM's download-mode entry (what tools jump to from the fallback console)
                self.state = "console"
            return
        length, digest = EFUSE_STUB
        if hashlib.sha256(self._peek(target, length)).hexdigest() == digest:
            for i, b in enumerate(self.efuse):
                self.mem[EFUSE_BUFFER + i] = b
            return
        self.state = "app"  # unknown code: the CPU runs off into it; nothing answers until a reset

    # ---- XMODEM into flash ----

    def _start_fwd(self, offset: int, t: float) -> None:
        self.state = "xmodem"
        self.modem = ModemReceiver(crc=False)
        self.fwd_offset = offset
        self.hash_offset = offset
        self.fwd_pos = 0
        self.erased = set()
        self.next_nak = t + 0.05 * self.scale

    def _xmodem(self, data: bytes, t: float) -> None:
        assert self.modem is not None and self.fwd_offset is not None
        for item in self.modem.feed(data):
            if isinstance(item, Packet):
                if item.seq == (self.fwd_pos // 1024 + 1) & 0xFF or item.seq == self.modem.expected & 0xFF:
                    busy = self._program(self.fwd_offset + self.fwd_pos, item.data)
                    self.fwd_pos += len(item.data)
                    self.modem.expected = item.seq + 1
                    t += busy * self.scale
                self._emit(bytes([ACK]), t)  # a repeated packet is acknowledged again, not rewritten
            elif item == "bad":
                self._emit(bytes([NAK]), t)
            elif item == "eot":
                self._emit(bytes([ACK]), t)
                self.state = "console"
                return
            elif item == "cancel":
                # the ROM's receiver looks at the line about once a second: its answer comes after the
                # sender's own flush (ltchiptool's abort-then-flush relies on that), in real time
                self._emit(b"\x18ER", t + CAN_REPLY_DELAY)
                self.state = "console"
                return

    def _program(self, address: int, data: bytes) -> float:
        busy = 0.0
        for sector in range(address & ~0xFFF, address + len(data), 0x1000):
            if sector not in self.erased:
                busy += self.flash.erase(sector, 0x1000)
                self.erased.add(sector)
        return busy + self.flash.program(address, data)
