"""Beken chips (BK7231T/U/N/M, BK7238, BK7252N) and SPI flash chips described as data, plus the rules that follow from them."""

from .flash_chips import FLASH_CHIPS, FlashChip, flash_by_id, flash_by_name
from .profiles import (
    BK7231N,
    BK7231T,
    CHIPS,
    BootloaderInfo,
    ChipProfile,
    CrcConvention,
    bootloader_by_crc,
    chip_by_name,
)

__all__ = [
    "BK7231N",
    "BK7231T",
    "CHIPS",
    "BootloaderInfo",
    "ChipProfile",
    "CrcConvention",
    "bootloader_by_crc",
    "chip_by_name",
    "FLASH_CHIPS",
    "FlashChip",
    "flash_by_id",
    "flash_by_name",
]
