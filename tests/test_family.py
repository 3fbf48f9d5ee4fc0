"""The Beken family beyond T and N: identification, content rules shared layouts need, and the
chip-specific OpenBeken facts (config sector, names, release assets). The flasher matrix itself
(backup, flash, verify, re-flash, restore, resume, wrong firmware) runs on every chip in
test_flasher.py; the peer tools on every simulator in test_compat.py."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from freebeken.chips import CHIPS, dump
from freebeken.chips.profiles import BK7231T, BK7231U
from freebeken.cli.main import main
from freebeken.errors import SafetyError, UnsupportedError
from freebeken.events import ListReporter
from freebeken.firmware import obkconfig
from freebeken.flasher import operations as ops
from freebeken.flasher.firmware import classify
from freebeken.sim.config import save_image
from freebeken.sim.image import build_stock_image, forge_crc32
from freebeken.tuya.analyze import analyze_bytes
from helpers import linked, release_bytes, sim_chip, sim_flash

#: chip -> (loader, chip ID the ROM answers, bootloader the peers' tables name)
EXPECTED = {
    "bk7231t": ("flash bootloader (BK7231S BIM)", None, "bl_bk7231s_1.0.5"),
    "bk7231u": ("flash bootloader (Beken BIM)", None, "bl_bk7231u_1.0.6"),
    "bk7231n": ("mask ROM", "0x7231C", "bl_bk7231n_1.0.1"),
    "bk7231m": ("mask ROM", "0x7231C", None),
    "bk7238": ("mask ROM", "0x7238", "bl_t1_2.0.0"),
    "bk7252n": ("mask ROM", "0x7252A", None),
}


@pytest.mark.parametrize("chip", list(EXPECTED))
def test_info_identifies_every_chip(chip):
    result = CliRunner().invoke(main, ["--json", "info", "-p", f"sim://{chip}?time_scale=0"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output.strip().splitlines()[-1])
    loader, chip_id, bootloader = EXPECTED[chip]
    assert (info["chip"], info["loader"], info["chip_id"], info["bootloader"]) == (chip.upper(), loader, chip_id, bootloader)
    assert info["mac"]  # the RF/MAC sector is found where this chip keeps it


def _image_with_bootloader(tmp_path, chip, crc: int | None = None, span: int = 256):
    """A stock image of ``chip`` whose bootloader is changed: to one of CRC ``crc``, or unknown."""
    image = build_stock_image(CHIPS[chip])
    head = bytearray(image[:span])
    if crc is None:
        head[0x20] ^= 0xFF
    else:
        forge_crc32(head, 0xF0, crc)
    image[:span] = head
    path = tmp_path / f"{chip}.bin"
    save_image(path, image)
    return path


@pytest.mark.parametrize("chip,said", [("bk7231t", "under Tuya's key"), ("bk7231u", "in clear")])
def test_an_unknown_plain_bootloader_is_told_t_or_u_by_the_code_it_holds(tmp_path, chip, said):
    image = _image_with_bootloader(tmp_path, chip)
    reporter = ListReporter()
    session, info = linked(f"sim://{chip}?time_scale=0&boot_version=none&image={image}", reporter)
    session.port.close()
    assert info.chip.name == chip.upper() and info.bootloader is None
    assert any(said in w.message for w in reporter.kinds("warning"))


@pytest.mark.parametrize("crc,name", [(0x39F9B50C, "BK7252"), (0xF0231EF6, "BK7231Q")])
def test_bootloaders_of_chips_not_flashed_are_named_and_refused(tmp_path, crc, name):
    image = _image_with_bootloader(tmp_path, "bk7231u", crc)
    before = image.read_bytes()
    result = CliRunner().invoke(main, ["backup", "-p", f"sim://bk7231u?time_scale=0&image={image}"])
    assert result.exit_code == UnsupportedError.exit_code and f"a {name} " in result.output, result.output
    assert image.read_bytes() == before


@pytest.mark.parametrize("chip", list(EXPECTED))
def test_analyze_tells_the_chip_from_its_dump(chip):
    image = bytes(build_stock_image(CHIPS[chip]))
    a, guess = analyze_bytes(image, "dump.bin"), dump.which_chips(image)
    assert chip.upper() in guess.chips
    if chip == "bk7252n":  # no bootloader of it is on record: its layout and clear code fit U and BK7238 too
        assert guess.chips == ["BK7231U", "BK7238", "BK7252N"]
        assert any("share this layout" in w for w in a.warnings)
    else:
        assert guess.chips == [chip.upper()] and a.chip == chip.upper(), guess
    stock_rf = (*CHIPS[chip].stock_rf, CHIPS[chip].mac_tlv)[0]  # a Tuya T1 ships it at 0x1E3000
    assert a.mac and a.layout["rf calibration / MAC"] == f"0x{stock_rf:X}"


def test_a_t_backup_is_refused_on_a_bk7238_though_they_share_a_layout(tmp_path):
    with ops.open_chip(f"sim://bk7231t?time_scale=0&image={tmp_path / 't.bin'}", ListReporter()) as io:
        t_backup = ops.backup(io).path
    with ops.open_chip(f"sim://bk7238?time_scale=0&image={tmp_path / '38.bin'}", ListReporter()) as io:
        before = sim_flash(io)
        with pytest.raises(SafetyError, match=r"BK7231T dump \(.*bootloader bl_bk7231s_1.0.5.*this chip is a BK7238"):
            ops.restore_backup(io, t_backup, other_device=True)  # not even with consent: the bootloader says T
        own = ops.backup(io).path
        assert sim_flash(io) == before
    with ops.open_chip(f"sim://bk7231u?time_scale=0&image={tmp_path / 'u.bin'}", ListReporter()) as io:
        with pytest.raises(SafetyError, match="BK7238 dump"):
            ops.restore_backup(io, own, other_device=True)


def test_an_n_dump_with_clear_code_is_no_n_backup():
    """BK7231M and N share chip ID and layout; the key the code is stored under differs."""
    m = bytes(build_stock_image(CHIPS["bk7231m"]))
    n = bytes(build_stock_image(CHIPS["bk7231n"]))
    assert dump.which_chips(n).chips == ["BK7231N"]
    assert dump.which_chips(m).chips == ["BK7231M"]
    mixed = n[:0x11000] + m[0x11000:]  # an N bootloader before clear code: pieced together
    assert "contradicts itself" in dump.which_chips(mixed).conflict


@pytest.mark.parametrize("chip", list(EXPECTED))
def test_openbeken_config_is_written_where_that_chips_firmware_reads_it(tmp_path, chip):
    from helpers import firmware_file

    fw, _ = firmware_file(tmp_path, chip)
    image = tmp_path / "chip.bin"
    result = CliRunner().invoke(
        main,
        [
            "flash",
            "-p",
            f"sim://{chip}?time_scale=0&image={image}",
            str(fw),
            "--configure",
            "--wifi",
            "Home",
            "--wifi-password",
            "secret-pass",
            "--broker",
            "mqtt://192.168.1.5",
        ],
    )
    assert result.exit_code == 0, result.output
    profile = CHIPS[chip]
    data = image.read_bytes()
    cfg = obkconfig.parse(data[profile.obk_config : profile.obk_config + obkconfig.SECTOR], "test")
    assert cfg["wifi_ssid"] == "Home" and cfg["mqtt_host"] == "192.168.1.5"
    assert cfg["long_name"].startswith(f"Open{profile.obk_platform}_") and cfg["mqtt_group"] == profile.obk_group
    other = 0x1D1000 if profile.obk_config == 0x1E1000 else 0x1E1000
    assert data[other : other + 3] != b"CFG"


def test_release_files_are_told_apart_per_chip():
    """The asset names OpenBeken's release workflow produces (ALT and Tuya variants included)."""
    assert {CHIPS[c].firmware_prefix for c in CHIPS} == {
        "OpenBK7231T_UA_",
        "OpenBK7231U_UA_",
        "OpenBK7231N_QIO_",
        "OpenBK7231M_QIO_",
        "OpenBK7238_QIO_",
        "OpenBK7252N_QIO_",
    }
    ua, qio = release_bytes("bk7231u"), release_bytes("bk7238")
    assert classify("OpenBK7231U_UA_1.18.0.bin", ua).offset == BK7231U.app_start == BK7231T.app_start
    assert classify("OpenBK7238_QIO_1.18.0.bin", qio).chip == "BK7238"
    assert classify("OpenBK7231M_ALT_QIO_1.18.0.bin", release_bytes("bk7231m")).chip == "BK7231M"
    assert classify("OpenBK7252N_QIO_1.18.0.bin", release_bytes("bk7252n")).kind == "full"
    with pytest.raises(UnsupportedError, match="BK7252, which freebeken does not flash"):
        classify("OpenBK7252_Tuya_QIO_1.18.0.bin", qio)


