"""Per-chip facts: which loader answers, its command set, CRC range rule, protected region.

Everything chip-specific that the flasher and the simulator need is here, as data, so that code
elsewhere asks "does this chip ...?" instead of testing chip names.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..errors import UsageError
from ..protocol import commands as c


class CrcConvention(enum.Enum):
    """How a loader reads CheckCRC's ``end``."""

    INCLUSIVE = "inclusive"  # BK7231N ROM: bytes [start, end]
    BLOCKS_256 = "blocks256"  # BK7231T BIM: (end - start + 1) // 256 whole 256-byte blocks

    def end_for(self, start: int, length: int) -> int:
        """The ``end`` to send so that exactly ``length`` bytes are covered.

        BLOCKS_256 needs a multiple of 256; the same formula then works for both loaders.
        """
        if self is CrcConvention.BLOCKS_256 and length % 256:
            raise ValueError("BK7231T CheckCRC covers whole 256-byte blocks only")
        return start + length - 1


@dataclass(frozen=True)
class BootloaderInfo:
    name: str
    chip: str
    version: str
    crc: int  # standard CRC-32 (zlib) of the first 256 bytes (N: 257 bytes, inclusive end)


@dataclass(frozen=True)
class ChipProfile:
    name: str
    loader: str  # what answers on UART
    chip_id: int | None  # SCTRL_CHIP_ID register value, if the loader can read it
    short_cmds: frozenset[int]
    long_ops: frozenset[int]
    crc: CrcConvention
    #: Lowest address the loader lets us read/erase/write directly; below it lives code we must
    #: never touch (T: the flash-resident bootloader that implements this very protocol).
    protected_below: int
    #: Whether freebeken may ever write below ``app_start`` on this chip.
    bootloader_writable: bool
    app_start: int
    #: CheckCRC re-protects flash until the next LinkCheck (T bootloaders).
    crc_relocks: bool
    sr_protection: bool  # flash SR block-protection must be cleared over UART before erasing
    mac_tlv: int  # flash address of the RF/MAC TLV sector
    firmware_prefix: str  # how OpenBeken release files for this chip start
    default_boot_version: str | None = None

    def supports(self, cmd: c.Command | type[c.Command]) -> bool:
        return cmd.code in (self.long_ops if cmd.is_long else self.short_cmds)


_SHORT_FULL = frozenset(
    {c.LINK_CHECK, c.WRITE_REG, c.READ_REG, c.REBOOT, c.SET_BAUD, c.CHECK_CRC, c.ROM_RESET, c.STAY_ROM}
)
_LONG_FULL = frozenset(
    {
        c.FLASH_WRITE,
        c.FLASH_WRITE_4K,
        c.FLASH_READ_4K,
        c.FLASH_ERASE_ALL,
        c.FLASH_ERASE_4K,
        c.FLASH_READ_SR,
        c.FLASH_WRITE_SR,
        c.FLASH_GET_MID,
        c.FLASH_ERASE,
    }
)

BK7231T = ChipProfile(
    name="BK7231T",
    loader="flash bootloader (BK7231S BIM)",
    chip_id=None,
    short_cmds=frozenset({c.LINK_CHECK, c.REBOOT, c.SET_BAUD, c.CHECK_CRC, c.BOOT_VERSION}),
    long_ops=frozenset({c.FLASH_WRITE, c.FLASH_WRITE_4K, c.FLASH_READ_4K, c.FLASH_ERASE}),
    crc=CrcConvention.BLOCKS_256,
    protected_below=0x11000,
    bootloader_writable=False,
    app_start=0x11000,
    crc_relocks=True,
    sr_protection=False,
    mac_tlv=0x1E0000,
    firmware_prefix="OpenBK7231T_UA_",
    default_boot_version="BK7231S_1.0.5",
)

BK7231N = ChipProfile(
    name="BK7231N",
    loader="mask ROM",
    chip_id=0x7231C,
    short_cmds=_SHORT_FULL,
    long_ops=_LONG_FULL,
    crc=CrcConvention.INCLUSIVE,
    protected_below=0,
    bootloader_writable=True,
    app_start=0x11000,
    crc_relocks=False,
    sr_protection=True,
    mac_tlv=0x1D0000,
    firmware_prefix="OpenBK7231N_QIO_",
)

CHIPS: dict[str, ChipProfile] = {"bk7231t": BK7231T, "bk7231n": BK7231N}

#: Known bootloaders by the CRC-32 of their first bytes (facts from the peers' tables).
BOOTLOADERS: tuple[BootloaderInfo, ...] = (
    BootloaderInfo("bl_bk7231n_1.0.1", "BK7231N", "1.0.1", 0xE14191BA),
    BootloaderInfo("bl_bk7231s_1.0.1", "BK7231T", "1.0.1", 0xC1ECA871),
    BootloaderInfo("bl_bk7231s_1.0.3", "BK7231T", "1.0.3", 0x4B31E44D),
    BootloaderInfo("bl_bk7231s_1.0.5", "BK7231T", "1.0.5", 0xBA54C1B8),
    BootloaderInfo("bl_bk7231s_1.0.6", "BK7231T", "1.0.6", 0xE5CBC953),
    BootloaderInfo("bl_bk7231u_1.0.6", "BK7231U", "1.0.6", 0x2739019F),
    BootloaderInfo("bl_bk7252_0.1.3", "BK7252", "0.1.3", 0x39F9B50C),
)


#: System-controller registers the ROM loaders read and write over UART.
SCTRL_CHIP_ID = 0x800000
SCTRL_EFUSE_CTRL = 0x800074  # eFuse byte index in bits 8..12, start bit 0 (clears when done)
SCTRL_EFUSE_OPTR = 0x800078  # the byte read, bit 8 = valid

#: What other Beken ROMs answer in the chip-ID register (SCTRL 0x800000), after BK7231GUIFlashTool's
#: BKChipIdentity table. freebeken does not flash these yet; naming them is what keeps it from
#: treating one as a BK7231T (whose bootloader ignores the register) and writing the wrong image.
OTHER_CHIP_IDS: dict[int, str] = {
    0x7238: "BK7238",
    0x7252A: "BK7252N",
    0x7236: "BK7236 or BK7258",
    0x7256: "BK7256",
    0x7259: "BK7259",
}


def bootloader_by_crc(crc: int) -> BootloaderInfo | None:
    for bl in BOOTLOADERS:
        if bl.crc == crc:
            return bl
    return None


def chip_by_name(name: str) -> ChipProfile:
    try:
        return CHIPS[name.lower()]
    except KeyError:
        raise UsageError(
            f"Unknown chip {name!r}", hint=f"Supported chips: {', '.join(p.name for p in CHIPS.values())}."
        ) from None
