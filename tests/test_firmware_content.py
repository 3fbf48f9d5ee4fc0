"""Firmware judged by its bytes (issue 30, item 1): what is no OpenBeken UART image for the chip is
refused before anything is written, whatever the file is called; the name is a witness only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from freebeken.chips import CHIPS
from freebeken.cli.main import main
from freebeken.errors import SafetyError, UsageError
from freebeken.events import ListReporter
from freebeken.flasher import operations as ops
from freebeken.flasher.firmware import classify, read_release
from freebeken.sim.config import SimConfig
from freebeken.sim.release import standin_release
from freebeken.web.server import WebServer
from helpers import SHARED, firmware_file, release_bytes, sim_flash
from test_web_api import call, job_result

ROOT = Path(__file__).resolve().parent.parent
T_NAME = "OpenBK7231T_UA_1.0.0.bin"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FREEBEKEN_HOME", str(tmp_path / "home"))


def refused_by_the_cli(tmp_path: Path, name: str, data: bytes, chip: str = "bk7231t", *extra: str) -> str:
    """Flash ``data`` saved as ``name`` onto a simulated chip: refused (exit 8), the chip untouched."""
    image = tmp_path / "chip.bin"
    port = f"sim://{chip}?time_scale=0&image={image}"
    SimConfig.from_url(port).load_image()  # the chip's flash exists before the attempt
    before = image.read_bytes()
    firmware = tmp_path / name
    firmware.write_bytes(data)
    result = CliRunner().invoke(main, ["flash", "-y", "-p", port, *extra, str(firmware)])
    assert result.exit_code == SafetyError.exit_code, result.output
    assert image.read_bytes() == before, "nothing may be written"
    assert "all verified" not in result.output
    return result.output


def test_a_text_file_or_a_saved_error_page_under_a_release_name_is_refused(tmp_path):
    said = refused_by_the_cli(tmp_path, T_NAME, (ROOT / "README.md").read_bytes())
    assert "not OpenBeken firmware" in said and "text file" in said
    said = refused_by_the_cli(tmp_path, T_NAME, b"<html>404 Not Found</html>")
    assert "web page (26 bytes" in said and "download link" in said


def test_a_download_cut_short_or_damaged_is_refused(tmp_path):
    good = release_bytes("bk7231t")
    said = refused_by_the_cli(tmp_path, T_NAME, good[:100_001])
    assert "stopped early" in said
    damaged = bytearray(good)
    damaged[5000] ^= 0x20  # one bit, deep in the code
    said = refused_by_the_cli(tmp_path, T_NAME, bytes(damaged))
    assert "1 of its" in said and "the file is damaged" in said
    n_damaged = bytearray(release_bytes("bk7231n"))
    n_damaged[0x11000 + 34 * 100 + 3] ^= 1
    assert "fails its CRC-16" in refused_by_the_cli(tmp_path, "OpenBK7231N_QIO_1.0.0.bin", bytes(n_damaged), "bk7231n")


def test_other_files_are_named_for_what_they_are(tmp_path):
    ug = b"\x55\xaa\x55\xaa" + bytes(24) + b"\xaa\x55\xaa\x55" + bytes(1000)
    assert "Tuya OTA package" in refused_by_the_cli(tmp_path, T_NAME, ug)
    backup = bytes(SimConfig.from_url("sim://bk7231t").load_image())
    assert "freebeken restore" in refused_by_the_cli(tmp_path, T_NAME, backup)
    assert "the file is empty" in refused_by_the_cli(tmp_path, T_NAME, b"")


def test_a_release_padded_over_the_rf_sector_is_refused(tmp_path):
    padded = release_bytes("bk7231n").ljust(0x200000, b"\xff")
    assert "RF calibration and MAC sector" in refused_by_the_cli(tmp_path, "OpenBK7231N_QIO_1.0.0.bin", padded, "bk7231n")


def test_real_looking_releases_pass_and_their_code_names_the_build(tmp_path):
    """The tests' stand-ins and the simulator's (which, like real builds, name themselves in their
    code) pass for every chip; code naming another build is refused whatever the file is called,
    and a file with no release name is taken for the build its code names."""
    for chip, profile in CHIPS.items():
        data = release_bytes(chip)
        image = classify(f"{profile.firmware_prefix}1.0.0.bin", data)
        assert (image.chip, image.kind) == (profile.name, "app" if profile.is_bim else "full")
        standin = standin_release(profile, tmp_path / chip)
        assert read_release(standin.read_bytes()).builds == {profile.obk_platform}
        classify(standin.name, standin.read_bytes())
    t_build = standin_release(CHIPS["bk7231t"], tmp_path / "t").read_bytes()  # T and N share Tuya's key
    with pytest.raises(SafetyError, match="built for BK7231T: its code names itself OpenBK7231T"):
        classify("OpenBK7231N_QIO_1.18.0.bin", t_build)
    unnamed = classify("download(1).bin", t_build)
    assert (unnamed.chip, unnamed.kind, unnamed.offset) == ("BK7231T", "app", 0x11000)
    with pytest.raises(UsageError, match="does not name the chip"):
        classify("download(1).bin", release_bytes("bk7231t"))  # a stand-in without the build's name


def test_the_content_decides_where_the_application_goes(tmp_path):
    """A QIO file saved under a UA name is still a QIO file: its application lands at 0x11000."""
    qio = release_bytes("bk7231n")
    renamed = classify("OpenBK7231N_UA_1.0.0.bin", qio)
    assert renamed.kind == "full" and renamed.offset == 0
    fw, body = firmware_file(tmp_path, "bk7231t")
    qio_named_ua = tmp_path / "OpenBK7231T_UA_2.0.0.bin"
    qio_named_ua.write_bytes(b"\x5a" * 0x11000 + body)
    with ops.open_chip(f"sim://bk7231t?time_scale=0&image={tmp_path / 'c.bin'}", ListReporter()) as io:
        ops.flash_firmware(io, qio_named_ua)
        assert sim_flash(io)[0x11000 : 0x11000 + len(body)] == body


def test_the_bootloader_part_is_checked_before_it_is_written(tmp_path):
    body = release_bytes("bk7231n")[0x11000:]
    erased = b"\xff" * 0x11000 + body
    said = refused_by_the_cli(tmp_path, "OpenBK7231N_QIO_1.0.0.bin", erased, "bk7231n", "--include-bootloader")
    assert "bootloader part is empty" in said
    t_chip = bytes(SimConfig.from_url("sim://bk7231t").load_image())  # a BK7231S bootloader, known by its CRC
    said = refused_by_the_cli(tmp_path, "OpenBK7231N_QIO_1.0.0.bin", t_chip[:0x11000] + body, "bk7231n", "--include-bootloader")
    assert "a BK7231T's" in said


def test_the_pages_own_file_goes_through_the_same_check(tmp_path):
    image = tmp_path / "chip.bin"
    port = f"sim://bk7231t?time_scale=0&image={image}"
    SimConfig.from_url(port).load_image()
    before = image.read_bytes()
    with WebServer(workdir=tmp_path / "web") as web:
        _, _, body = call(web, f"/api/upload?name={T_NAME}", raw=b"<html>404 Not Found</html>")
        _, _, body = call(web, "/api/flash", {"port": port, "firmware": json.loads(body)["path"]})
        record = job_result(web, json.loads(body)["job"])
    assert record["kind"] == "error" and "web page" in json.dumps(record), record
    assert image.read_bytes() == before


@pytest.mark.shared("dumps")
def test_real_beken_stored_applications_pass_and_one_flipped_bit_does_not(tmp_path):
    """Calibrated on reality: the application of each real dump, cut out as the packager's files
    hold it (UA: from 0x11000 to its end; QIO: with the bootloader before it), passes the content
    check; its code names no OpenBeken build (stock Tuya firmware), so the name decides the chip."""
    for dump in sorted((SHARED / "dumps").glob("*.bin")):
        data = dump.read_bytes()
        end = 0x11000
        while data[end : end + 34] not in (b"", b"\xff" * 34):
            end += 34
        chip = "BK7231T" if dump.name.startswith("t_") else "BK7231N"
        ua = classify(f"Open{chip}_UA_9.9.9.bin", data[0x11000:end])
        qio = classify(f"Open{chip}_QIO_9.9.9.bin", data[:end])
        assert (ua.kind, ua.offset, qio.kind, qio.offset) == ("app", 0x11000, "full", 0), dump.name
        assert read_release(data[0x11000:end]).key == "tuya"
        flipped = bytearray(data[0x11000:end])
        flipped[len(flipped) // 2] ^= 4
        with pytest.raises(SafetyError, match="1 of its .* fails its CRC-16"):
            classify(f"Open{chip}_UA_9.9.9.bin", bytes(flipped))
