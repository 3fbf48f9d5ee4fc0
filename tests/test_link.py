"""Linking, identification and `freebeken info` against the simulator."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from freebeken.cli.main import main
from freebeken.errors import LinkError, PortError, UsageError
from freebeken.events import ListReporter
from freebeken.link import Session, identify, link, open_port
from freebeken.link.connect import set_baudrate
from freebeken.sim.config import SimConfig
from helpers import linked, sim_flash


@pytest.mark.parametrize(
    "chip,expect",
    [
        ("bk7231t", {"chip": "BK7231T", "loader_version": "BK7231S_1.0.5", "bootloader": "bl_bk7231s_1.0.5"}),
        ("bk7231n", {"chip": "BK7231N", "chip_id": "0x7231C", "flash_chip": "TH25Q16HB", "protected": True}),
    ],
)
def test_identify(chip, expect):
    session, info = linked(f"sim://{chip}?time_scale=0", ListReporter())
    session.port.close()
    data = info.as_dict()
    assert data["flash_size"] == 0x200000 and data["mac"].startswith("C8:47:8C")
    for key, value in expect.items():
        assert data[key] == value


def test_identify_other_flash_and_unknown_bootloader(tmp_path):
    image = tmp_path / "blank.bin"
    image.write_bytes(b"\xff" * 0x200000)
    session, info = linked(f"sim://bk7231n?time_scale=0&flash=EN25QH16B&image={image}", ListReporter())
    session.port.close()
    assert info.flash.name == "EN25QH16B" and info.bootloader is None and info.mac is None


def test_link_survives_a_noisy_line():
    reporter = ListReporter()
    session, info = linked("sim://bk7231n?time_scale=0&corrupt=0.0005&drop=0.00005&seed=3", reporter)
    session.port.close()
    assert info.chip.name == "BK7231N"


def test_link_after_the_app_booted_needs_a_reset():
    port = open_port("sim://bk7231t?time_scale=0&boot_window=0.05")
    time.sleep(0.1)  # the boot window closes; the app starts logging
    session = Session(port)
    link(session, ListReporter(), timeout=5)  # pulses RTS and links
    assert port.line.resets >= 2
    port.close()


def test_no_answer_gives_actionable_error():
    with pytest.raises(LinkError) as err:
        linked("sim://bk7231t?time_scale=0&dead=1", ListReporter(), timeout=1.5)
    assert "TX" in err.value.hint and "CEN" in err.value.hint


def test_bad_ports_and_urls():
    with pytest.raises(PortError):
        open_port("/dev/does-not-exist-freebeken")
    with pytest.raises(UsageError):
        SimConfig.from_url("sim://bk7231x")
    with pytest.raises(UsageError):
        SimConfig.from_url("sim://bk7231t?bogus=1")
    with pytest.raises(UsageError):
        SimConfig.from_url("sim://bk7231t?time_scale=fast")


def test_sim_image_of_wrong_size_is_refused(tmp_path):
    bad = tmp_path / "small.bin"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(UsageError, match="100 bytes"):
        SimConfig.from_url(f"sim://bk7231t?image={bad}").build()


def test_baud_switch_and_failed_switch():
    port = open_port("sim://bk7231n?time_scale=0")
    session = Session(port)
    reporter = ListReporter()
    link(session, reporter)
    assert set_baudrate(session, 921600, reporter)
    assert port.baudrate == 921600 and identify(session).chip.name == "BK7231N"
    port.close()


def test_image_file_backs_the_flash(tmp_path):
    image = tmp_path / "chip.bin"
    port = open_port(f"sim://bk7231n?time_scale=0&image={image}")
    assert image.stat().st_size == 0x200000  # created at open
    port.line.chip.flash.data[0x100000:0x100004] = b"ABCD"
    port.close()
    assert image.read_bytes()[0x100000:0x100004] == b"ABCD"


def test_cli_info_text_and_json():
    runner = CliRunner()
    result = runner.invoke(main, ["info", "-p", "sim://bk7231t?time_scale=0"])
    assert result.exit_code == 0, result.output
    assert "BK7231S_1.0.5" in result.output and "2048 KiB" in result.output
    result = runner.invoke(main, ["--json", "info", "-p", "sim://bk7231n?time_scale=0"])
    assert result.exit_code == 0
    record = json.loads(result.output.strip().splitlines()[-1])
    assert record["event"] == "result" and record["chip"] == "BK7231N" and record["protected"] is True


def test_cli_info_errors_have_exit_codes_and_hints():
    runner = CliRunner()
    result = runner.invoke(main, ["info", "-p", "sim://bk7231t?time_scale=0&dead=1", "-t", "1"])
    assert result.exit_code == LinkError.exit_code
    assert "what to do" in result.output
    result = runner.invoke(main, ["--json", "info", "-p", "/dev/nope-freebeken"])
    assert result.exit_code == PortError.exit_code
    assert json.loads(result.output.strip().splitlines()[-1])["hint"]


def _record_commands(monkeypatch) -> list[tuple[str, int]]:
    """(command name, baud rate it was sent at) for every transaction."""
    sent: list[tuple[str, int]] = []
    original = Session.transact

    def transact(self, cmd, *args, **kwargs):
        sent.append((type(cmd).__name__, self.port.baudrate))
        return original(self, cmd, *args, **kwargs)

    monkeypatch.setattr(Session, "transact", transact)
    return sent


@pytest.mark.parametrize(
    "url,chip,version,asked",
    [
        # T is told apart by its CRC block rule, so nothing it ignores (and must time out) is sent
        ("sim://bk7231t?time_scale=0", "BK7231T", "BK7231S_1.0.5", {"BootVersion"}),
        ("sim://bk7231t?time_scale=0&boot_version=none", "BK7231T", None, {"BootVersion"}),
        ("sim://bk7231n?time_scale=0", "BK7231N", None, {"ReadReg"}),
    ],
)
def test_loader_told_apart_without_waiting_for_silence(monkeypatch, url, chip, version, asked):
    sent = _record_commands(monkeypatch)
    session, info = linked(url, ListReporter())
    session.port.close()
    assert info.chip.name == chip and info.loader_version == version and info.bootloader is not None
    assert {name for name, _ in sent} & {"BootVersion", "ReadReg"} == asked


def test_mac_is_read_at_the_chosen_rate(monkeypatch):
    from freebeken.flasher.operations import open_chip

    sent = _record_commands(monkeypatch)
    with open_chip("sim://bk7231t?time_scale=0", ListReporter(), baudrate=921600) as io:
        assert io.info.mac is not None
    reads = [baud for name, baud in sent if name == "FlashRead4K"]
    assert reads and all(baud == 921600 for baud in reads)


def test_t_flash_size_is_not_fooled_by_blank_or_foreign_answers(tmp_path, monkeypatch):
    """Old probe: one CRC at 0 against one at 1 MiB. A blank first sector (blank at 1 MiB too), or
    one stale reply that happened to match, made a 2 MiB chip a 1 MiB one - and backups half size."""
    import importlib

    ident = importlib.import_module("freebeken.link.identify")  # the module (the package exports a function of that name)
    from freebeken.chips import BK7231T
    from freebeken.sim.image import build_stock_image

    image = build_stock_image(BK7231T)
    image[0:0x1000] = b"\xff" * 0x1000  # blank first sector; 0x100000.. is blank as well on this image
    image[0x100000:0x101000] = b"\xff" * 0x1000
    path = tmp_path / "t.bin"
    path.write_bytes(image)
    session, info = linked(f"sim://bk7231t?time_scale=0&image={path}", ListReporter())
    session.port.close()
    assert info.flash_size == 0x200000
    real = ident.chip_crc
    fooled = {"done": False}

    def one_foreign_reply(session, chip, start, length):
        if start == 0x100000 and not fooled["done"]:  # answers as if it were the CRC at 0
            fooled["done"] = True
            return real(session, chip, 0, length)
        return real(session, chip, start, length)

    monkeypatch.setattr(ident, "chip_crc", one_foreign_reply)
    reporter = ListReporter()
    session, info = linked("sim://bk7231t?time_scale=0", reporter)
    session.port.close()
    assert fooled["done"] and info.flash_size == 0x200000
    assert any("found by where addresses wrap" in e.message for e in reporter.kinds("info"))


def test_majority_of_damaged_copies():
    from freebeken.link.ops import majority

    good = bytes(range(256)) * 16
    copies = []
    for _n, (i, j) in enumerate(((5, 900), (5, 3000), (77, 4000))):  # each copy damaged elsewhere (and two at 5)
        damaged = bytearray(good)
        damaged[i] ^= 0x10
        damaged[j] ^= 0x01
        copies.append(bytes(damaged))
    assert majority(copies) != good  # position 5 is damaged the same way in two of three
    copies.append(good)
    assert majority(copies[1:]) == good


def test_a_backup_over_a_line_that_damages_most_replies(tmp_path, monkeypatch):
    """1e-3 errors per byte: few 4 KiB replies arrive whole; the vote over damaged copies, proven
    by the chip's CRC, still gives the exact flash."""
    from freebeken.flasher import operations as ops

    monkeypatch.setenv("FREEBEKEN_HOME", str(tmp_path / "home"))
    url = f"sim://bk7231n?time_scale=0&image={tmp_path / 'c.bin'}&corrupt=0.001&seed=3"
    with ops.open_chip(url, ListReporter(), baudrate=921600) as io:
        result = ops.backup(io, tmp_path / "b.bin")
        assert result.path.read_bytes() == sim_flash(io)


