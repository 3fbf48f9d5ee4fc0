"""Bytes <-> commands and replies of the BK7231 UART download protocol. Pure: no I/O."""

from . import commands
from .crc import BLANK_SECTOR_CRC, beken_crc
from .frames import Reply, ReplyKey, ReplyScanner, encode_long, encode_short

__all__ = [
    "BLANK_SECTOR_CRC",
    "beken_crc",
    "Reply",
    "ReplyKey",
    "ReplyScanner",
    "encode_long",
    "encode_short",
    "commands",
]
