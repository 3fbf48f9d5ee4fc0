"""A BK7238 as Tuya ships it (T1 modules): RF calibration and MAC at 0x1E3000, 0x1E0000 erased,
while OpenBeken reads 0x1E0000. Backed up, analysed, flashed (the calibration copied where
OpenBeken reads it, the original kept) and restored byte for byte - and the other way round: a
chip that already has it at 0x1E0000, or has it nowhere, or has something else there."""

from __future__ import annotations

import json

import pytest

from freebeken.chips import CHIPS, dump
from freebeken.errors import SafetyError
from freebeken.events import ListReporter
from freebeken.flasher import operations as ops
from freebeken.sim.image import build_stock_image
from freebeken.tuya.analyze import analyze_bytes
from helpers import firmware_file, sim_chip, sim_flash

OBK_RF, STOCK_RF, SECTOR = 0x1E0000, 0x1E3000, 0x1000
T1 = CHIPS["bk7238"]


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FREEBEKEN_HOME", str(tmp_path / "home"))


def sim(tmp_path, image: bytes | None = None) -> str:
    path = tmp_path / "t1.bin"
    if image is not None:
        path.write_bytes(image)
    return f"sim://bk7238?time_scale=0&image={path}"


def flash_of(io) -> bytes:
    return sim_flash(io)


def messages(reporter: ListReporter) -> list[str]:
    return [str(getattr(e, "message", e)) for e in reporter.events]


def test_the_simulated_t1_is_laid_out_as_tuya_ships_it():
    image = bytes(build_stock_image(T1))
    assert image[OBK_RF : OBK_RF + SECTOR] == b"\xff" * SECTOR and image[STOCK_RF : STOCK_RF + 4] == b"TLV\x00"
    assert dump.rf_sector(image, "BK7238") == STOCK_RF and dump.mac(image, "BK7238")
    # other chips keep theirs where OpenBeken reads it
    n = bytes(build_stock_image(CHIPS["bk7231n"]))
    assert dump.rf_sector(n, "BK7231N") == 0x1D0000 and dump.rf_plan(n, "BK7231N") is None


def test_stock_t1_backup_analyze_flash_restore(tmp_path):
    fw, body = firmware_file(tmp_path, "bk7238")
    reporter = ListReporter()
    with ops.open_chip(sim(tmp_path), reporter) as io:
        assert io.info.rf_sector == STOCK_RF and io.info.mac  # identify says where it found the MAC
        stock = flash_of(io)
        backup = ops.backup(io)
        sidecar = json.loads(backup.path.with_name(backup.path.name + ".json").read_text())
        assert sidecar["rf_sector"] == "0x1E3000" and sidecar["mac"] == io.info.mac.hex(":").upper()

        a = analyze_bytes(backup.path.read_bytes(), "t1.bin")  # what will happen, before anything does
        assert a.chip == "BK7238" and a.mac == sidecar["mac"] and a.layout["rf calibration / MAC"] == "0x1E3000"
        assert any("copies them there" in w and "restore" in w for w in a.warnings)

        ops.flash_firmware(io, fw)
        after = flash_of(io)
        assert after[0x11000 : 0x11000 + len(body)] == body
        assert after[OBK_RF : OBK_RF + SECTOR] == stock[STOCK_RF : STOCK_RF + SECTOR]  # where OpenBeken reads it
        assert after[STOCK_RF : STOCK_RF + SECTOR] == stock[STOCK_RF : STOCK_RF + SECTOR]  # the original kept
        assert sim_chip(io).flash.protected  # protection put back after the copy too
        assert any("copied from 0x1E3000 (from the backup" in m for m in messages(reporter))

        # a re-flash finds it in place and copies nothing
        n = len(reporter.events)
        ops.flash_firmware(io, fw)
        assert not any("copied from" in m for m in messages(reporter)[n:])

        n = len(reporter.events)
        ops.restore_backup(io, backup.path)
        assert flash_of(io) == stock  # the stock layout back, byte for byte (the copy erased again)
        assert any("keeps the RF calibration and MAC at 0x1E3000" in m for m in messages(reporter)[n:])


def test_without_a_backup_the_sector_is_read_from_the_chip(tmp_path):
    fw, _ = firmware_file(tmp_path, "bk7238")
    reporter = ListReporter()
    with ops.open_chip(sim(tmp_path), reporter) as io:
        stock = flash_of(io)
        ops.flash_firmware(io, fw)  # the API without a front end's ensure_backup
        assert flash_of(io)[OBK_RF : OBK_RF + SECTOR] == stock[STOCK_RF : STOCK_RF + SECTOR]
    assert any("copied from 0x1E3000 (read from the chip)" in m for m in messages(reporter))


