"""Restore (and flash of whole-flash images) judged by the file's content, with real dumps from
../shared/dumps as the simulated chips' flash. A refusal must leave the chip exactly as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from freebeken.chips import BK7231N, BK7231T
from freebeken.cli.main import main as cli
from freebeken.errors import SafetyError
from freebeken.events import ListReporter
from freebeken.flasher import operations as ops
from freebeken.flasher.content import ChipFacts, judge_image
from freebeken.protocol import beken_crc
from helpers import SHARED, firmware_file, sim_flash

DUMPS = SHARED / "dumps"
T_DUMP = DUMPS / "t_wb3l_bulb_sm2135_globe_37783.bin"
N_PLUG = DUMPS / "n_cb2s_plug_mirabella_i003632.bin"  # MAC 38:1F:8D:1E:74:68
N_RELAY = DUMPS / "n_cb3s_4ch_relay_tywb_rf.bin"  # MAC C8:47:8C:01:59:F7
pytestmark = pytest.mark.shared("dumps")


def chip_from(dump: Path, tmp_path: Path, name: str = "chip.bin") -> tuple[str, Path]:
    """A simulated chip whose flash is a writable copy of a real dump."""
    image = tmp_path / name
    shutil.copyfile(dump, image)
    image.chmod(0o600)
    chip = "bk7231t" if dump.name.startswith("t_") else "bk7231n"
    return f"sim://{chip}?time_scale=0&image={image}", image


def flash_of(io) -> bytes:
    return sim_flash(io)


def refused(url: str, file: Path, match: str, **kwargs) -> SafetyError:
    with ops.open_chip(url, ListReporter()) as io:
        before = flash_of(io)
        with pytest.raises(SafetyError, match=match) as caught:
            ops.restore_backup(io, file, **kwargs)
        assert flash_of(io) == before, "a refused restore must not change the chip"
    return caught.value


def test_another_chip_familys_dump_is_refused(tmp_path):
    url, _ = chip_from(T_DUMP, tmp_path)
    error = refused(url, N_PLUG, r"BK7231N dump \(RF calibration TLV at 0x1D0000.*this chip is a BK7231T")
    assert error.exit_code == 8 and "BK7231N it came from" in error.hint
    url, _ = chip_from(N_PLUG, tmp_path, "n.bin")
    refused(url, T_DUMP, r"BK7231T dump .*this chip is a BK7231N")


def test_a_file_that_is_no_flash_dump_is_refused(tmp_path):
    url, _ = chip_from(T_DUMP, tmp_path)
    noise = tmp_path / "random.bin"
    noise.write_bytes(__import__("random").Random(3).randbytes(0x200000))
    refused(url, noise, "not a Beken flash dump")
    partial = tmp_path / "partial.bin"
    partial.write_bytes(T_DUMP.read_bytes()[:0x100000])
    refused(url, partial, "truncated or partial")


def test_another_devices_dump_needs_consent_and_names_its_mac(tmp_path):
    url, image = chip_from(N_PLUG, tmp_path)
    error = refused(url, N_RELAY, "carries the MAC C8:47:8C:01:59:F7; this chip's MAC is 38:1F:8D:1E:74:68")
    assert "--other-device" in error.hint
    with ops.open_chip(url, ListReporter()) as io:
        ops.restore_backup(io, N_RELAY, other_device=True)
        assert flash_of(io) == N_RELAY.read_bytes()


def test_the_chips_own_dump_without_its_sidecar_is_accepted(tmp_path):
    url, _ = chip_from(T_DUMP, tmp_path)
    fw, _ = firmware_file(tmp_path, "bk7231t")
    with ops.open_chip(url, ListReporter()) as io:
        backup = ops.backup(io)
        copy = tmp_path / "downloaded copy.bin"  # renamed, no sidecar
        shutil.copyfile(backup.path, copy)
        ops.flash_firmware(io, fw)
        assert flash_of(io) != T_DUMP.read_bytes()
        ops.restore_backup(io, copy)
        assert flash_of(io) == T_DUMP.read_bytes()


def test_a_rotated_dump_is_put_back_in_flash_order(tmp_path):
    url, _ = chip_from(N_PLUG, tmp_path)
    data = N_PLUG.read_bytes()
    rotated = tmp_path / "old-tool.bin"
    rotated.write_bytes(data[0x11000:] + data[:0x11000])  # as tools that read from 0x11000 saved it
    fw, _ = firmware_file(tmp_path, "bk7231n")
    reporter = ListReporter()
    with ops.open_chip(url, reporter) as io:
        ops.flash_firmware(io, fw, include_bootloader=True)
        ops.restore_backup(io, rotated)
        assert flash_of(io) == data
    assert any("flash order" in e.message for e in reporter.kinds("warning"))


def test_on_t_another_bootloader_means_another_device(tmp_path):
    url, _ = chip_from(T_DUMP, tmp_path)
    edited = bytearray(T_DUMP.read_bytes())
    edited[0x8000:0x8010] = b"\x00" * 16  # inside the bootloader region UART never writes
    other = tmp_path / "other-boot.bin"
    other.write_bytes(edited)
    refused(url, other, "bootloader .* differs from this chip's")


def test_the_sidecar_is_a_witness_not_the_judge(tmp_path):
    url, _ = chip_from(T_DUMP, tmp_path)
    # a BK7231N dump whose (matching) sidecar claims BK7231T: the content still decides
    lying = tmp_path / "lying.bin"
    shutil.copyfile(N_PLUG, lying)
    sha = __import__("hashlib").sha256(N_PLUG.read_bytes()).hexdigest()
    Path(f"{lying}.json").write_text(json.dumps({"chip": "BK7231T", "sha256": sha}))
    refused(url, lying, "BK7231N dump")
    # the chip's own dump with a sidecar naming another device: the witness is heard
    own = tmp_path / "own.bin"
    shutil.copyfile(T_DUMP, own)
    sha = __import__("hashlib").sha256(T_DUMP.read_bytes()).hexdigest()
    Path(f"{own}.json").write_text(json.dumps({"chip": "BK7231T", "sha256": sha, "mac": "C8:47:8C:00:00:01"}))
    refused(url, own, "sidecar names the device C8:47:8C:00:00:01")
    # a sidecar that describes other bytes is ignored, with a warning
    Path(f"{own}.json").write_text(json.dumps({"chip": "BK7231N", "sha256": "0" * 64}))
    reporter = ListReporter()
    with ops.open_chip(url, reporter) as io:
        ops.restore_backup(io, own)
    assert any("describes other content" in e.message for e in reporter.kinds("warning"))


def test_a_chip_without_a_readable_mac_compares_its_rf_sector():
    data = N_RELAY.read_bytes()
    own_tlv = beken_crc(data[0x1D0000:0x1D1000])
    facts = ChipFacts(BK7231N, 0x200000, None, own_tlv, None)
    assert not judge_image(data, facts).other_device
    other = ChipFacts(BK7231N, 0x200000, None, beken_crc(N_PLUG.read_bytes()[0x1D0000:0x1D1000]), None)
    assert "RF calibration sector" in judge_image(data, other).other_device[0]
    t = judge_image(T_DUMP.read_bytes(), ChipFacts(BK7231T, 0x200000, None, None, None))
    assert t.chip == "BK7231T" and any("cannot tell" in w for w in t.warnings)


def test_flash_of_a_whole_flash_image_follows_the_same_rules(tmp_path):
    url, image = chip_from(T_DUMP, tmp_path)
    before = image.read_bytes()
    runner = CliRunner()
    for args, code in (
        (["flash", "-p", url, "--offset", "0", "-y", str(N_PLUG)], 8),
        (["flash", "-p", url, "--offset", "0x1E0000", "-y", str(_tlv_of(tmp_path, N_PLUG, 0x1E0000))], 8),
        (["restore", "-p", url, str(N_PLUG)], 8),
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == code, result.output
    assert image.read_bytes() == before
    # a raw window over the RF/MAC sector with another device's MAC needs consent
    result = runner.invoke(
        cli, ["flash", "-p", url, "--offset", "0x1E0000", "-y", str(_tlv_of(tmp_path, T_DUMP, 0x1E0000, mac=b"\x02" * 6))]
    )
    assert result.exit_code == 8 and "another device's MAC 02:02:02:02:02:02" in result.output
    assert image.read_bytes() == before


def _tlv_of(folder: Path, dump: Path, at: int, mac: bytes | None = None) -> Path:
    """The 4 KiB RF/MAC sector of a dump (at its own chip's address) as a raw file."""
    chip_tlv = 0x1E0000 if dump.name.startswith("t_") else 0x1D0000
    sector = bytearray(dump.read_bytes()[chip_tlv : chip_tlv + 0x1000])
    if mac:
        sector[0x24:0x2A] = mac
    path = folder / f"tlv-{dump.stem}-{at:X}.bin"
    path.write_bytes(sector)
    return path
