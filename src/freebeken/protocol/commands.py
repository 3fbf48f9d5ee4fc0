"""Every host command of the BK7231 download protocol, as small frozen dataclasses.

A command knows its frame (``frame()``), which reply it waits for (``reply_key``, None if the chip
sends nothing back) and how to turn that reply into a typed result (``decode``). Echo fields
(addresses, sizes) are checked here so that a stale or corrupted reply is never accepted.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import ChipStatusError, ProtocolError
from .frames import Reply, ReplyKey, encode_long, encode_short

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


def _u32(v: int) -> bytes:
    return struct.pack("<I", v & 0xFFFFFFFF)


@dataclass(frozen=True)
class Command:
    """Base: subclasses set ``reply_key`` and implement ``payload``/``decode``."""

    code: ClassVar[int]
    is_long: ClassVar[bool] = False
    has_reply: ClassVar[bool] = True
    reply_code: ClassVar[int | None] = None  # when the reply's code differs from ``code``
    name: ClassVar[str] = "command"

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
        return _u32(self.address) + _u32(self.value)

    def decode(self, reply: Reply) -> None:
        self._need(reply, 8)
        if reply.payload[:8] != _u32(self.address) + _u32(self.value):
            raise ProtocolError("WriteReg: echo does not match")


@dataclass(frozen=True)
class ReadReg(Command):
    address: int
    name: ClassVar[str] = "ReadReg"

    code: ClassVar[int] = READ_REG

    def payload(self) -> bytes:
        return _u32(self.address)

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

    code: ClassVar[int] = SET_BAUD

    def payload(self) -> bytes:
        return _u32(self.baudrate) + bytes((self.delay_ms & 0xFF,))

    def decode(self, reply: Reply) -> None:
        self._need(reply, 5)
        if reply.payload[:5] != _u32(self.baudrate) + bytes((self.delay_ms & 0xFF,)):
            raise ProtocolError("SetBaudRate: echo does not match")


@dataclass(frozen=True)
class CheckCrc(Command):
    """CRC over a flash range. ``end`` is sent as-is: the two loader families read it differently
    (see ``chips.CrcConvention``); use ``chips`` helpers to compute it."""

    start: int
    end: int
    name: ClassVar[str] = "CheckCRC"

    code: ClassVar[int] = CHECK_CRC

    def payload(self) -> bytes:
        return _u32(self.start) + _u32(self.end)

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


# ---- long (flash) commands --------------------------------------------------------------------


@dataclass(frozen=True)
class _AddressedFlashOp(Command):
    """Long op whose reply is status + address echo (+ data)."""

    address: int

    def _check_addr(self, reply: Reply, offset: int = 0) -> None:
        self._status(reply)
        self._need(reply, offset + 4)
        got = struct.unpack_from("<I", reply.payload, offset)[0]
        if got != self.address & 0xFFFFFFFF:
            raise ProtocolError(f"{self.name}: echoed address 0x{got:X} != 0x{self.address:X}")


@dataclass(frozen=True)
class FlashRead4K(_AddressedFlashOp):
    name: ClassVar[str] = "FlashRead4K"

    code: ClassVar[int] = FLASH_READ_4K
    is_long: ClassVar[bool] = True

    def payload(self) -> bytes:
        return _u32(self.address)

    def decode(self, reply: Reply) -> bytes:
        self._check_addr(reply)
        data = reply.payload[4:]
        if len(data) != 4096:
            raise ProtocolError(f"FlashRead4K: got {len(data)} data bytes, expected 4096")
        return data


@dataclass(frozen=True)
class FlashWrite(_AddressedFlashOp):
    """Write up to 256 bytes (the chip echoes the count as one byte, so 256 echoes as 0)."""

    data: bytes = field(default=b"", repr=False)
    name: ClassVar[str] = "FlashWrite"

    def __post_init__(self) -> None:
        if not 1 <= len(self.data) <= 256:
            raise ValueError("FlashWrite takes 1..256 bytes")

    code: ClassVar[int] = FLASH_WRITE
    is_long: ClassVar[bool] = True

    def payload(self) -> bytes:
        return _u32(self.address) + self.data

    def decode(self, reply: Reply) -> None:
        self._check_addr(reply)
        self._need(reply, 5)
        if reply.payload[4] != len(self.data) & 0xFF:
            raise ProtocolError(f"FlashWrite: chip wrote {reply.payload[4]} of {len(self.data)} bytes")


@dataclass(frozen=True)
class FlashWrite4K(_AddressedFlashOp):
    data: bytes = field(default=b"", repr=False)
    name: ClassVar[str] = "FlashWrite4K"

    def __post_init__(self) -> None:
        if len(self.data) != 4096:
            raise ValueError("FlashWrite4K takes exactly 4096 bytes")

    code: ClassVar[int] = FLASH_WRITE_4K
    is_long: ClassVar[bool] = True

    def payload(self) -> bytes:
        return _u32(self.address) + self.data

    def decode(self, reply: Reply) -> None:
        self._check_addr(reply)


@dataclass(frozen=True)
class FlashErase4K(_AddressedFlashOp):
    name: ClassVar[str] = "FlashErase4K"

    code: ClassVar[int] = FLASH_ERASE_4K
    is_long: ClassVar[bool] = True

    def payload(self) -> bytes:
        return _u32(self.address)

    def decode(self, reply: Reply) -> None:
        self._check_addr(reply)


@dataclass(frozen=True)
class FlashErase(Command):
    """Sized erase: ``size_cmd`` is the SPI opcode 0x20 (4K), 0x52 (32K) or 0xD8 (64K)."""

    size_cmd: int
    address: int
    name: ClassVar[str] = "FlashErase"

    code: ClassVar[int] = FLASH_ERASE
    is_long: ClassVar[bool] = True

    def payload(self) -> bytes:
        return bytes((self.size_cmd,)) + _u32(self.address)

    def decode(self, reply: Reply) -> None:
        self._status(reply)
        self._need(reply, 5)
        if reply.payload[:5] != bytes((self.size_cmd,)) + _u32(self.address):
            raise ProtocolError("FlashErase: echo does not match")


@dataclass(frozen=True)
class FlashEraseAll(Command):
    name: ClassVar[str] = "FlashEraseAll"

    code: ClassVar[int] = FLASH_ERASE_ALL
    is_long: ClassVar[bool] = True

    def payload(self) -> bytes:
        return b"\x04"

    def decode(self, reply: Reply) -> None:
        self._status(reply)


@dataclass(frozen=True)
class FlashReadSR(Command):
    """Read one SPI status register (opcode 0x05, 0x35 or 0x15)."""

    opcode: int = 0x05
    name: ClassVar[str] = "FlashReadSR"

    code: ClassVar[int] = FLASH_READ_SR
    is_long: ClassVar[bool] = True

    def payload(self) -> bytes:
        return bytes((self.opcode,))

    def decode(self, reply: Reply) -> int:
        self._status(reply)
        self._need(reply, 2)
        if reply.payload[0] != self.opcode:
            raise ProtocolError("FlashReadSR: echoed opcode does not match")
        return reply.payload[1]


@dataclass(frozen=True)
class FlashWriteSR(Command):
    """Write the status register: 1 byte (SR1) or 2 bytes (SR1, SR2) with opcode 0x01."""

    value: bytes
    opcode: int = 0x01
    name: ClassVar[str] = "FlashWriteSR"

    def __post_init__(self) -> None:
        if len(self.value) not in (1, 2):
            raise ValueError("FlashWriteSR takes 1 or 2 value bytes")

    code: ClassVar[int] = FLASH_WRITE_SR
    is_long: ClassVar[bool] = True

    def payload(self) -> bytes:
        return bytes((self.opcode,)) + self.value

    def decode(self, reply: Reply) -> bytes:
        self._status(reply)
        self._need(reply, 1 + len(self.value))
        return reply.payload[1 : 1 + len(self.value)]


@dataclass(frozen=True)
class FlashGetMID(Command):
    """JEDEC id. The reply has a dummy first byte; real ROMs send LEN 6, some 5: both accepted."""

    name: ClassVar[str] = "FlashGetMID"

    code: ClassVar[int] = FLASH_GET_MID
    is_long: ClassVar[bool] = True

    def payload(self) -> bytes:
        return b"\x9f\x00\x00\x00"

    def decode(self, reply: Reply) -> bytes:
        self._status(reply)
        self._need(reply, 3)
        return reply.payload[-3:]  # (manufacturer, type, capacity)
