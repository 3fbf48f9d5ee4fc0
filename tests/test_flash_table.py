"""The flash-part table: well-formed, and in agreement with bk7231tools' own table where both list a part."""

from __future__ import annotations

import pytest

from freebeken.chips.flash_chips import CMP, FLASH_CHIPS, flash_by_id, flash_by_name, flash_for_id


def test_the_table_holds_the_public_tables_parts_once_each():
    assert len(FLASH_CHIPS) >= 85
    ids = [f.jedec for f in FLASH_CHIPS]
    names = [n.lower() for f in FLASH_CHIPS for n in (f.name, *f.aliases)]
    assert len(set(ids)) == len(ids) and len(set(names)) == len(names)
    for f in FLASH_CHIPS:
        assert f.size and f.size & (f.size - 1) == 0, f.name  # a power of two
        assert f.mask == f.protect_mask or any("cannot be seen" in q for q in f.quirks), f.name
        assert f.source in ("GUI", "GUI, bkt", "bkt")
        assert f.protect_value & ~f.protect_mask == 0, f.name  # protecting sets bits the mask knows


def test_flash_size_comes_from_the_table_not_the_capacity_code():
    """Beken's in-package flash answers 01 4B 42: a capacity code of 0x42 would mean 4 TiB."""
    bk = flash_by_name("BK")
    assert bk.jedec == bytes.fromhex("014b42") and bk.size == 512 * 1024 and not bk.read_ops


def test_earlier_names_still_work_and_ids_name_any_part():
    assert flash_by_name("GD25Q16").name == "GD25Q16B" and flash_by_name("P25Q16").name == "P25Q16SU"
    assert flash_by_name("jedec:c84015").name == "GD25Q16B"
    unknown = flash_for_id(bytes.fromhex("9d6015"))
    assert not unknown.known and unknown.size == 0x200000 and unknown.read_ops == (0x05, 0x35)
    assert unknown.mask & CMP and not unknown.can_write(0x1C) and unknown.can_write(0)


def test_what_each_entry_can_lift():
    # one register in the table, CMP in the mask, no SR2 write: a set CMP cannot be lifted
    pn = flash_by_name("PN25Q80A")
    assert pn.read_ops == (0x05, 0x35) and pn.can_write(0x1C) and not pn.can_write(CMP)
    # the same shape with 0x31 listed: SR2 written on its own, SR1 with one byte
    hb = flash_by_name("P25Q16HB")
    assert hb.can_write(CMP | 0x1C) and hb.sr_writes(0x0200) == [(0x01, b"\x00"), (0x31, b"\x02")]
    # two registers: one 16-bit write keeps QE (bit 9) where it was
    assert flash_by_name("GD25WQ16E").sr_writes(0x0200) == [(0x01, b"\x00\x02")]


def test_status_register_counts_agree_with_bk7231tools():
    """bk7231tools' FLASH_SR_SIZE is the second public table: every part it lists is here, with
    the same register count except the two disagreements docs/chips.md names (both read here)."""
    hl = pytest.importorskip("bk7231tools.serial.cmd_hl_flash")
    theirs: dict[bytes, int] = hl.BK7231SerialCmdHLFlash.FLASH_SR_SIZE
    disagree = {}
    for jedec, count in theirs.items():
        part = flash_by_id(jedec)
        assert part is not None, jedec.hex()
        if len(part.read_ops) != count and part.sr_size != count:
            disagree[part.name] = (count, part.sr_size)
    assert disagree == {"EN25QE32A": (1, 2), "GD25Q32E": (1, 2)}
    # the table's sources say which parts both tables list, and which only bk7231tools does
    assert {f.jedec for f in FLASH_CHIPS if "bkt" in f.source} == set(theirs)
    assert all(any("bk7231tools counts one" in q for q in flash_by_name(n).quirks) for n in disagree)
