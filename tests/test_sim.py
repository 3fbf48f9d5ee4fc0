"""The chip simulator: NOR semantics, loader personalities, protection, boot, baud, faults, timing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from freebeken.chips import BK7231N, CrcConvention, flash_by_name
from freebeken.errors import ChipStatusError
from freebeken.protocol import BLANK_SECTOR_CRC, beken_crc
from freebeken.protocol import commands as c
from freebeken.protocol.frames import encode_short
from freebeken.sim.faults import Faults
from freebeken.sim.flash import NorFlash, PowerCut
from freebeken.sim.line import SimLine
from helpers import ManualClock, make_chip, reply_of

PAGE = bytes(range(256))


# ---- NOR flash ----


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("erase"), st.integers(0, 0x1FFFFF), st.sampled_from([0x1000, 0x8000, 0x10000])),
            st.tuples(st.just("program"), st.integers(0, 0x1FFFFF), st.binary(min_size=1, max_size=600)),
        ),
        max_size=12,
    )
)
def test_nor_semantics_match_model(ops):
    flash = NorFlash(flash_by_name("GD25Q16"), bytearray(bytes(range(256)) * 8192))
    model = bytearray(flash.data)
    for kind, addr, arg in ops:
        if kind == "erase":
            base = addr & ~(arg - 1)
            flash.erase(addr, arg)
            model[base : base + arg] = b"\xff" * arg
        else:
            flash.program(addr, arg)
            for i, b in enumerate(arg):
                model[(addr + i) % len(model)] &= b
    assert flash.data == model


def test_programming_unerased_flash_ands_the_data():
    flash = NorFlash(flash_by_name("TH25Q16HB"))
    flash.program(0x1000, b"\xf0\x0f")
    flash.program(0x1000, b"\x3c\x3c")
    assert flash.read(0x1000, 2) == b"\x30\x0c"
    assert flash.read(0x201000, 2) == b"\x30\x0c"  # address bits above the size are ignored


def test_power_cut_mid_erase_leaves_mixed_data():
    flash = NorFlash(flash_by_name("TH25Q16HB"), bytearray(b"\x00" * 0x200000), ops_before_cut=1)
    flash.erase(0, 0x1000)  # completes
    with pytest.raises(PowerCut):
        flash.erase(0x1000, 0x1000)
    sector = flash.read(0x1000, 0x1000)
    assert flash.read(0, 0x1000) == b"\xff" * 0x1000
    assert 0 < sector.count(0xFF) < 0x1000  # half-erased


# ---- BK7231T loader ----


def test_t_refuses_the_bootloader_region_but_wraps_around(t_line):
    assert reply_of(t_line, c.LinkCheck())
    with pytest.raises(ChipStatusError) as e:
        reply_of(t_line, c.FlashRead4K(0x0))
    assert e.value.status == 6
    bootloader = t_line.chip.flash.read(0, 4096)
    assert reply_of(t_line, c.FlashRead4K(0x200000)) == bootloader  # the wrap-around bypass
    with pytest.raises(ChipStatusError):
        reply_of(t_line, c.FlashErase(c.ERASE_4K, 0x1000))
    assert t_line.chip.flash.read(0, 4096) == bootloader


def test_t_crc_relocks_until_next_linkcheck(t_line):
    flash = t_line.chip.flash
    assert reply_of(t_line, c.LinkCheck())
    assert reply_of(t_line, c.FlashErase(c.ERASE_4K, 0x20000)) is None  # unlocks, erases
    assert flash.read(0x20000, 4096) == b"\xff" * 4096
    reply_of(t_line, c.CheckCrc(0x20000, 0x20FFF))  # re-protects
    reply_of(t_line, c.FlashErase(c.ERASE_4K, 0x21000))  # status 0 ...
    assert flash.read(0x21000, 4096) != b"\xff" * 4096  # ... but nothing happened
    reply_of(t_line, c.FlashWrite4K(0x20000, bytes(4096)))
    assert flash.read(0x20000, 4096) == b"\xff" * 4096  # writes silently ignored too
    assert reply_of(t_line, c.LinkCheck())
    reply_of(t_line, c.FlashErase(c.ERASE_4K, 0x21000))
    assert flash.read(0x21000, 4096) == b"\xff" * 4096


def test_t_command_set_and_version(t_line):
    reply_of(t_line, c.LinkCheck())
    assert reply_of(t_line, c.BootVersion()) == "BK7231S_1.0.5"
    for cmd in (c.ReadReg(0x800000), c.FlashGetMID(), c.FlashReadSR(5), c.FlashErase4K(0x20000)):
        assert reply_of(t_line, cmd) is None  # the BIM stays silent


def test_t_crc_counts_whole_256_blocks(t_line):
    reply_of(t_line, c.LinkCheck())
    data = t_line.chip.flash.read(0x11000, 0x1000)
    assert reply_of(t_line, c.CheckCrc(0x11000, 0x11FFF)) == beken_crc(data)
    assert reply_of(t_line, c.CheckCrc(0x11000, 0x11000 + 0x1000)) == beken_crc(data)  # bk7231tools' end
    assert reply_of(t_line, c.CheckCrc(0x11000, 0x11000 + 300)) == beken_crc(data[:256])  # remainder dropped


# ---- BK7231N loader ----


def test_n_identity_and_inclusive_crc(n_line):
    reply_of(n_line, c.LinkCheck())
    assert reply_of(n_line, c.ReadReg(0x800000)) == BK7231N.chip_id
    assert reply_of(n_line, c.FlashGetMID()) == bytes.fromhex("eb6015")
    data = n_line.chip.flash.read(0, 257)
    assert reply_of(n_line, c.CheckCrc(0, 256)) == beken_crc(data)
    assert reply_of(n_line, c.FlashRead4K(0)) == n_line.chip.flash.read(0, 4096)  # no address limit


def test_n_sr_protection_makes_erase_silently_fail(n_line):
    flash = n_line.chip.flash
    reply_of(n_line, c.LinkCheck())
    assert reply_of(n_line, c.FlashReadSR(0x05)) == 0x1C
    before = flash.read(0x11000, 4096)
    reply_of(n_line, c.FlashErase(c.ERASE_4K, 0x11000))
    assert flash.read(0x11000, 4096) == before
    assert reply_of(n_line, c.FlashWriteSR(b"\x00\x00")) == b"\x00\x00"
    assert reply_of(n_line, c.FlashReadSR(0x05)) == 0
    reply_of(n_line, c.FlashErase4K(0x11000))
    assert reply_of(n_line, c.CheckCrc(0x11000, 0x11FFF)) == BLANK_SECTOR_CRC


def test_n_one_byte_sr_part():
    line = SimLine(make_chip("bk7231n", flash="EN25QH16B"), time_scale=0, stay_in_loader=True)
    reply_of(line, c.LinkCheck())
    assert reply_of(line, c.FlashGetMID()) == bytes.fromhex("1c7015")
    reply_of(line, c.FlashWriteSR(b"\x00"))
    assert not line.chip.flash.protected


def test_n_answers_unknown_commands_with_status_7(n_line):
    reply_of(n_line, c.LinkCheck())
    n_line.write(encode_short(0x42), 115200)
    assert n_line.read(115200, 100) == bytes.fromhex("04 0E 05 01 E0 FC 42 07")


@pytest.mark.parametrize("flash", ["GD25Q16", "TH25Q16HB", "XT25F16B", "EN25QH16B", "P25Q16"])
def test_flash_parts_report_their_jedec_id(flash):
    line = SimLine(make_chip("bk7231n", flash=flash), time_scale=0, stay_in_loader=True)
    reply_of(line, c.LinkCheck())
    assert reply_of(line, c.FlashGetMID()) == flash_by_name(flash).jedec


# ---- boot, reset, baud ----


def test_boot_window_then_app_noise_then_reset():
    clock = ManualClock()
    line = SimLine(make_chip("bk7231t"), time_scale=0, boot_window=0.3, clock=clock)
    clock.t += 0.5  # nobody linked in time: the app boots and logs
    assert reply_of(line, c.LinkCheck()) is None
    clock.t += 1.0
    assert b"TUYA" in line.read(115200, 10000)
    line.set_lines(rts=True, dtr=False)  # CEN held low
    line.set_lines(rts=False)  # released: new boot window
    assert reply_of(line, c.LinkCheck())


def test_opening_a_port_does_not_reset_but_reboot_does():
    line = SimLine(make_chip("bk7231n"), time_scale=0)
    line.set_lines(rts=True, dtr=True)  # what pyserial does on open: no reset with auto-reset wiring
    assert line.resets == 1 and reply_of(line, c.LinkCheck())
    reply_of(line, c.Reboot())
    assert line.resets == 2 and line.state == "window"


def test_app_reboots_on_console_command():
    clock = ManualClock()
    line = SimLine(make_chip("bk7231n"), time_scale=0, boot_window=0.1, clock=clock)
    clock.t += 1
    line.write(b"reboot\r\n", 115200)
    assert reply_of(line, c.LinkCheck())


def test_unfollowed_baud_change_reads_garbage(t_line):
    reply_of(t_line, c.LinkCheck())
    assert reply_of(t_line, c.SetBaudRate(921600)) is None  # the echo comes at 921600: garbage here
    assert reply_of(t_line, c.LinkCheck()) is None  # and our 115200 bytes are garbage for the chip
    assert reply_of(t_line, c.LinkCheck(), baud=921600)


# ---- faults ----


def test_faults_are_seeded_and_reproducible():
    data = bytes(range(256)) * 64
    a = Faults(seed=7, corrupt=0.01, drop=0.01, insert=0.01).mangle(data)
    b = Faults(seed=7, corrupt=0.01, drop=0.01, insert=0.01).mangle(data)
    assert a == b != data


def test_power_cut_silences_the_chip_until_power_returns():
    line = SimLine(make_chip("bk7231n"), time_scale=0, stay_in_loader=True, faults=Faults(power_cut_after=3))
    line.chip.flash.unprotect()
    line.chip.boot_sr_protected = False
    reply_of(line, c.LinkCheck())
    assert reply_of(line, c.FlashErase(c.ERASE_4K, 0x11000)) is None  # 1 op, ok (no result)
    assert reply_of(line, c.CheckCrc(0x11000, 0x11FFF)) == BLANK_SECTOR_CRC
    reply_of(line, c.FlashWrite4K(0x11000, bytes(4096)))  # pages 2, 3 ok, page 4 cut
    assert line.state == "off"
    assert reply_of(line, c.LinkCheck()) is None
    sector = line.chip.flash.read(0x11000, 4096)
    assert sector[:512] == bytes(512) and sector[768:] == b"\xff" * (4096 - 768)
    line.power_on()
    assert reply_of(line, c.LinkCheck())


def test_no_reply_fault():
    line = SimLine(make_chip("bk7231n"), time_scale=0, stay_in_loader=True, faults=Faults(no_reply=1.0))
    assert reply_of(line, c.LinkCheck()) is None


# ---- timing ----


def test_reply_timing_follows_baud_and_flash_datasheet():
    clock = ManualClock()
    line = SimLine(make_chip("bk7231n"), time_scale=1, stay_in_loader=True, clock=clock)
    line.write(c.LinkCheck().frame(), 115200)
    clock.t += 0.01
    line.read(115200, 100)
    start = clock.t
    line.write(c.FlashRead4K(0x11000).frame(), 115200)
    wire = (12 + 4111) * 10 / 115200
    clock.t = start + wire * 0.95
    assert len(line.read(115200, 10000)) < 4111
    clock.t = start + wire + 0.002
    assert len(line.read(115200, 10000)) > 0
    # a 64K erase keeps the chip busy ~250 ms before it answers
    line.chip.flash.unprotect()
    start = clock.t
    line.write(c.FlashErase(c.ERASE_64K, 0x20000).frame(), 115200)
    assert line.next_arrival() >= start + 0.25
    # and the scaled simulator is proportionally faster
    fast = SimLine(make_chip("bk7231n"), time_scale=0.01, stay_in_loader=True, clock=clock)
    fast.write(c.LinkCheck().frame(), 115200)
    assert fast.next_arrival() - clock.t < 0.0002


def test_crc_conventions_on_sim_match_profiles(t_line, n_line):
    for line, conv in ((t_line, CrcConvention.BLOCKS_256), (n_line, CrcConvention.INCLUSIVE)):
        reply_of(line, c.LinkCheck())
        data = line.chip.flash.read(0x30000, 0x2000)
        assert reply_of(line, c.CheckCrc(0x30000, conv.end_for(0x30000, 0x2000))) == beken_crc(data)


@pytest.mark.parametrize("chip", ["bk7231t", "bk7231n"])
def test_a_crc_over_a_corrupted_range_is_bounded(chip):
    """A CheckCRC whose end address was damaged on the line (0xFFFFFFFF) used to make the
    simulator read up to 4 GiB (minutes, gigabytes, RecursionError): it answers in bounded time."""
    import time as _time

    from freebeken.protocol import commands as c

    line = SimLine(make_chip(chip), time_scale=0, stay_in_loader=True)
    reply_of(line, c.LinkCheck())
    started = _time.monotonic()
    for start, end in ((0, 0xFFFFFFFF), (0x1FF000, 0xFFFFFF00), (0x100, 0x7FFFFFFF)):
        assert reply_of(line, c.CheckCrc(start, end)) is not None
    assert _time.monotonic() - started < 5
