"""Byte-exact encodings from the reference, reply parsing in noisy streams, the CRC."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from freebeken.chips import CrcConvention
from freebeken.errors import ChipStatusError, ProtocolError
from freebeken.protocol import BLANK_SECTOR_CRC, ReplyScanner, beken_crc
from freebeken.protocol import commands as c
from freebeken.protocol.frames import CMD_HEADER as CMD_ECHO
from freebeken.protocol.frames import ReplyKey, encode_reply_long, encode_reply_short

H = bytes.fromhex
ZERO_4K = bytes(4096)

# (command, exact host frame) - examples from the reference's §2
FRAMES = [
    (c.LinkCheck(), "01 E0 FC 01 00"),
    (c.SetBaudRate(921600, 20), "01 E0 FC 06 0F 00 10 0E 00 14"),
    (c.ReadReg(0x800000), "01 E0 FC 05 03 00 00 80 00"),
    (c.WriteReg(0x800074, 0x1201), "01 E0 FC 09 01 74 00 80 00 01 12 00 00"),
    (c.CheckCrc(0x11000, 0x11FFF), "01 E0 FC 09 10 00 10 01 00 FF 1F 01 00"),
    (c.Reboot(), "01 E0 FC 02 0E A5"),
    (c.RomReset(), "01 E0 FC 05 70 53 45 41 4E"),
    (c.StayRom(), "01 E0 FC 02 AA 55"),
    (c.BootVersion(), "01 E0 FC 01 11"),
    (c.FlashRead4K(0x11000), "01 E0 FC FF F4 05 00 09 00 10 01 00"),
    (c.FlashErase(c.ERASE_4K, 0x11000), "01 E0 FC FF F4 06 00 0F 20 00 10 01 00"),
    (c.FlashErase4K(0x11000), "01 E0 FC FF F4 05 00 0B 00 10 01 00"),
    (c.FlashEraseAll(), "01 E0 FC FF F4 02 00 0A 04"),
    (c.FlashReadSR(0x05), "01 E0 FC FF F4 02 00 0C 05"),
    (c.FlashWriteSR(b"\x00"), "01 E0 FC FF F4 03 00 0D 01 00"),
    (c.FlashWriteSR(b"\x00\x00"), "01 E0 FC FF F4 04 00 0D 01 00 00"),
    (c.FlashGetMID(), "01 E0 FC FF F4 05 00 0E 9F 00 00 00"),
]


@pytest.mark.parametrize("cmd,hexframe", FRAMES, ids=lambda x: getattr(x, "name", None))
def test_frames_are_byte_exact(cmd, hexframe):
    assert cmd.frame() == H(hexframe)


def test_large_frames():
    w = c.FlashWrite4K(0x11000, ZERO_4K).frame()
    assert w[:12] == H("01 E0 FC FF F4 05 10 07 00 10 01 00") and len(w) == 4108
    small = c.FlashWrite(0x11000, b"\xaa" * 16).frame()
    assert small[:12] == H("01 E0 FC FF F4 15 00 06 00 10 01 00") and small[12:] == b"\xaa" * 16
    with pytest.raises(ValueError):
        c.FlashWrite4K(0, b"\x00" * 10)
    with pytest.raises(ValueError):
        c.FlashWrite(0, b"")


# (command, exact chip reply, decoded result) - reference §2
REPLIES = [
    (c.LinkCheck(), "04 0E 05 01 E0 FC 01 00", True),
    (c.SetBaudRate(921600, 20), "04 0E 09 01 E0 FC 0F 00 10 0E 00 14", None),
    (c.ReadReg(0x800000), "04 0E 0C 01 E0 FC 03 00 00 80 00 1C 23 07 00", 0x7231C),
    (c.CheckCrc(0x11000, 0x11FFF), "04 0E 08 01 E0 FC 10 F5 98 AB 0E", 0x0EAB98F5),
    (c.BootVersion(), "04 0E 11 01 E0 FC 11" + b"BK7231S_1.0.5".hex(), "BK7231S_1.0.5"),
    (c.BootVersion(), "04 0E 05 01 E0 FC 11 07", None),
    (c.StayRom(), "04 0E 05 01 E0 FC AA 55", True),
    (c.FlashWrite4K(0x11000, ZERO_4K), "04 0E FF 01 E0 FC F4 06 00 07 00 00 10 01 00", None),
    (c.FlashErase(c.ERASE_4K, 0x11000), "04 0E FF 01 E0 FC F4 07 00 0F 00 20 00 10 01 00", None),
    (c.FlashErase(c.ERASE_4K, 0x3C000), "04 0e ff 01 e0 fc f4 07 00 0f 00 20 00 c0 03 00", None),
    (c.FlashErase4K(0x11000), "04 0E FF 01 E0 FC F4 06 00 0B 00 00 10 01 00", None),
    (c.FlashReadSR(0x05), "04 0E FF 01 E0 FC F4 04 00 0C 00 05 1C", 0x1C),
    (c.FlashWriteSR(b"\x00"), "04 0E FF 01 E0 FC F4 04 00 0D 00 01 00", b"\x00"),
    (c.FlashWriteSR(b"\x00\x00"), "04 0E FF 01 E0 FC F4 05 00 0D 00 01 00 00", b"\x00\x00"),
    (c.FlashGetMID(), "04 0E FF 01 E0 FC F4 06 00 0E 00 00 EB 60 15", b"\xeb\x60\x15"),
    (c.FlashGetMID(), "04 0E FF 01 E0 FC F4 05 00 0E 00 85 42 15", b"\x85\x42\x15"),
    (c.FlashWrite(0x11000, b"\x01" * 16), "04 0E FF 01 E0 FC F4 07 00 06 00 00 10 01 00 10", None),
]


@pytest.mark.parametrize("cmd,hexreply,expected", REPLIES, ids=lambda x: getattr(x, "name", None))
def test_replies_decode(cmd, hexreply, expected):
    scanner = ReplyScanner()
    scanner.feed(H(hexreply))
    reply = scanner.find(cmd.reply_key)
    assert reply is not None
    assert cmd.decode(reply) == expected
    assert scanner.pending == 0


def test_read4k_reply_and_length():
    data = bytes(range(256)) * 16
    raw = H("04 0E FF 01 E0 FC F4 06 10 09 00 00 10 01 00") + data
    assert len(raw) == 4111
    scanner = ReplyScanner()
    scanner.feed(raw)
    assert c.FlashRead4K(0x11000).decode(scanner.find(c.FlashRead4K(0).reply_key)) == data


def test_status_and_echo_errors():
    # T refuses reads below 0x11000 with status 6 and one dummy byte (ltchiptool issue #34)
    scanner = ReplyScanner()
    scanner.feed(H("04 0E FF 01 E0 FC F4 07 00 09 06 00 00 00 00 00"))
    with pytest.raises(ChipStatusError) as err:
        c.FlashRead4K(0).decode(scanner.find(ReplyKey(0x09, True)))
    assert err.value.status == 6
    scanner.feed(H("04 0E FF 01 E0 FC F4 06 00 0B 00 00 20 01 00"))  # wrong address echoed
    with pytest.raises(ProtocolError):
        c.FlashErase4K(0x11000).decode(scanner.find(ReplyKey(0x0B, True)))
    scanner.feed(H("04 0E 0C 01 E0 FC 03 01 00 80 00 1C 23 07 00"))  # ReadReg address +1
    with pytest.raises(ProtocolError):
        c.ReadReg(0x800000).decode(scanner.find(ReplyKey(0x03)))


def test_reply_after_noise_and_stale_replies():
    stream = (
        b"[01-01 18:12:02 TUYA Info] boot\r\n"
        + H("04 0E 05 01 E0 FC 01 00") * 3  # queued link-check replies
        + H("04 0E 05 01 E0")  # a truncated one
        + H("00 04 04 0E 02")  # junk that looks like a header start
        + H("04 0E 08 01 E0 FC 10 F5 98 AB 0E")
    )
    scanner = ReplyScanner()
    for i in range(0, len(stream), 7):  # arrives in pieces
        scanner.feed(stream[i : i + 7])
        reply = scanner.find(c.CheckCrc(0, 0).reply_key)
        if reply:
            break
    assert reply is not None and c.CheckCrc(0, 0).decode(reply) == 0x0EAB98F5


def test_incomplete_reply_waits_for_more():
    full = encode_reply_long(0x09, 0, b"\x00\x10\x01\x00" + bytes(4096))
    scanner = ReplyScanner()
    scanner.feed(full[:2000])
    assert scanner.find(ReplyKey(0x09, True)) is None
    scanner.feed(full[2000:])
    assert scanner.find(ReplyKey(0x09, True)) is not None


@given(
    garbage=st.binary(max_size=200),
    stale=st.lists(st.sampled_from([0x01, 0x0F, 0x11]), max_size=4),
    payload=st.binary(min_size=4, max_size=64),
    chunk=st.integers(min_value=1, max_value=50),
)
def test_reply_found_in_any_noise(garbage, stale, payload, chunk):
    # Garbage holding a complete echo header could legitimately announce a long bogus frame.
    assume(CMD_ECHO not in garbage)
    target = encode_reply_short(0x10, payload)
    stream = garbage + b"".join(encode_reply_short(code, b"\x00") for code in stale) + target
    scanner = ReplyScanner()
    found = None
    for i in range(0, len(stream), chunk):
        scanner.feed(stream[i : i + chunk])
        found = found or scanner.find(ReplyKey(0x10))
    assert found is not None and found.payload == payload


def test_beken_crc_matches_reference_constants():
    assert BLANK_SECTOR_CRC == 0x0EAB98F5  # what the chip returns for an erased 4K sector
    assert beken_crc(b"\xff" * 4096) ^ 0xFFFFFFFF == 0xF154670A  # bk7231tools CRC32_FF_4K
    assert beken_crc(b"\xff" * 0x200000) == 0x65BEF61A


@given(st.binary(max_size=600), st.binary(max_size=600))
def test_beken_crc_chains_and_is_zlib_without_final_xor(a, b):
    assert beken_crc(a + b) == beken_crc(b, beken_crc(a))
    assert beken_crc(a) == zlib.crc32(a) ^ 0xFFFFFFFF


def test_crc_conventions():
    assert CrcConvention.INCLUSIVE.end_for(0x11000, 0x1000) == 0x11FFF
    assert CrcConvention.BLOCKS_256.end_for(0x11000, 0x1000) == 0x11FFF  # bkWriter's capture
    with pytest.raises(ValueError):
        CrcConvention.BLOCKS_256.end_for(0, 100)