def test_firmware_list_picks_each_chips_own_asset(monkeypatch):
    from freebeken.firmware.releases import list_releases
    from helpers import HttpStub

    names = [
        "OpenBK7231T_UA_1.18.0.bin",
        "OpenBK7231U_UA_1.18.0.bin",
        "OpenBK7231U_QIO_1.18.0.bin",
        "OpenBK7231N_QIO_1.18.0.bin",
        "OpenBK7231N_ALT_QIO_1.18.0.bin",
        "OpenBK7231M_QIO_1.18.0.bin",
        "OpenBK7231M_ALT_QIO_1.18.0.bin",
        "OpenBK7238_QIO_1.18.0.bin",
        "OpenBK7238_UA_1.18.0.bin",
        "OpenBK7252N_QIO_1.18.0.bin",
        "OpenBK7252_QIO_1.18.0.bin",
        "OpenBK7238_1.18.0.rbl",
    ]

    def answer(path: str, base: str) -> bytes | None:
        assets = [{"name": n, "size": 1, "browser_download_url": f"{base}/dl/{n}"} for n in names]
        return json.dumps([{"tag_name": "1.18.0", "prerelease": False, "assets": assets}]).encode()

    server = HttpStub(answer)
    try:
        for chip, profile in CHIPS.items():
            found = list_releases(chip, url=f"{server.base}/releases")
            assert [r.asset for r in found] == [f"{profile.firmware_prefix}1.18.0.bin"], chip
    finally:
        server.stop()


