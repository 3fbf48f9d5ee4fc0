"""The loader of a simulated Beken chip: a flash-resident bootloader (BIM: T, U) or a mask ROM (N, M, BK7238, BK7252N).

``SimChip.handle`` turns one received command into an ``Outcome``: the reply bytes (or none),
how long the chip is busy before answering (real seconds, unscaled) and side effects such as a
baud change or a reset. Timing on the wire is the line's business (``line.py``).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

from ..chips.profiles import SCTRL_CHIP_ID, SCTRL_EFUSE_CTRL, SCTRL_EFUSE_OPTR, ChipProfile
from ..protocol import commands as c
from ..protocol.crc import beken_crc
from ..protocol.frames import CMD_HEADER, FLASH_OP, encode_reply_long, encode_reply_short
from .flash import NorFlash

# Tuya's eFuse AES key, as ltchiptool prints it (four LE words); the rest of the eFuse is zero.
TUYA_EFUSE = struct.pack("<IIII", 0x510FB093, 0xA3CBEADC, 0x5993A17E, 0xC7ADEB03) + bytes(16)
ROM_SIZE = 0x4000
CRC_BYTES_PER_S = 800_000  # on-chip CRC speed (reference: 0.5-1 MB/s, 2 MiB must fit in 5 s)


@dataclass(frozen=True)
class Packet:
    is_long: bool
    code: int
    payload: bytes


@dataclass
class Outcome:
    reply: bytes | None = None
    busy: float = 0.0  # seconds between the last command byte and the reply
    new_baud: int | None = None
    reset: bool = False


class PacketParser:
    """Device-side receive state machine: resyncs on 01 E0 FC, LEN FF + F4 selects the long form."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def reset(self) -> None:
        self._buf.clear()

    def feed(self, data: bytes) -> list[tuple[int, Packet]]:
        """Returns (index in ``data`` of the packet's last byte, packet) for each complete packet."""
        out: list[tuple[int, Packet]] = []
        base = len(self._buf)  # bytes of earlier calls still buffered
        self._buf += data
        consumed = 0
        while True:
            buf = self._buf
            i = buf.find(CMD_HEADER, consumed)
            if i < 0:
                keep = max(consumed, len(buf) - 2)
                break
            if len(buf) < i + 4:
                keep = i
                break
            size = buf[i + 3]
            if size == 0xFF:
                if len(buf) < i + 7:
                    keep = i
                    break
                if buf[i + 4] != FLASH_OP:
                    consumed = i + 1
                    continue
                n = buf[i + 5] | buf[i + 6] << 8
                end = i + 7 + n
                if n == 0:
                    consumed = i + 1
                    continue
                if len(buf) < end:
                    keep = i
                    break
                pkt = Packet(True, buf[i + 7], bytes(buf[i + 8 : end]))
            else:
                if size == 0:
                    consumed = i + 1
                    continue
                end = i + 4 + size
                if len(buf) < end:
                    keep = i
                    break
                pkt = Packet(False, buf[i + 4], bytes(buf[i + 5 : end]))
            out.append((end - 1 - base, pkt))
            consumed = end
        del self._buf[:keep]
        return out