def test_an_erase_that_lost_an_address_byte_never_reaches_the_t_bootloader():
    """A lost byte shifts the address: 0x00012000 arrives as 0x??000120, and the loader waits for
    one more byte. Completed by our next frame's 0x01, that is 0x01000120, which passes BK7231T's
    raw check and wraps into the bootloader. Completed with zeros, it is refused."""
    from freebeken.flasher.chipio import ChipIO
    from freebeken.protocol import commands as c

    session, info = linked("sim://bk7231t?time_scale=0", ListReporter())
    io = ChipIO(session, info)
    flash = session.port.line.chip.flash
    bootloader = bytes(flash.data[:0x11000])
    frame = c.FlashErase(c.ERASE_4K, 0x12000).frame()
    real_write, dropped = session.port.write, {"done": False}

    def lossy(data):
        if bytes(data) == frame and not dropped["done"]:
            dropped["done"] = True
            position = len(frame) - 4  # the low byte of the address
            data = bytes(data[:position]) + bytes(data[position + 1 :])
        return real_write(data)

    session.port.write = lossy
    io.erase(0x12000, 0x1000)
    session.port.close()
    assert dropped["done"] and bytes(flash.data[:0x11000]) == bootloader
    assert bytes(flash.data[0x12000:0x13000]) == b"\xff" * 0x1000  # and the erase did happen


