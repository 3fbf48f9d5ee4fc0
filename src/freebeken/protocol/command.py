"""The command base class, the protocol's codes and its status texts. Pure: no I/O."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import ChipStatusError, ProtocolError
from .frames import Reply, ReplyKey, encode_long, encode_short

__all__ = [
    "LINK_CHECK",
    "WRITE_REG",
    "READ_REG",
    "REBOOT",
    "SET_BAUD",
    "CHECK_CRC",
    "BOOT_VERSION",
    "ROM_RESET",
    "STAY_ROM",
    "FLASH_WRITE",
    "FLASH_WRITE_4K",
    "FLASH_READ_4K",
    "FLASH_ERASE_ALL",
    "FLASH_ERASE_4K",
    "FLASH_READ_SR",
    "FLASH_WRITE_SR",
    "FLASH_GET_MID",
    "FLASH_ERASE",
    "ERASE_4K",
    "ERASE_32K",
    "ERASE_64K",
    "ERASE_SIZES",
    "STATUS_TEXT",
    "Command",
    "u32",
]

# Short command codes
LINK_CHECK = 0x00
WRITE_REG = 0x01
READ_REG = 0x03
REBOOT = 0x0E
SET_BAUD = 0x0F
CHECK_CRC = 0x10
BOOT_VERSION = 0x11
ROM_RESET = 0x70
STAY_ROM = 0xAA
# Long (F4) flash op codes
FLASH_WRITE = 0x06
FLASH_WRITE_4K = 0x07
FLASH_READ_4K = 0x09
FLASH_ERASE_ALL = 0x0A
FLASH_ERASE_4K = 0x0B
FLASH_READ_SR = 0x0C
FLASH_WRITE_SR = 0x0D
FLASH_GET_MID = 0x0E
FLASH_ERASE = 0x0F

# Sized-erase SPI opcodes
ERASE_4K = 0x20
ERASE_32K = 0x52
ERASE_64K = 0xD8
ERASE_SIZES = {ERASE_4K: 0x1000, ERASE_32K: 0x8000, ERASE_64K: 0x10000}

STATUS_TEXT = {
    0: "OK",
    1: "flash busy",
    2: "SPI timeout",
    3: "flash operation timeout",
    4: "packet length error",
    5: "packet payload incomplete",
    6: "parameter error (address protected or invalid)",
    7: "unknown command",
}


def u32(v: int) -> bytes:
    return struct.pack("<I", v & 0xFFFFFFFF)


@dataclass(frozen=True)
class Command:
    """Base: subclasses set ``reply_key`` and implement ``payload``/``decode``."""

    code: ClassVar[int]
    is_long: ClassVar[bool] = False
    has_reply: ClassVar[bool] = True
    reply_code: ClassVar[int | None] = None  # when the reply's code differs from ``code``
    name: ClassVar[str] = "command"
    reply_length: ClassVar[int] = 32  # bytes of the longest reply frame, for the reply timeout

    def work_time(self) -> float:
        """Worst-case seconds the chip may work on this command before it replies (datasheet
        maxima plus margin); the session's reply timeout adds the time on the wire."""
        return 0.1

    @property
    def reply_key(self) -> ReplyKey | None:
        if not self.has_reply:
            return None
        return ReplyKey(self.code if self.reply_code is None else self.reply_code, self.is_long)

    def payload(self) -> bytes:
        return b""

    def frame(self) -> bytes:
        if self.is_long:
            return encode_long(self.code, self.payload())
        return encode_short(self.code, self.payload())

    def decode(self, reply: Reply) -> Any:
        return None

    def _status(self, reply: Reply) -> None:
        if reply.status:
            text = STATUS_TEXT.get(reply.status, "unknown status")
            raise ChipStatusError(f"{self.name}: chip answered status {reply.status} ({text})", reply.status)

    def _need(self, reply: Reply, n: int) -> None:
        if len(reply.payload) < n:
            raise ProtocolError(f"{self.name}: reply too short ({len(reply.payload)} < {n} bytes)")