@dataclass
class SimChip:
    profile: ChipProfile
    flash: NorFlash
    boot_version: str | None = None
    efuse: bytes = b""  # default: Tuya's key where the chip's code is stored under it, else zeros
    #: SR value the stock firmware leaves behind (N); T's bootloader protects by itself.
    boot_sr_protected: bool = True
    erase_unlock: bool = False  # T: set by LinkCheck, consumed by the first erase
    _efuse_ctrl: int = 0
    _efuse_optr: int = 0
    log: list[str] = field(default_factory=list)
    commands: int = 0  # every command the loader received (round trips, for the benchmark)

    def __post_init__(self) -> None:
        if self.boot_version is None:
            self.boot_version = self.profile.default_boot_version
        if not self.efuse:
            self.efuse = TUYA_EFUSE if self.profile.code_key == "tuya" else bytes(len(TUYA_EFUSE))
        self.reset()

    @property
    def is_bim(self) -> bool:  # a flash bootloader (T or U) rather than a ROM
        return self.profile.is_bim

    def reset(self) -> None:
        self.erase_unlock = False
        if self.is_bim or self.boot_sr_protected:
            self.flash.protect()

    def handle(self, pkt: Packet) -> Outcome:
        self.commands += 1
        supported = self.profile.long_ops if pkt.is_long else self.profile.short_cmds
        if pkt.code not in supported:
            return self._unknown(pkt)
        try:
            if pkt.is_long:
                return self._long(pkt)
            return self._short(pkt)
        except (struct.error, IndexError):
            # malformed payload: the ROM answers "packet length error"; the BIM ignores it
            if self.is_bim:
                return Outcome()
            if pkt.is_long:
                return Outcome(encode_reply_long(pkt.code, 4))
            return Outcome(encode_reply_short(pkt.code, b"\x04"))

    # ---- short commands ----

    def _short(self, pkt: Packet) -> Outcome:
        p = pkt.payload
        code = pkt.code
        if code == c.LINK_CHECK:
            if self.is_bim:
                self.erase_unlock = True
            return Outcome(encode_reply_short(0x01, b"\x00"))
        if code == c.REBOOT:
            return Outcome(reset=p[:1] == b"\xa5")
        if code == c.ROM_RESET:
            return Outcome(reset=p[:4] == b"SEAN")
        if code == c.STAY_ROM:
            return Outcome(encode_reply_short(c.STAY_ROM, b"\x55"))
        if code == c.SET_BAUD:
            baud, delay = struct.unpack_from("<IB", p)
            wait = (delay + 1) * 0.002 if self.is_bim else delay / 1000
            return Outcome(encode_reply_short(c.SET_BAUD, p[:5]), busy=wait, new_baud=baud)
        if code == c.CHECK_CRC:
            start, end = struct.unpack_from("<II", p)
            if self.is_bim:
                length = max(0, (end - start + 1) // 256) * 256
            else:
                length = max(0, end - start + 1)
            # An end address corrupted on the line can ask for up to 4 GiB. The chip's address
            # lines wrap within the flash; the simulator reads at most one flash size of it, so a
            # damaged command costs it what a whole-flash CRC costs, never minutes or gigabytes.
            length = min(length, self.flash.size)
            crc = beken_crc(self.flash.read(start, length)) if length else 0xFFFFFFFF
            if self.profile.crc_relocks:
                self.flash.protect()  # BIM: set_flash_protect(ALL), without setting erase_unlock
            return Outcome(encode_reply_short(c.CHECK_CRC, struct.pack("<I", crc)), busy=length / CRC_BYTES_PER_S)
        if code == c.BOOT_VERSION:
            if not self.boot_version:  # a plain Beken bootloader, not Tuya's: it lacks the command
                return self._unknown(pkt)
            return Outcome(encode_reply_short(c.BOOT_VERSION, (self.boot_version or "").encode()))
        if code == c.READ_REG:
            (addr,) = struct.unpack_from("<I", p)
            return Outcome(encode_reply_short(c.READ_REG, p[:4] + struct.pack("<I", self._reg_read(addr))))
        if code == c.WRITE_REG:
            addr, value = struct.unpack_from("<II", p)
            self._reg_write(addr, value)
            return Outcome(encode_reply_short(c.WRITE_REG, p[:8]))
        return self._unknown(pkt)

    def _reg_read(self, addr: int) -> int:
        if addr == SCTRL_CHIP_ID:
            return self.profile.chip_id or 0
        if addr == SCTRL_EFUSE_CTRL:
            return self._efuse_ctrl
        if addr == SCTRL_EFUSE_OPTR:
            return self._efuse_optr
        if addr < ROM_SIZE:  # synthetic ROM words (not Beken's ROM)
            return int.from_bytes(hashlib.sha256(struct.pack("<I", addr & ~3)).digest()[:4], "little")
        return 0

    def _reg_write(self, addr: int, value: int) -> None:
        if addr == SCTRL_EFUSE_CTRL:
            if value & 1:  # start an eFuse read: completes at once
                index = (value >> 8) & 0x1F
                self._efuse_optr = 0x100 | self.efuse[index]
                value &= ~1
            self._efuse_ctrl = value

    # ---- long (flash) commands ----

    def _long(self, pkt: Packet) -> Outcome:
        p = pkt.payload
        op = pkt.code
        flash = self.flash
        if op == c.FLASH_READ_4K:
            (addr,) = struct.unpack_from("<I", p)
            if self._refused(addr):
                return Outcome(encode_reply_long(op, 6, p[:4] + b"\x00"))
            return Outcome(encode_reply_long(op, 0, p[:4] + flash.read(addr, 4096)), busy=0.0005)
        if op in (c.FLASH_WRITE_4K, c.FLASH_WRITE):
            (addr,) = struct.unpack_from("<I", p)
            data = p[4:]
            if op == c.FLASH_WRITE_4K and len(data) != 4096 or op == c.FLASH_WRITE and not data:
                return Outcome(encode_reply_long(op, 4, p[:4]))
            echo = p[:4] if op == c.FLASH_WRITE_4K else p[:4] + bytes((len(data) & 0xFF,))
            if self._refused(addr):
                return Outcome(encode_reply_long(op, 6, echo))
            busy = flash.program(addr, data)
            if self.is_bim and op == c.FLASH_WRITE_4K:
                busy = flash.chip.t_page  # BIM programs pages while the packet arrives
            return Outcome(encode_reply_long(op, 0, echo), busy=busy)
        if op == c.FLASH_ERASE:
            size_cmd = p[0]
            (addr,) = struct.unpack_from("<I", p, 1)
            if self._refused(addr):
                return Outcome(encode_reply_long(op, 6, p[:5]))
            if self.is_bim and self.erase_unlock:
                flash.unprotect()  # BIM: first erase after LinkCheck lifts protection
                self.erase_unlock = False
            size = c.ERASE_SIZES.get(size_cmd)
            busy = flash.erase(addr, size) if size else 0.0  # other sizes: status 0, nothing erased
            return Outcome(encode_reply_long(op, 0, p[:5]), busy=busy)
        if op == c.FLASH_ERASE_4K:
            (addr,) = struct.unpack_from("<I", p)
            return Outcome(encode_reply_long(op, 0, p[:4]), busy=flash.erase(addr, 0x1000))
        if op == c.FLASH_ERASE_ALL:
            busy = flash.chip.t_erase_chip if not flash.protected else 0.0002
            if not flash.protected:
                flash.erase(0, flash.size)
            return Outcome(encode_reply_long(op, 0, p[:1]), busy=busy)
        if op == c.FLASH_READ_SR:
            return Outcome(encode_reply_long(op, 0, p[:1] + bytes((flash.read_sr(p[0]),))), busy=0.0001)
        if op == c.FLASH_WRITE_SR:
            busy = flash.write_sr(p[0], p[1:3])
            return Outcome(encode_reply_long(op, 0, p[: len(p)]), busy=busy)
        if op == c.FLASH_GET_MID:
            return Outcome(encode_reply_long(op, 0, b"\x00" + flash.chip.jedec), busy=0.0001)
        return self._unknown(pkt)

    def _refused(self, addr: int) -> bool:
        # T's check compares the raw 32-bit address: addr + flash size passes and wraps around.
        return addr < self.profile.protected_below

    def _unknown(self, pkt: Packet) -> Outcome:
        if self.is_bim:
            return Outcome()  # the BIM stays silent
        if pkt.is_long:
            return Outcome(encode_reply_long(pkt.code, 7))
        return Outcome(encode_reply_short(pkt.code, b"\x07"))
