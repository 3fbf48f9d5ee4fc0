"""Every host command of the BK7231 download protocol, as small frozen dataclasses.

A command knows its frame (``frame()``), which reply it waits for (``reply_key``, None if the chip
sends nothing back) and how to turn that reply into a typed result (``decode``). Echo fields
(addresses, sizes) are checked here so that a stale or corrupted reply is never accepted.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from ..errors import ProtocolError
from .command import (  # re-exported: one namespace for callers (commands.CHECK_CRC, commands.FlashRead4K)
    BOOT_VERSION,
    CHECK_CRC,
    ERASE_4K,
    ERASE_32K,
    ERASE_64K,
    ERASE_SIZES,
    FLASH_ERASE,
    FLASH_ERASE_4K,
    FLASH_ERASE_ALL,
    FLASH_GET_MID,
    FLASH_READ_4K,
    FLASH_READ_SR,
    FLASH_WRITE,
    FLASH_WRITE_4K,
    FLASH_WRITE_SR,
    LINK_CHECK,
    READ_REG,
    REBOOT,
    ROM_RESET,
    SET_BAUD,
    STATUS_TEXT,
    STAY_ROM,
    WRITE_REG,
    Command,
    u32,
)
from .flash_commands import (  # re-exported: one namespace for callers (commands.CHECK_CRC, commands.FlashRead4K)
    FlashErase,
    FlashErase4K,
    FlashEraseAll,
    FlashGetMID,
    FlashRead4K,
    FlashReadSR,
    FlashWrite,
    FlashWrite4K,
    FlashWriteSR,
)
from .frames import Reply

# ---- short commands -------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkCheck(Command):
    name: ClassVar[str] = "LinkCheck"
    reply_code: ClassVar[int] = 0x01  # the reply code is command + 1

    code: ClassVar[int] = LINK_CHECK

    def decode(self, reply: Reply) -> bool:
        return reply.payload[:1] == b"\x00"


@dataclass(frozen=True)
class WriteReg(Command):
    address: int
    value: int
    name: ClassVar[str] = "WriteReg"

    code: ClassVar[int] = WRITE_REG

    def payload(self) -> bytes:
        return u32(self.address) + u32(self.value)

    def decode(self, reply: Reply) -> None:
        self._need(reply, 8)
        if reply.payload[:8] != u32(self.address) + u32(self.value):
            raise ProtocolError("WriteReg: echo does not match")


@dataclass(frozen=True)
class ReadReg(Command):
    address: int
    name: ClassVar[str] = "ReadReg"

    code: ClassVar[int] = READ_REG

    def payload(self) -> bytes:
        return u32(self.address)

    def decode(self, reply: Reply) -> int:
        self._need(reply, 8)
        addr, value = struct.unpack_from("<II", reply.payload)
        if addr != self.address:
            raise ProtocolError(f"ReadReg: echoed address 0x{addr:X} != 0x{self.address:X}")
        return value


@dataclass(frozen=True)
class Reboot(Command):
    name: ClassVar[str] = "Reboot"
    has_reply: ClassVar[bool] = False

    code: ClassVar[int] = REBOOT

    def payload(self) -> bytes:
        return b"\xa5"


@dataclass(frozen=True)
class RomReset(Command):
    """BK7231N ROM watchdog reset ("SEAN")."""

    name: ClassVar[str] = "RomReset"
    has_reply: ClassVar[bool] = False

    code: ClassVar[int] = ROM_RESET

    def payload(self) -> bytes:
        return b"SEAN"


@dataclass(frozen=True)
class SetBaudRate(Command):
    baudrate: int
    delay_ms: int = 20
    name: ClassVar[str] = "SetBaudRate"

    def work_time(self) -> float:
        return 0.1 + self.delay_ms * 0.002

    code: ClassVar[int] = SET_BAUD

    def payload(self) -> bytes:
        return u32(self.baudrate) + bytes((self.delay_ms & 0xFF,))

    def decode(self, reply: Reply) -> None:
        self._need(reply, 5)
        if reply.payload[:5] != u32(self.baudrate) + bytes((self.delay_ms & 0xFF,)):
            raise ProtocolError("SetBaudRate: echo does not match")


@dataclass(frozen=True)
class CheckCrc(Command):
    """CRC over a flash range. ``end`` is sent as-is: the two loader families read it differently
    (see ``chips.CrcConvention``); use ``chips`` helpers to compute it."""

    start: int
    end: int
    name: ClassVar[str] = "CheckCRC"

    def work_time(self) -> float:
        return 0.2 + max(0, self.end - self.start) / 300_000  # the chip reads ~300 KB/s to sum it

    code: ClassVar[int] = CHECK_CRC

    def payload(self) -> bytes:
        return u32(self.start) + u32(self.end)

    def decode(self, reply: Reply) -> int:
        self._need(reply, 4)
        return struct.unpack_from("<I", reply.payload)[0]


@dataclass(frozen=True)
class BootVersion(Command):
    name: ClassVar[str] = "ReadBootVersion"

    code: ClassVar[int] = BOOT_VERSION

    def decode(self, reply: Reply) -> str | None:
        if reply.payload == b"\x07":  # UNKNOWN_CMD from loaders that do not know it
            return None
        return reply.payload.decode("ascii", "replace").strip("\x00 ")


@dataclass(frozen=True)
class StayRom(Command):
    name: ClassVar[str] = "StayRom"

    code: ClassVar[int] = STAY_ROM

    def payload(self) -> bytes:
        return b"\x55"

    def decode(self, reply: Reply) -> bool:
        return reply.payload[:1] == b"\x55"


__all__ = [
    "BOOT_VERSION",
    "BootVersion",
    "CHECK_CRC",
    "CheckCrc",
    "Command",
    "ERASE_32K",
    "ERASE_4K",
    "ERASE_64K",
    "ERASE_SIZES",
    "FLASH_ERASE",
    "FLASH_ERASE_4K",
    "FLASH_ERASE_ALL",
    "FLASH_GET_MID",
    "FLASH_READ_4K",
    "FLASH_READ_SR",
    "FLASH_WRITE",
    "FLASH_WRITE_4K",
    "FLASH_WRITE_SR",
    "FlashErase",
    "FlashErase4K",
    "FlashEraseAll",
    "FlashGetMID",
    "FlashRead4K",
    "FlashReadSR",
    "FlashWrite",
    "FlashWrite4K",
    "FlashWriteSR",
    "LINK_CHECK",
    "LinkCheck",
    "READ_REG",
    "REBOOT",
    "ROM_RESET",
    "ReadReg",
    "Reboot",
    "RomReset",
    "SET_BAUD",
    "STATUS_TEXT",
    "STAY_ROM",
    "SetBaudRate",
    "StayRom",
    "WRITE_REG",
    "WriteReg",
    "u32",
]
