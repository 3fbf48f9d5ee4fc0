"""SPI NOR flash parts found on BK7231 modules (JEDEC id, status-register layout, timings).

Status-register facts follow Beken's flash table as used by the flashers (see the reference's §6.4):
``sr_size`` registers are read with ``sr_read_ops`` and assembled little-endian; ``protect_mask``
covers the block-protection bits (BP0..BP4, CMP) that must be 0 before erasing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError


@dataclass(frozen=True)
class FlashChip:
    name: str
    jedec: bytes  # manufacturer, memory type, capacity code
    sr_size: int  # number of status registers freebeken reads (1 or 2; 3 reads SR3 too)
    protect_mask: int
    sr_read_ops: tuple[int, ...] = (0x05, 0x35)
    protect_value: int = 0x1C  # what Tuya firmware leaves set (BP0..BP2)
    # typical datasheet timings in seconds
    t_page: float = 0.0007
    t_erase_4k: float = 0.045
    t_erase_32k: float = 0.150
    t_erase_64k: float = 0.250
    t_erase_chip: float = 8.0
    t_write_sr: float = 0.010

    @property
    def size(self) -> int:
        return 1 << self.jedec[2]

    @property
    def jedec_int(self) -> int:
        """The integer form other tools print: cap<<16 | type<<8 | manufacturer."""
        return self.jedec[2] << 16 | self.jedec[1] << 8 | self.jedec[0]


_DEFAULT_MASK = 0x407C  # BP0..BP4 and CMP

FLASH_CHIPS: tuple[FlashChip, ...] = (
    FlashChip("TH25Q16HB", bytes.fromhex("eb6015"), 2, _DEFAULT_MASK),
    FlashChip("GD25Q16", bytes.fromhex("c84015"), 2, _DEFAULT_MASK, t_erase_64k=0.280),
    FlashChip("XT25F16B", bytes.fromhex("0b4015"), 2, _DEFAULT_MASK),
    FlashChip("EN25QH16B", bytes.fromhex("1c7015"), 1, 0x3C, sr_read_ops=(0x05,)),
    FlashChip("P25Q16", bytes.fromhex("856015"), 2, _DEFAULT_MASK, t_page=0.0005),
    FlashChip("P25Q16HB", bytes.fromhex("854215"), 1, _DEFAULT_MASK, sr_read_ops=(0x05,)),
    FlashChip("GT25Q16B", bytes.fromhex("c46015"), 2, _DEFAULT_MASK, sr_read_ops=(0x05, 0x35, 0x15)),
    FlashChip("MX25V1635F", bytes.fromhex("c22315"), 2, 0x103C, sr_read_ops=(0x05, 0x15)),
)


def flash_by_id(jedec: bytes) -> FlashChip | None:
    for chip in FLASH_CHIPS:
        if chip.jedec == bytes(jedec):
            return chip
    return None


def flash_by_name(name: str) -> FlashChip:
    for chip in FLASH_CHIPS:
        if chip.name.lower() == name.lower():
            return chip
    known = ", ".join(c.name for c in FLASH_CHIPS)
    raise UsageError(f"Unknown flash chip {name!r}", hint=f"Known flash chips: {known}.")