def test_tuya_module_names_say_the_chip():
    from freebeken.tuya.mapping import module_chip

    said = {m: module_chip(m) for m in ("WB3S", "CB2S", "CBU", "T1-2S", "T1", "T2-U", "T34", "T4", "T3E", "TYWE3S", "XR3")}
    assert said == {
        "WB3S": "BK7231T",
        "CB2S": "BK7231N",
        "CBU": "BK7231N",
        "T1-2S": "BK7238",
        "T1": "BK7238",
        "T2-U": "BK7231N",
        "T34": "BK7231N",
        "T4": "BK7252N",
        "T3E": "BK7236",
        "TYWE3S": "ESP8266",
        "XR3": "XR809",
    }


def test_another_devices_dump_never_brings_an_unknown_bootloader_to_a_rom_chip(tmp_path):
    """A BK7252N dump fits a BK7238 by layout and key; with --other-device its data is cloned, but
    the BK7238 keeps its own bootloader: the ROM would start whatever sits there."""
    with ops.open_chip(f"sim://bk7252n?time_scale=0&image={tmp_path / 'n.bin'}&seed=3", ListReporter()) as io:
        made = ops.backup(io).path
    with pytest.raises(SafetyError, match="its sidecar says it is a BK7252N backup"):
        with ops.open_chip(f"sim://bk7238?time_scale=0&image={tmp_path / '38.bin'}", ListReporter()) as io:
            ops.restore_backup(io, made)
    foreign = tmp_path / "from-another-tool.bin"  # the same bytes without their label
    foreign.write_bytes(made.read_bytes())
    reporter = ListReporter()
    with ops.open_chip(f"sim://bk7238?time_scale=0&image={tmp_path / '38.bin'}", reporter) as io:
        own_bootloader = bytes(sim_chip(io).flash.data[:0x11000])
        with pytest.raises(SafetyError, match="another device"):
            ops.restore_backup(io, foreign)
        ops.restore_backup(io, foreign, other_device=True)
        flash = sim_flash(io)
    dumped = foreign.read_bytes()
    assert flash[:0x11000] == own_bootloader != dumped[:0x11000] and flash[0x11000:] == dumped[0x11000:]
    assert any("bootloader region" in w.message for w in reporter.kinds("warning"))