def test_a_t1_already_laid_out_for_openbeken_is_left_alone(tmp_path):
    image = bytearray(build_stock_image(T1))
    image[OBK_RF : OBK_RF + SECTOR] = image[STOCK_RF : STOCK_RF + SECTOR]
    image[STOCK_RF : STOCK_RF + SECTOR] = b"\xff" * SECTOR
    assert dump.rf_plan(bytes(image), "BK7238") is None
    fw, _ = firmware_file(tmp_path, "bk7238")
    reporter = ListReporter()
    with ops.open_chip(sim(tmp_path, bytes(image)), reporter) as io:
        assert io.info.rf_sector == OBK_RF
        ops.flash_firmware(io, fw)
        after = flash_of(io)
    assert after[OBK_RF : OBK_RF + SECTOR] == image[OBK_RF : OBK_RF + SECTOR]
    assert after[STOCK_RF : STOCK_RF + SECTOR] == b"\xff" * SECTOR
    assert not any("copied from" in m or "OpenBeken reads them at" in m for m in messages(reporter))


def test_something_else_at_openbekens_place_is_never_overwritten(tmp_path):
    image = bytearray(build_stock_image(T1))
    image[OBK_RF : OBK_RF + SECTOR] = b"\x12" * SECTOR
    assert "holds something else" in dump.rf_plan(bytes(image), "BK7238")
    fw, _ = firmware_file(tmp_path, "bk7238")
    reporter = ListReporter()
    with ops.open_chip(sim(tmp_path, bytes(image)), reporter) as io:
        ops.flash_firmware(io, fw)
        assert flash_of(io)[OBK_RF : OBK_RF + SECTOR] == b"\x12" * SECTOR
    assert any("holds something else" in m for m in messages(reporter))


def test_no_calibration_anywhere_is_said_not_invented(tmp_path):
    image = bytearray(build_stock_image(T1))
    image[STOCK_RF : STOCK_RF + SECTOR] = b"\xff" * SECTOR
    assert "uncalibrated" in dump.rf_plan(bytes(image), "BK7238")
    fw, _ = firmware_file(tmp_path, "bk7238")
    reporter = ListReporter()
    with ops.open_chip(sim(tmp_path, bytes(image)), reporter) as io:
        ops.flash_firmware(io, fw)
        assert flash_of(io)[OBK_RF : OBK_RF + SECTOR] == b"\xff" * SECTOR
    assert any("uncalibrated" in m for m in messages(reporter))


def test_a_t1_dump_is_recognised_by_its_stock_rf_place_alone():
    """Without a known bootloader (many T1 bootloaders are on no list), the RF sector at 0x1E3000
    still says BK7238: its restore is not refused as 'not a Beken dump'."""
    image = bytearray(build_stock_image(T1))
    image[0:0x100] = bytes(range(256))  # an unknown bootloader
    guess = dump.which_chips(bytes(image))
    assert guess is not None and guess.chips == ["BK7238"]
    assert any("0x1E3000" in e for e in guess.evidence)


def test_another_t1s_stock_dump_is_still_told_by_its_mac(tmp_path):
    other = bytes(build_stock_image(T1, seed=7))
    (tmp_path / "other.bin").write_bytes(other)
    with ops.open_chip(sim(tmp_path), ListReporter()) as io:
        with pytest.raises(SafetyError, match="another device"):
            ops.restore_backup(io, tmp_path / "other.bin")


def test_an_interrupted_copy_is_made_again_and_a_calibration_of_its_own_is_kept(tmp_path):
    """A power cut during the copy leaves 0x1E0000 half-programmed: the next flash (or resume)
    finds it and copies again. A different calibration already there is never overwritten."""
    fw, _ = firmware_file(tmp_path, "bk7238")
    image = bytearray(build_stock_image(T1))
    stock = bytes(image[STOCK_RF : STOCK_RF + SECTOR])
    image[OBK_RF : OBK_RF + 0x123] = stock[:0x123]  # programmed up to where the power went
    with ops.open_chip(sim(tmp_path, bytes(image)), ListReporter()) as io:
        ops.flash_firmware(io, fw)
        assert flash_of(io)[OBK_RF : OBK_RF + SECTOR] == stock
    own = bytearray(stock)
    own[0x40:0x44] = b"\x01\x02\x03\x04"  # a calibration that differs (another tool recreated one)
    image[OBK_RF : OBK_RF + SECTOR] = own
    (tmp_path / "own").mkdir()
    with ops.open_chip(sim(tmp_path / "own", bytes(image)), ListReporter()) as io:
        ops.flash_firmware(io, fw)
        assert flash_of(io)[OBK_RF : OBK_RF + SECTOR] == own
