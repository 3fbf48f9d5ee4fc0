"""Long (F4) flash commands: read, write, erase, status register, flash ID. Pure: no I/O."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import ClassVar

from ..errors import ProtocolError
from .command import (
    ERASE_4K,
    ERASE_32K,
    ERASE_64K,
    FLASH_ERASE,
    FLASH_ERASE_4K,
    FLASH_ERASE_ALL,
    FLASH_GET_MID,
    FLASH_READ_4K,
    FLASH_READ_SR,
    FLASH_WRITE,
    FLASH_WRITE_4K,
    FLASH_WRITE_SR,
    Command,
    u32,
)
from .frames import Reply

__all__ = [
    "FlashRead4K",
    "FlashWrite",
    "FlashWrite4K",
    "FlashErase4K",
    "FlashErase",
    "FlashEraseAll",
    "FlashReadSR",
    "FlashWriteSR",
    "FlashGetMID",
]

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
    reply_length: ClassVar[int] = 4111  # the 4 KiB and its frame

    code: ClassVar[int] = FLASH_READ_4K
    is_long: ClassVar[bool] = True

    def payload(self) -> bytes:
        return u32(self.address)

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
        return u32(self.address) + self.data

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
        return u32(self.address) + self.data

    def decode(self, reply: Reply) -> None:
        self._check_addr(reply)


@dataclass(frozen=True)
class FlashErase4K(_AddressedFlashOp):
    name: ClassVar[str] = "FlashErase4K"

    def work_time(self) -> float:
        return 0.5

    code: ClassVar[int] = FLASH_ERASE_4K
    is_long: ClassVar[bool] = True

    def payload(self) -> bytes:
        return u32(self.address)

    def decode(self, reply: Reply) -> None:
        self._check_addr(reply)


@dataclass(frozen=True)
class FlashErase(Command):
    """Sized erase: ``size_cmd`` is the SPI opcode 0x20 (4K), 0x52 (32K) or 0xD8 (64K)."""

    size_cmd: int
    address: int
    name: ClassVar[str] = "FlashErase"

    def work_time(self) -> float:
        return {ERASE_4K: 0.5, ERASE_32K: 1.7, ERASE_64K: 2.2}.get(self.size_cmd, 0.5)

    code: ClassVar[int] = FLASH_ERASE
    is_long: ClassVar[bool] = True

    def payload(self) -> bytes:
        return bytes((self.size_cmd,)) + u32(self.address)

    def decode(self, reply: Reply) -> None:
        self._status(reply)
        self._need(reply, 5)
        if reply.payload[:5] != bytes((self.size_cmd,)) + u32(self.address):
            raise ProtocolError("FlashErase: echo does not match")


@dataclass(frozen=True)
class FlashEraseAll(Command):
    name: ClassVar[str] = "FlashEraseAll"

    def work_time(self) -> float:
        return 30.0

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

    def work_time(self) -> float:
        return 0.5

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