@pytest.mark.parametrize("chip_id,name", [("0x7236", "BK7236"), ("0x7256", "BK7256"), ("0x1234", "not one freebeken knows")])
def test_other_family_members_are_named_and_refused_before_anything_is_written(tmp_path, chip_id, name):
    from freebeken.errors import UnsupportedError

    image = tmp_path / "chip.bin"
    result = CliRunner().invoke(main, ["backup", "-p", f"sim://bk7231n?time_scale=0&chip_id={chip_id}&image={image}"])
    assert result.exit_code == UnsupportedError.exit_code and name in result.output, result.output
    assert not list(tmp_path.glob("*.bin.json"))  # no backup claimed; and (T path) nothing taken for a BK7231T


def test_the_encryption_key_tells_a_bk7231m_from_an_n():
    from freebeken.link.identify import read_key_word

    def key_of(url):
        session, info = linked(url, ListReporter())
        read_key_word(session, info)
        session.port.close()
        return info

    info = key_of("sim://bk7231n?time_scale=0&efuse=zero")
    assert info.zero_key and info.as_dict()["encryption_key"].startswith("all zero") and info.chip.name == "BK7231M"
    info = key_of("sim://bk7231n?time_scale=0")
    assert info.key_word == 0x510FB093 and info.as_dict()["encryption_key"] == "Tuya's" and info.chip.name == "BK7231N"
    info = key_of("sim://bk7231t?time_scale=0")
    assert info.key_word is None  # T's bootloader has no register access
    result = CliRunner().invoke(main, ["--json", "info", "-p", "sim://bk7231n?time_scale=0&efuse=zero"])
    assert '"encryption_key": "all zero' in result.output  # `info` asks for it


