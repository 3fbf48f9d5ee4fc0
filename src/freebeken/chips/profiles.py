"""Per-chip facts: which loader answers, its command set, CRC range rule, protected region.

Everything chip-specific that the flasher and the simulator need is here, as data, so that code
elsewhere asks "does this chip ...?" instead of testing chip names.
"""

from __future__ import annotations

import dataclasses
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
    version: str | None
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
    mac_tlv: int  # flash address of the RF/MAC TLV sector (where OpenBeken reads it)
    firmware_prefix: str  # how OpenBeken release files for this chip start
    obk_config: int  # OpenBeken's configuration sector
    #: The code-encryption key the chip's application is stored under: "tuya" (Tuya's eFuse key),
    #: "zero" (no key: code in clear), None where no source says (the check is then skipped).
    code_key: str | None
    #: Whether the ROM reads the eFuse (the key) over UART; the flash bootloaders cannot.
    efuse_readable: bool = False
    default_boot_version: str | None = None
    #: A simulator-only fact (the Tuya "UF" plain config copy); real dumps are searched by shape.
    tuya_uf: int = 0x1E5000
    em_sys_env: str = ""  # what the simulator's stock firmware writes as its platform name
    #: What the OpenBeken build for this chip calls itself (PLATFORM_MCU_NAME, new_common.h) and its
    #: default MQTT group; BK7231M runs the N build, so it says BK7231N.
    obk_platform: str = ""
    obk_group: str = ""
    #: Other places the stock (Tuya) firmware keeps the RF/MAC TLV sector when ``mac_tlv`` is blank:
    #: Tuya T1 modules (BK7238) ship it at 0x1E3000 (docs/chips.md, "BK7238 as Tuya ships it").
    stock_rf: tuple[int, ...] = ()

    @property
    def is_bim(self) -> bool:
        """A flash-resident bootloader answers UART (T, U), not the chip's mask ROM."""
        return self.crc is CrcConvention.BLOCKS_256

    def supports(self, cmd: c.Command | type[c.Command]) -> bool:
        return cmd.code in (self.long_ops if cmd.is_long else self.short_cmds)


_SHORT_FULL = frozenset({c.LINK_CHECK, c.WRITE_REG, c.READ_REG, c.REBOOT, c.SET_BAUD, c.CHECK_CRC, c.ROM_RESET, c.STAY_ROM})
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

_BIM_SHORT = frozenset({c.LINK_CHECK, c.REBOOT, c.SET_BAUD, c.CHECK_CRC})
_BIM_LONG = frozenset({c.FLASH_WRITE, c.FLASH_WRITE_4K, c.FLASH_READ_4K, c.FLASH_ERASE})

# Sources for every value below: docs/chips.md.
BK7231T = ChipProfile(
    name="BK7231T",
    loader="flash bootloader (BK7231S BIM)",
    chip_id=None,
    short_cmds=_BIM_SHORT | {c.BOOT_VERSION},  # Tuya's bootloader adds BootVersion
    long_ops=_BIM_LONG,
    crc=CrcConvention.BLOCKS_256,
    protected_below=0x11000,
    bootloader_writable=False,
    app_start=0x11000,
    crc_relocks=True,
    sr_protection=False,
    mac_tlv=0x1E0000,
    firmware_prefix="OpenBK7231T_UA_",
    obk_config=0x1E1000,
    code_key="tuya",
    default_boot_version="BK7231S_1.0.5",
    em_sys_env="BK7231S_2M",
    obk_platform="BK7231T",
    obk_group="bekens_t",
)

BK7231U = dataclasses.replace(
    BK7231T,
    name="BK7231U",
    loader="flash bootloader (Beken BIM)",
    short_cmds=_BIM_SHORT,  # a plain Beken bootloader: no BootVersion
    firmware_prefix="OpenBK7231U_UA_",
    code_key="zero",
    default_boot_version=None,
    em_sys_env="bk7231u",
    obk_platform="BK7231U",
    obk_group="bekens_u",
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
    obk_config=0x1D1000,
    code_key="tuya",
    efuse_readable=True,
    tuya_uf=0x1D6000,
    em_sys_env="bk7231n",
    obk_platform="BK7231N",
    obk_group="bekens_n",
)

