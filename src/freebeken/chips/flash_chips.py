"""SPI NOR flash parts on Beken modules, as data: JEDEC id, size, status registers, protect bits, quirks.

Source of the table: BK7231GUIFlashTool ``Misc/BKFlashList.cs`` (commit 8d81f51, itself after Beken's
flash table): 84 parts. The status-register count of the parts bk7231tools also lists
(``FLASH_SR_SIZE`` in ``serial/cmd_hl_flash.py``, 35 ids) was checked against it: they agree except
where ``quirks`` say so; three parts only bk7231tools lists are added from it (*one source*).
docs/chips.md has the sources and the field's history of each quirk.

A part's protection is its ``protect_mask`` bits of the status registers read (SR1 | SR2 << 8):
BP0..BP4 and CMP on most parts, TB/SEC where they sit inside that field. Freebeken lifts them
(writes them 0, keeping every other bit, e.g. QE) before erasing and puts the value it read back
afterwards. A part not in the table is never assumed unprotected: see :func:`flash_for_id`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError

SR1, SR2, SR3 = 0x05, 0x35, 0x15  # read opcodes (JEDEC's SR1; the common SR2/SR3 ones)
WRSR, WRSR2 = 0x01, 0x31  # write SR1 (SR1+SR2 when given two bytes), write SR2 alone
CMP = 1 << 14  # SR2 bit 6: complements the BP-selected area (BP = 0 with CMP = 1 protects everything)


@dataclass(frozen=True)
class FlashChip:
    name: str
    jedec: bytes  # manufacturer, memory type, capacity code
    sr_size: int  # status registers the table gives (GUI szSR); 0: none (nothing to lift)
    protect_mask: int  # bits of SR1 | SR2 << 8 that protect blocks (GUI cwMsk)
    sr_read_ops: tuple[int, ...] = (SR1, SR2)
    sr_write_ops: tuple[int, ...] = (WRSR,)
    manufacturer: str = ""
    size_bytes: int = 0  # 0: from the JEDEC capacity code
    bp_shift: int = 2  # where the BP field starts (GUI sb) ...
    bp_len: int = 5  # ... and its width (GUI lb)
    protect_code: int = 0x07  # what goes into the BP field to protect (GUI cwEnp): BP0..BP2 set
    quirks: tuple[str, ...] = ()
    source: str = "GUI"  # "GUI", "GUI, bkt" (both tables), "bkt" (one source), "none" (not in any table)
    known: bool = True
    aliases: tuple[str, ...] = ()
    # typical datasheet timings in seconds
    t_page: float = 0.0007
    t_erase_4k: float = 0.045
    t_erase_32k: float = 0.150
    t_erase_64k: float = 0.250
    t_erase_chip: float = 8.0
    t_write_sr: float = 0.010

    @property
    def size(self) -> int:
        """Bytes; 0 when neither the table nor a plausible capacity code says."""
        code = self.jedec[2]
        return self.size_bytes or (1 << code if 16 <= code <= 26 else 0)

    @property
    def jedec_int(self) -> int:
        """The integer form other tools print (BK7231GUIFlashTool's MID): cap<<16 | type<<8 | manufacturer."""
        return self.jedec[2] << 16 | self.jedec[1] << 8 | self.jedec[0]

    @property
    def part_id(self) -> str:
        return f"JEDEC id {self.jedec.hex(' ').upper()} (MID {self.jedec_int:06X})"

    @property
    def protect_value(self) -> int:
        """What the stock firmware's usual protection looks like in the mask (BP0..BP2: 0x1C)."""
        return (self.protect_code & ((1 << self.bp_len) - 1)) << self.bp_shift

    @property
    def read_ops(self) -> tuple[int, ...]:
        """The registers to read to see every protect bit (at most two: protection is in SR1/SR2).
        A part whose table gives one register but an SR2 bit in its mask has SR2 read too."""
        if not self.protect_mask or not self.sr_read_ops:
            return ()
        wanted = 2 if self.protect_mask >> 8 else 1
        return self.sr_read_ops[: min(wanted, len(self.sr_read_ops))]

    @property
    def mask(self) -> int:
        """The protect bits in the registers read (a mask bit in a register the table never reads,
        e.g. GD25WD80E's CMP, is taken as absent, as BK7231GUIFlashTool does)."""
        return self.protect_mask & ((1 << 8 * len(self.read_ops)) - 1)

    def can_write(self, bits: int) -> bool:
        """Can ``bits`` (of SR1 | SR2 << 8) be changed with the writes the table gives?"""
        if not self.known or not self.sr_write_ops:
            return not bits
        return not bits >> 8 or self.sr_size >= 2 or WRSR2 in self.sr_write_ops

    def sr_writes(self, value: int) -> list[tuple[int, bytes]]:
        """(opcode, bytes) commands that write ``value`` (SR1 | SR2 << 8) to the registers read."""
        op = self.sr_write_ops[0] if self.sr_write_ops else WRSR
        if self.sr_size >= 2:
            return [(op, value.to_bytes(2, "little"))]
        writes = [(op, bytes((value & 0xFF,)))]
        if len(self.read_ops) > 1 and WRSR2 in self.sr_write_ops:
            writes.append((WRSR2, bytes((value >> 8 & 0xFF,))))
        return writes


# name, manufacturer, JEDEC (hex), KiB, status registers, protect mask, BP field start, width, read ops, write ops
_GUI: tuple[tuple[str, str, str, int, int, int, int, int, str, str], ...] = (
    ("GT25Q05D", "GT", "c44010", 64, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("GT25Q10D", "GT", "c44011", 128, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("GT25Q20D", "GT", "c44012", 256, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("PY25D22U", "PY", "854412", 256, 1, 0x007C, 2, 5, "05", "01"),
    ("PY25D24U", "PY", "854512", 256, 1, 0x007C, 2, 5, "05", "01"),
    ("UC25HQ20", "UC", "b36012", 256, 2, 0x407C, 2, 5, "05 35", "01"),
    ("TH25D20HA", "TH", "eb6012", 256, 2, 0x407C, 2, 5, "05 35", "01"),
    ("PN25Q40A", "BY", "e04013", 512, 1, 0x401C, 2, 3, "05 35", "01"),
    ("GD25D40", "GD", "514013", 512, 1, 0x001C, 2, 3, "05", "01"),
    ("GD25Q41BT", "GD", "c86413", 512, 1, 0x401C, 2, 3, "05 35", "01"),
    ("GD25Q41B", "GD", "c84013", 512, 1, 0x401C, 2, 3, "05 35", "01"),
    ("P25Q40", "Puya", "856013", 512, 2, 0x407C, 2, 5, "05 35", "01"),
    ("TH25D40HB", "TH", "cd6013", 512, 2, 0x407C, 2, 5, "05 35", "01"),
    ("PN25F04B", "xtx", "1c3113", 512, 1, 0x003C, 2, 4, "05", "01"),
    ("MX25V4035F", "MXIC", "c22313", 512, 2, 0x407C, 2, 5, "05 35", "01"),
    ("GT25Q40D", "GT", "c44013", 512, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("UC25HQ40", "UC", "b36013", 512, 2, 0x407C, 2, 5, "05 35", "01"),
    ("GD25Q41B_65H", "GD", "c86513", 512, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("TH25D40UC", "TH", "cd7113", 512, 2, 0x407C, 2, 5, "05 35", "01"),
    ("BK", "BK", "014b42", 512, 0, 0x0000, 0, 0, "", ""),
    ("PN25Q80A", "BY", "e04014", 1024, 1, 0x401C, 2, 3, "05 35", "01"),
    ("GD25WD80E", "GD", "c86414", 1024, 1, 0x407C, 2, 5, "05", "01"),
    ("GD25D80", "GD", "514014", 1024, 1, 0x001C, 2, 3, "05", "01"),
    ("GD125D80", "GD", "c84014", 1024, 2, 0x407C, 2, 5, "05 35", "01"),
    ("P25Q80", "Puya", "856014", 1024, 2, 0x407C, 2, 5, "05 35", "01"),
    ("TH25Q80HB", "TH", "cd6014", 1024, 2, 0x407C, 2, 5, "05 35", "01"),
    ("MX25V8035F", "WH", "c22314", 1024, 2, 0x103C, 2, 5, "05 15", "01"),
    ("PN25F08B", "xtx", "5e4014", 1024, 1, 0x003C, 2, 4, "05", "01"),
    ("MX25V80066", "MXIC", "c22014", 1024, 1, 0x007C, 2, 5, "05", "01"),
    ("XT25F08F", "XTX", "0b4014", 1024, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("GD25WQ80E", "GD", "c86514", 1024, 2, 0x407C, 2, 5, "05 35", "01"),
    ("EN25QH16B", "ESMT", "1c7015", 2048, 1, 0x003C, 2, 4, "05", "01"),
    ("GD25Q16B", "GD", "c84015", 2048, 2, 0x407C, 2, 5, "05 35", "01"),
    ("GD25WQ16E", "GD", "c86515", 2048, 2, 0x407C, 2, 5, "05 35", "01"),
    ("GT25Q16B", "GT", "c46015", 2048, 3, 0x407C, 2, 5, "05 35 15", "01 31 11"),
    ("P25Q16HB", "Puya", "854215", 2048, 1, 0x407C, 2, 5, "05 35", "01 31"),
    ("P25Q16HBK", "Puya", "852015", 2048, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("P25Q16SU", "Puya", "856015", 2048, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("TH25Q16HB", "TH", "eb6015", 2048, 2, 0x407C, 2, 5, "05 35", "01"),
    ("MX25V1635F", "WH", "c22315", 2048, 2, 0x103C, 2, 5, "05 15", "01"),
    ("XT25F16B", "xtx", "0b4015", 2048, 2, 0x407C, 2, 5, "05 35", "01"),
    ("XT25F16B_1", "XTX", "4b4015", 2048, 2, 0x407C, 2, 5, "05 35", "01"),
    ("TH25Q16UC", "TH", "cd7115", 2048, 2, 0x407C, 2, 5, "05 35", "01"),
    ("EN25QE32A", "ESMT", "1c4116", 4096, 2, 0x407C, 2, 5, "05 35", "01"),
    ("EN25QW32A", "ESMT", "1c6116", 4096, 2, 0x407C, 2, 5, "05 35", "01"),
    ("GD25WQ32E", "GD", "c86516", 4096, 2, 0x407C, 2, 5, "05 35", "01"),
    ("GD25Q32E", "GD", "c84016", 4096, 2, 0x407C, 2, 5, "05 35", "01"),
    ("P25Q32H", "Puya", "856016", 4096, 2, 0x407C, 2, 5, "05 35", "01"),
    ("P25Q32HB", "Puya", "852016", 4096, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("XT25F32B", "xtx", "0b4016", 4096, 2, 0x407C, 2, 5, "05 35", "01"),
    ("XM25QH32D", "XM", "204016", 4096, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("TH25Q32UB", "TH", "cd6016", 4096, 2, 0x407C, 2, 5, "05 35", "01"),
    ("PY25Q32LB", "PY", "856516", 4096, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("GD25WQ64E", "GD", "c86517", 8192, 2, 0x407C, 2, 5, "05 35", "01"),
    ("P25Q64H", "Puya", "856017", 8192, 2, 0x407C, 2, 5, "05 35", "01"),
    ("XT25Q64B", "xtx", "0b6017", 8192, 2, 0x407C, 2, 5, "05 35", "01"),
    ("XT25F64B", "xtx", "0b4017", 8192, 2, 0x407C, 2, 5, "05 35", "01"),
    ("PY25Q64HA", "PY", "852017", 8192, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("XM25QH64D", "XM", "204017", 8192, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("GD25Q64C", "GD", "c84017", 8192, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("TH25Q64HB", "TH", "cd6017", 8192, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("TH25Q64HA", "TH", "eb6017", 8192, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("GD25LQ128E", "GD", "c86018", 16384, 2, 0x407C, 2, 5, "05 35", "01"),
    ("GD25WQ128E", "GD", "c86518", 16384, 2, 0x407C, 2, 5, "05 35", "01"),
    ("P25Q128HA", "Puya", "852018", 16384, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("WB25Q128JV", "WB", "ef4018", 16384, 2, 0x407C, 2, 5, "05 35", "01"),
    ("XM25QU128C", "XMC", "204118", 16384, 2, 0x407C, 2, 5, "05 35", "01"),
    ("XT25F128F", "xtx", "0b4018", 16384, 3, 0x407C, 2, 5, "05 35 15", "01 31 11"),
    ("XT25Q128B", "xtx", "0b6018", 16384, 3, 0x407C, 2, 5, "05 35 15", "01 31 11"),
    ("ZB25LQ128C", "Zbit", "5e5018", 16384, 2, 0x407C, 2, 5, "05 35 15", "01 31 11"),
    ("XM25QH128D", "XM", "204018", 16384, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("BY25Q128ES", "BY", "684018", 16384, 2, 0x7C7C, 2, 5, "05 35", "01"),
    ("GT25Q128EZ", "GT", "c44018", 16384, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("GD25Q128C", "GD", "c84018", 16384, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("BY25Q128EL", "BY", "686018", 16384, 2, 0x407C, 2, 5, "05 35", "01"),
    ("FM25LQ128I", "FM", "a16018", 16384, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("WB25Q128JW_IQ", "WB", "ef6018", 16384, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("PY25Q128LA", "PY", "856518", 16384, 2, 0x407C, 2, 5, "05 35", "01"),
    ("WB25Q128JW_IM", "WB", "ef8018", 16384, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("GD25LX256E", "GD", "c86819", 32768, 1, 0x407C, 2, 5, "05", "01"),
    ("XM25QH256D", "XM", "204019", 32768, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("GD25Q256C", "GD", "c84019", 32768, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("GD25LQ256E", "GD", "c86019", 32768, 2, 0x407C, 2, 5, "05 35", "01 31"),
    ("GD25Q512C", "GD", "c8471a", 65536, 2, 0x407C, 2, 5, "05 35", "01 31"),
)

#: Where bk7231tools' SR count differs, or it lists a part the GUI table lacks (*one source*).
_BKT_ONLY = (
    ("FT25H32", "FMD", "0e4016", 4096, 2, 0x407C, 2, 5, "05 35", "01"),
    ("EN25QH32", "ESMT", "1c7016", 4096, 1, 0x007C, 2, 5, "05", "01"),
    ("W25Q32", "Winbond", "ef4016", 4096, 2, 0x407C, 2, 5, "05 35", "01"),
)

_QUIRKS: dict[str, tuple[str, ...]] = {
    "P25Q16HB": (
        "the table gives one status register yet CMP (bit 14) in the mask and SR2 opcodes 0x35/0x31: "
        "SR2 is read too and written with 0x31",
    ),
    "PN25Q40A": ("one status register in the table, CMP in the mask and no SR2 write: a set CMP stops the write",),
    "PN25Q80A": ("one status register in the table, CMP in the mask and no SR2 write: a set CMP stops the write",),
    "GD25Q41BT": ("one status register in the table, CMP in the mask and no SR2 write: a set CMP stops the write",),
    "GD25Q41B": ("one status register in the table, CMP in the mask and no SR2 write: a set CMP stops the write",),
    "GD25WD80E": ("one status register and no SR2 read in the table, yet CMP in the mask: a set CMP cannot be seen",),
    "GD25LX256E": ("one status register and no SR2 read in the table, yet CMP in the mask: a set CMP cannot be seen",),
    "MX25V1635F": (
        "its second register is Macronix's configuration register (read 0x15); its TB bit counts as "
        "protection; 0x01 with two bytes writes both",
    ),
    "MX25V8035F": (
        "its second register is Macronix's configuration register (read 0x15); its TB bit counts as "
        "protection; 0x01 with two bytes writes both",
    ),
    "BY25Q128ES": ("no CMP: SR2 bits 10..14 are protect bits",),
    "EN25QH16B": ("a 4-bit BP field (0x3C), one status register",),
    "GD25D40": ("a 3-bit BP field (0x1C), one status register",),
    "GD25D80": ("a 3-bit BP field (0x1C), one status register",),
    "PN25F04B": ("a 4-bit BP field (0x3C), one status register",),
    "PN25F08B": ("a 4-bit BP field (0x3C), one status register",),
    "GT25Q16B": ("three status registers (0x15/0x11 for SR3); protection lives in SR1/SR2",),
    "XT25F128F": ("three status registers (0x15/0x11 for SR3); protection lives in SR1/SR2",),
    "XT25Q128B": ("three status registers (0x15/0x11 for SR3); protection lives in SR1/SR2",),
    "ZB25LQ128C": ("reads SR3 with 0x15; protection lives in SR1/SR2",),
    "EN25QE32A": ("bk7231tools counts one status register, the GUI table two: both are read",),
    "GD25Q32E": ("bk7231tools counts one status register, the GUI table two: both are read",),
    "BK": ("Beken's in-package flash: no status register, nothing to lift",),
}
#: Parts bk7231tools' FLASH_SR_SIZE lists too (a second source for their register count).
_IN_BKT = {
    "0b4014",
    "0b4015",
    "0b4016",
    "0b4017",
    "0b6017",
    "1c3113",
    "1c4116",
    "1c7015",
    "204016",
    "514013",
    "514014",
    "5e4014",
    "854215",
    "852015",
    "856013",
    "856014",
    "856016",
    "856017",
    "c22314",
    "c22315",
    "c84013",
    "c84014",
    "c84015",
    "c84016",
    "c86515",
    "c86516",
    "c86517",
    "cd6014",
    "e04013",
    "e04014",
    "eb6015",
    "ef4018",
}
#: Names earlier freebeken versions (and their simulator URLs) used.
_ALIASES = {"GD25Q16B": ("GD25Q16",), "P25Q16SU": ("P25Q16",)}
#: Datasheet timings that differ from the defaults.
_TIMINGS: dict[str, dict[str, float]] = {"GD25Q16B": {"t_erase_64k": 0.280}, "P25Q16SU": {"t_page": 0.0005}}


def _part(row: tuple[str, str, str, int, int, int, int, int, str, str], source: str) -> FlashChip:
    name, maker, jedec, kib, regs, mask, shift, width, rd, wr = row
    ops = lambda text: tuple(int(x, 16) for x in text.split())  # noqa: E731
    return FlashChip(
        name,
        bytes.fromhex(jedec),
        regs,
        mask,
        ops(rd),
        ops(wr),
        maker,
        kib * 1024,
        shift,
        width,
        0 if name == "BK" else 0x07,
        _QUIRKS.get(name, ()),
        source,
        True,
        _ALIASES.get(name, ()),
        **_TIMINGS.get(name, {}),
    )


FLASH_CHIPS: tuple[FlashChip, ...] = tuple(_part(r, "GUI, bkt" if r[2] in _IN_BKT else "GUI") for r in _GUI) + tuple(
    _part(r, "bkt") for r in _BKT_ONLY
)


def unknown_part(jedec: bytes) -> FlashChip:
    """A part no table knows, read the JEDEC way: SR1 (0x05) and SR2 (0x35), BP0..BP4 (+TB/SEC
    where parts put them) and CMP all counted as protect bits. Freebeken never writes its status
    registers (a one-byte write clears SR2's QE on some parts, which stops a QIO chip from booting):
    when any of those bits is set, the write stops before erasing (chipio)."""
    return FlashChip(f"unknown-{jedec.hex().upper()}", bytes(jedec), 2, 0x407C, (SR1, SR2), (), source="none", known=False)


def flash_by_id(jedec: bytes) -> FlashChip | None:
    for chip in FLASH_CHIPS:
        if chip.jedec == bytes(jedec):
            return chip
    return None


def flash_for_id(jedec: bytes) -> FlashChip:
    """The table's part, or an unknown one described by what every SPI NOR flash answers."""
    return flash_by_id(jedec) or unknown_part(jedec)


def flash_by_name(name: str) -> FlashChip:
    """A part by its name (or an earlier name); ``jedec:XXXXXX`` names a part by id (known or not)."""
    if name.lower().startswith("jedec:"):
        try:
            jedec = bytes.fromhex(name[6:])
        except ValueError:
            jedec = b""
        if len(jedec) == 3:
            return flash_for_id(jedec)
    for chip in FLASH_CHIPS:
        if name.lower() in (chip.name.lower(), *(a.lower() for a in chip.aliases)):
            return chip
    known = ", ".join(c.name for c in FLASH_CHIPS)
    raise UsageError(f"Unknown flash chip {name!r}", hint=f"Known flash chips: {known}; or jedec:XXXXXX (its id).")