def test_a_sector_is_put_together_from_the_intact_blocks_of_damaged_copies():
    """Each copy lost one byte and gained another (length right, the bytes between shifted) in a
    different place, so no two copies agree on those stretches and a bytewise vote cannot settle
    them; the chip's CRC of each 256-byte block picks each block from a copy that holds it whole."""
    import random

    from freebeken.link.ops import CHUNK, _assemble, majority
    from freebeken.protocol import beken_crc

    rng = random.Random(7)
    sector = rng.randbytes(0x1000)
    blocks = [beken_crc(sector[i : i + CHUNK]) for i in range(0, 0x1000, CHUNK)]

    def shifted(start: int, end: int) -> bytes:  # drop at start, insert before end
        return sector[:start] + sector[start + 1 : end] + b"\x00" + sector[end:]

    copies = [shifted(100, 1500), shifted(1400, 3000), shifted(2900, 4000)]
    assert all(beken_crc(c) != beken_crc(sector) for c in copies)
    assert majority(copies) != sector  # three copies, three different shifted stretches
    assert _assemble(copies, list(blocks)) == sector
    marks = list(blocks)
    assert _assemble(copies[:1], marks) is None and None in marks  # blocks no copy holds: asked again next time


def test_a_noisy_read_uses_the_block_crcs_and_stays_proven(monkeypatch):
    """Over a line that damages most 4 KiB replies (drops and inserts too), one sector read ends
    with the right bytes, and a wrong block CRC reply cannot make it return wrong ones."""
    from freebeken.link.ops import read_sector

    session, info = linked("sim://bk7231n?time_scale=0&corrupt=0.0006&drop=0.0002&insert=0.0002&seed=11", ListReporter())
    flash = session.port.line.chip.flash
    for address in (0x11000, 0x12000):
        assert read_sector(session, info.chip, address, retries=40) == bytes(flash.data[address : address + 0x1000])
    session.port.close()


def test_one_damaged_efuse_reply_does_not_refuse_a_good_chip(tmp_path):
    """Issue 34 §3: eFuse byte 2 read once with a bit flipped gave 0x511FB093 ("other key", exit 6)
    where the chip holds Tuya's 0x510FB093. Every read that can refuse is read until two agree."""
    from helpers import firmware_file

    fw, _ = firmware_file(tmp_path, "bk7231n")
    port = f"sim://bk7231n?time_scale=0&image={tmp_path / 'chip.bin'}&efuse_flip=2"
    info = CliRunner().invoke(main, ["--json", "info", "-p", port])
    assert info.exit_code == 0 and json.loads(info.output.strip().splitlines()[-1])["encryption_key"] == "Tuya's"
    flashed = CliRunner().invoke(main, ["flash", "-p", port, "--no-backup", str(fw)])
    assert flashed.exit_code == 0, flashed.output


@pytest.mark.parametrize("chip,byte,name", [("bk7231n", 0, "BK7231N"), ("bk7231m", 0, "BK7231M"), ("bk7231n", 3, "BK7231N")])
def test_n_and_m_are_told_apart_through_a_damaged_efuse_reply(chip, byte, name):
    session, info = linked(f"sim://{chip}?time_scale=0&efuse_flip={byte}", ListReporter())
    session.port.close()
    assert info.chip.name == name


def test_efuse_replies_that_never_agree_name_the_line(tmp_path):
    from freebeken.errors import RepliesDisagree

    port = "sim://bk7231n?time_scale=0&efuse_noise=1&seed=3"
    result = CliRunner().invoke(main, ["info", "-p", port])
    text = " ".join(result.output.split())
    assert result.exit_code == RepliesDisagree.exit_code == 5
    assert "read differently 5 times" in text and "the serial line damages the chip's replies" in text


def test_agreed_reads_until_two_copies_match():
    from freebeken.errors import RepliesDisagree
    from freebeken.link.identify import agreed

    replies = iter([0x511FB093, 0x510FB093, 0x510FB093])
    assert agreed(lambda: next(replies), "key") == 0x510FB093
    replies = iter([0x7231C])
    assert agreed(lambda: next(replies), "chip ID", first=0x7231C) == 0x7231C  # one more read confirms
    replies = iter([1, 2, 3, 4])
    with pytest.raises(RepliesDisagree, match=r"chip ID read differently 5 times \(0x0, 0x1, 0x2, 0x3, 0x4\)"):
        agreed(lambda: next(replies), "chip ID", first=0)