# The same chip ID as N; told apart by its all-zero eFuse key (its firmware is built unencrypted).
BK7231M = dataclasses.replace(BK7231N, name="BK7231M", firmware_prefix="OpenBK7231M_QIO_", code_key="zero", em_sys_env="bk7231m")

BK7238 = dataclasses.replace(
    BK7231N,
    name="BK7238",
    chip_id=0x7238,
    mac_tlv=0x1E0000,
    firmware_prefix="OpenBK7238_QIO_",
    obk_config=0x1E1000,
    code_key=None,
    tuya_uf=0x1E5000,
    em_sys_env="bk7238",
    obk_platform="BK7238",
    obk_group="bekens_8s",
    stock_rf=(0x1E3000,),
)

BK7252N = dataclasses.replace(
    BK7238,
    name="BK7252N",
    chip_id=0x7252A,
    firmware_prefix="OpenBK7252N_QIO_",
    em_sys_env="bk7252n",
    obk_platform="BK7252N",
    obk_group="bekens_52n",
    stock_rf=(),
)

CHIPS: dict[str, ChipProfile] = {p.name.lower(): p for p in (BK7231T, BK7231U, BK7231N, BK7231M, BK7238, BK7252N)}

#: Known bootloaders by the CRC-32 of their first bytes (facts from the peers' tables).
BOOTLOADERS: tuple[BootloaderInfo, ...] = (
    BootloaderInfo("bl_bk7231n_1.0.1", "BK7231N", "1.0.1", 0xE14191BA),
    BootloaderInfo("bl_bk7231s_1.0.1", "BK7231T", "1.0.1", 0xC1ECA871),
    BootloaderInfo("bl_bk7231s_1.0.3", "BK7231T", "1.0.3", 0x4B31E44D),
    BootloaderInfo("bl_bk7231s_1.0.5", "BK7231T", "1.0.5", 0xBA54C1B8),
    BootloaderInfo("bl_bk7231s_1.0.6", "BK7231T", "1.0.6", 0xE5CBC953),
    BootloaderInfo("bl_bk7231u_1.0.6", "BK7231U", "1.0.6", 0x2739019F),
    BootloaderInfo("bl_bk7252_0.1.3", "BK7252", "0.1.3", 0x39F9B50C),
    BootloaderInfo("bootloader_7252_2M_uart1_log_20190828", "BK7252", "SDK", 0xE3A27C26),
    BootloaderInfo("bl_t1_2.0.0", "BK7238", "2.0.0 (T1)", 0xF42F8C32),
    BootloaderInfo("bootloader_bk7238_uart1_v1.0.14", "BK7238", "1.0.14", 0x6BEB0924),
    BootloaderInfo("bl_bk7231q", "BK7231Q", None, 0xF0231EF6),
    BootloaderInfo("bl_bk7231q_tysdk", "BK7231Q", None, 0xFF5A3EAC),
)

#: Chips whose bootloader or chip ID freebeken recognises but does not read or flash, and why.
NOT_FLASHED: dict[str, str] = {
    "BK7252": "its bootloader reads flash through a shifted address window that depends on the flash size (2 or 4 MiB)",
    "BK7231Q": "OpenBeken has no build for it",
    "BK7236 or BK7258": "its ROM speaks a newer protocol variant (chip ID at 0x44010004, another eFuse) that only one "
    "public source describes, and the two chips answer alike; backup and restore wait for a second source",
    "BK7256": "no source describes its UART loader",
    "BK7259": "no source describes its UART loader",
}


#: System-controller registers the ROM loaders read and write over UART.
SCTRL_CHIP_ID = 0x800000
SCTRL_EFUSE_CTRL = 0x800074  # eFuse byte index in bits 8..12, start bit 0 (clears when done)
SCTRL_EFUSE_OPTR = 0x800078  # the byte read, bit 8 = valid

#: What other Beken ROMs answer in the chip-ID register (SCTRL 0x800000), after BK7231GUIFlashTool's
#: BKChipIdentity table. freebeken does not flash these; naming them is what keeps it from
#: treating one as a BK7231T (whose bootloader ignores the register) and writing the wrong image.
OTHER_CHIP_IDS: dict[int, str] = {
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
