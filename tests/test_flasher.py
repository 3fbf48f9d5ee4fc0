"""Backup, flash, verify, restore, resume - on the simulator at a fast time scale."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from freebeken.chips import CHIPS
from freebeken.errors import FreebekenError, Interrupted, LinkError, SafetyError, UsageError
from freebeken.events import ListReporter
from freebeken.flasher import operations as ops
from freebeken.flasher.backup import identity
from freebeken.flasher.chipio import ChipIO
from freebeken.flasher.firmware import classify
from freebeken.flasher.journal import pending_write_journals
from freebeken.link.connect import set_baudrate
from freebeken.link.identify import read_key_word
from freebeken.sim.config import SimConfig
from helpers import firmware_file, sim_chip, sim_flash

BOOT = 0x11000
#: Every chip freebeken flashes runs the same matrix; ROM and BIM name the two loader kinds.
ALL = list(CHIPS)
ROM = [c for c in ALL if not CHIPS[c].is_bim]
BIM = [c for c in ALL if CHIPS[c].is_bim]


def url(chip: str, image, **extra) -> str:
    args = "&".join(f"{k}={v}" for k, v in {"time_scale": 0, "image": image, **extra}.items())
    return f"sim://{chip}?{args}"


def chip_bytes(io: ChipIO) -> bytes:
    return sim_flash(io)


@pytest.mark.parametrize("chip", ALL)
def test_backup_is_byte_exact_and_skips_blank_sectors(tmp_path, chip):
    reporter = ListReporter()
    with ops.open_chip(url(chip, tmp_path / "chip.bin"), reporter) as io:
        result = ops.backup(io)
        assert result.path.read_bytes() == chip_bytes(io)
    assert result.blank_sectors > 150 and result.read_sectors + result.blank_sectors == 512
    assert chip.upper() in result.path.name and "C8478C" in result.path.name
    sidecar = json.loads(result.path.with_name(result.path.name + ".json").read_text())
    assert sidecar["sha256"] == result.sha256 and sidecar["chip"] == chip.upper() and sidecar["mac"]
    assert not list(result.path.parent.glob("*.part")) and not list(result.path.parent.glob("*journal*"))


def test_backup_never_overwrites(tmp_path):
    target = tmp_path / "mine.bin"
    target.write_bytes(b"precious")
    with ops.open_chip(url("bk7231n", tmp_path / "chip.bin"), ListReporter()) as io:
        with pytest.raises(UsageError, match="never overwrites"):
            ops.backup(io, target)
    assert target.read_bytes() == b"precious"


def test_corrupted_line_is_retried_and_never_reaches_the_file(tmp_path):
    reporter = ListReporter()
    noisy = url("bk7231n", tmp_path / "chip.bin", corrupt=0.00003, drop=0.00001, insert=0.00001, seed=5)
    with ops.open_chip(noisy, reporter, baudrate=921600) as io:
        result = ops.backup(io)
        assert result.path.read_bytes() == chip_bytes(io)
    assert result.retries > 0 and reporter.kinds("retry")


@pytest.mark.parametrize("chip", ALL)
def test_flash_verify_and_reflash_identical(tmp_path, chip):
    fw, body = firmware_file(tmp_path, chip)
    with ops.open_chip(url(chip, tmp_path / "chip.bin"), ListReporter()) as io:
        bootloader = chip_bytes(io)[:BOOT]
        plug = sim_chip(io)
        read_key_word(io.session, io.info)  # identification (16 commands, once per run), not the write
        before = plug.commands
        first = ops.flash_firmware(io, fw)
        # a new image: once a whole block shared nothing with it, the rest is not compared sector by
        # sector, and each block's written sectors are proven by one CRC when they are right
        # (98 sectors: 355 commands before, 197 now: mostly the writes themselves)
        # (+40 once on a stock T1: its RF calibration copied where OpenBeken reads it, under the
        # stray-write guard's 31 block CRCs)
        assert plug.commands - before <= 2 * (first.written + first.skipped) + 10 + 40 * bool(CHIPS[chip].stock_rf)
        flash = chip_bytes(io)
        assert flash[BOOT : BOOT + len(body)] == body
        assert flash[:BOOT] == bootloader  # QIO's bootloader part skipped on N too, by default
        assert first.written > 0 and first.verified >= first.written
        assert ops.verify_file(io, fw).ok
        before = plug.commands
        again = ops.flash_firmware(io, fw)
        assert again.written == 0 and again.erased == 0 and again.skipped == first.written + first.skipped
        # one CRC per 64 KiB block once a block matched, not one per sector: each command is an
        # adapter round trip (up to 17 ms), so an identical re-flash must not cost hundreds
        sectors = first.written + first.skipped
        assert plug.commands - before <= sectors // 16 + 20, (plug.commands - before, sectors)
        if chip in ROM:
            assert sim_chip(io).flash.protected  # SR protection put back


@pytest.mark.parametrize("chip", ROM)
def test_rom_chip_bootloader_only_with_include_bootloader(tmp_path, chip):
    fw, body = firmware_file(tmp_path, chip)
    with ops.open_chip(url(chip, tmp_path / "chip.bin"), ListReporter()) as io:
        ops.flash_firmware(io, fw, include_bootloader=True)
        assert chip_bytes(io)[: BOOT + len(body)] == fw.read_bytes()


@pytest.mark.parametrize("chip", ALL)
def test_restore_puts_the_backup_back(tmp_path, chip):
    fw, _ = firmware_file(tmp_path, chip)
    with ops.open_chip(url(chip, tmp_path / "chip.bin"), ListReporter()) as io:
        backup = ops.backup(io)
        ops.flash_firmware(io, fw, include_bootloader=chip in ROM)
        assert chip_bytes(io) != backup.path.read_bytes()
        ops.restore_backup(io, backup.path)
        assert chip_bytes(io) == backup.path.read_bytes()


@pytest.mark.parametrize("chip", BIM)
def test_t_bootloader_is_never_modified(tmp_path, chip):
    """Whatever the user passes - raw offsets, restore of a different bootloader, wrap-around
    addresses - the first 0x11000 bytes of a BK7231T (or U) stay as they are."""
    fw, _ = firmware_file(tmp_path, chip)
    reporter = ListReporter()
    with ops.open_chip(url(chip, tmp_path / "chip.bin"), reporter) as io:
        original = chip_bytes(io)[:BOOT]
        backup = ops.backup(io)
        tampered = bytearray(backup.path.read_bytes())
        tampered[:BOOT] = b"\x00" * BOOT
        tampered[BOOT : BOOT + 4096] = b"\x11" * 4096
        evil = tmp_path / "evil.bin"
        evil.write_bytes(tampered)
        with pytest.raises(SafetyError, match="bootloader"):
            ops.restore_backup(io, evil)  # a bootloader UART never changes: another device's dump
        ops.restore_backup(io, evil, other_device=True)
        assert any("bootloader region" in e.message for e in reporter.kinds("warning"))
        assert chip_bytes(io)[BOOT : BOOT + 4096] == b"\x11" * 4096
        with pytest.raises(SafetyError):
            ops.flash_firmware(io, fw, offset=0)
        with pytest.raises(SafetyError):
            ops.flash_firmware(io, fw, include_bootloader=True)
        for address in (0x0, 0x10000, 0x200000, 0x210000, 0x1FF000 + 0x2000):
            with pytest.raises(SafetyError):
                io.erase(address, 0x1000)
            with pytest.raises(SafetyError):
                io.write(address, b"\x00" * 4096)
        assert chip_bytes(io)[:BOOT] == original


@pytest.mark.parametrize("chip", ALL)
def test_wrong_files_are_refused_before_anything_is_written(tmp_path, chip):
    """Every other chip's release is refused - by its name, and when renamed, by its content (the
    key its code is stored under) where the two chips' keys differ."""
    with ops.open_chip(url(chip, tmp_path / "chip.bin"), ListReporter()) as io:
        before = chip_bytes(io)
        for other in ALL:
            if other == chip:
                continue
            fw, _ = firmware_file(tmp_path, other)
            with pytest.raises(SafetyError, match=f"built for {other.upper()}"):
                ops.flash_firmware(io, fw)
            own_name = tmp_path / f"{CHIPS[chip].firmware_prefix}9.9.9.bin"
            data = fw.read_bytes()
            own_name.write_bytes(
                data[BOOT:]
                if CHIPS[chip].is_bim and not CHIPS[other].is_bim
                else b"\x5a" * BOOT + data
                if CHIPS[other].is_bim and not CHIPS[chip].is_bim
                else data
            )
            keys = CHIPS[chip].code_key, CHIPS[other].code_key
            if None not in keys and keys[0] != keys[1]:
                with pytest.raises(SafetyError, match="stored"):
                    ops.flash_firmware(io, own_name)
        assert chip_bytes(io) == before
    with pytest.raises(UsageError, match="OTA"):
        classify("OpenBK7231T_UG_1.17.0.bin", b"x")
    with pytest.raises(UsageError, match="does not look like"):
        classify("tasmota.bin", b"x")


def _flash_until_power_cut(tmp_path, chip, fw, cut):
    with pytest.raises(FreebekenError):
        with ops.open_chip(url(chip, tmp_path / "chip.bin", power_cut_after=cut), ListReporter()) as io:
            ops.flash_firmware(io, fw)


@pytest.mark.parametrize("chip", ALL)
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=420))
def test_resume_after_power_cut_at_any_point(tmp_path_factory, chip, cut):
    folder = tmp_path_factory.mktemp("cut")
    fw, body = firmware_file(folder, chip, size=200_000, seed=cut)
    image = folder / "chip.bin"
    with ops.open_chip(url(chip, image), ListReporter()) as io:
        untouched_bootloader = chip_bytes(io)[:BOOT]
    try:
        with ops.open_chip(url(chip, image, power_cut_after=cut), ListReporter()) as io:
            ops.flash_firmware(io, fw)
    except LinkError:
        pass  # the power went away mid-flash
    reporter = ListReporter()
    with ops.open_chip(url(chip, image), reporter) as io:  # power back, run it again
        result = ops.resume(io) or ops.flash_firmware(io, fw)
        flash = chip_bytes(io)
        assert not pending_write_journals(identity(io.info))
    assert flash[BOOT : BOOT + len(body)] == body
    assert flash[:BOOT] == untouched_bootloader
    assert result.verified >= 0


def test_resume_command_continues_after_interrupt(tmp_path, monkeypatch):
    fw, body = firmware_file(tmp_path, "bk7231n")
    image = tmp_path / "chip.bin"
    calls = {"n": 0}
    original = ChipIO.write

    def ctrl_c_after_20(self, address, data):
        calls["n"] += 1
        if calls["n"] == 20:
            raise KeyboardInterrupt
        return original(self, address, data)

    monkeypatch.setattr(ChipIO, "write", ctrl_c_after_20)
    with pytest.raises(Interrupted):
        with ops.open_chip(url("bk7231n", image), ListReporter()) as io:
            ident = identity(io.info)
            ops.flash_firmware(io, fw)
    monkeypatch.setattr(ChipIO, "write", original)
    journals = pending_write_journals(ident)
    assert len(journals) == 1 and json.loads(journals[0].path.read_text())["done"]  # valid, partial
    with ops.open_chip(url("bk7231n", image), ListReporter()) as io:
        result = ops.resume(io)
        assert result is not None and result.resumed and 0 < result.written < len(body) // 4096
        assert chip_bytes(io)[BOOT : BOOT + len(body)] == body
        assert ops.resume(io) is None


def test_a_completed_flash_retires_older_interrupted_ones(tmp_path, monkeypatch):
    fw_a, _ = firmware_file(tmp_path, "bk7231n", seed=1)
    fw_b, body_b = firmware_file(tmp_path, "bk7231n", seed=2)
    image = tmp_path / "chip.bin"
    with pytest.raises(LinkError):
        with ops.open_chip(url("bk7231n", image, power_cut_after=40), ListReporter()) as io:
            ops.flash_firmware(io, fw_a)
    with ops.open_chip(url("bk7231n", image), ListReporter()) as io:
        assert len(pending_write_journals(identity(io.info))) == 1
        ops.flash_firmware(io, fw_b)  # the user changed their mind and flashed B
        assert pending_write_journals(identity(io.info)) == []
        assert ops.resume(io) is None
        assert chip_bytes(io)[BOOT : BOOT + len(body_b)] == body_b


def test_baud_auto_picks_fastest_clean_rate(tmp_path):
    reporter = ListReporter()
    with ops.open_chip(url("bk7231n", tmp_path / "c.bin", corrupt=0.01, noisy_above=921600), reporter) as io:
        assert io.session.baudrate == 921600
        assert ops.backup(io).path.read_bytes() == chip_bytes(io)


def test_baud_falls_back_mid_run_without_starting_over(tmp_path):
    reporter = ListReporter()
    with ops.open_chip(
        url("bk7231n", tmp_path / "c.bin", corrupt=0.0004, seed=2, noisy_above=921600), reporter, baudrate=115200
    ) as io:
        assert set_baudrate(io.session, 2000000, reporter)
        result = ops.backup(io)
        assert result.path.read_bytes() == chip_bytes(io)
        assert io.session.baudrate <= 921600
    assert any("continuing at" in e.message for e in reporter.kinds("warning"))


def test_requested_baud_that_fails_falls_back_to_115200(tmp_path):
    reporter = ListReporter()
    with ops.open_chip(url("bk7231t", tmp_path / "c.bin", corrupt=0.05, noisy_above=460800), reporter, baudrate=2000000) as io:
        assert io.session.baudrate == 115200
    assert reporter.kinds("warning")


def test_restore_of_another_devices_backup_needs_consent(tmp_path):
    with ops.open_chip(url("bk7231n", tmp_path / "a.bin", seed=1), ListReporter()) as io:
        other = ops.backup(io)
    with ops.open_chip(url("bk7231n", tmp_path / "b.bin", seed=2), ListReporter()) as io:
        with pytest.raises(SafetyError, match="another device"):
            ops.restore_backup(io, other.path)
        ops.restore_backup(io, other.path, other_device=True)
        assert chip_bytes(io) == other.path.read_bytes()


def test_sim_config_seed_changes_mac():
    a = SimConfig.from_url("sim://bk7231n?seed=1").load_image()
    b = SimConfig.from_url("sim://bk7231n?seed=2").load_image()
    assert a[0x1D0024:0x1D002A] != b[0x1D0024:0x1D002A]


@pytest.mark.parametrize("noise", ["", "&corrupt=0.00003&drop=0.00001&seed=5"])
def test_behind_a_slow_adapter_blank_stretches_are_asked_a_block_at_a_time(tmp_path, monkeypatch, noise):
    from freebeken.flasher import backup as backup_module

    counts = {}
    for by_block in (False, True):
        monkeypatch.setattr(backup_module, "BLOCK_CRC_ABOVE", -1.0 if by_block else 1e9)
        image = tmp_path / f"chip-{by_block}.bin"
        with ops.open_chip(url("bk7231n", image) + noise, ListReporter(), baudrate=921600) as io:
            plug = sim_chip(io)
            before = plug.commands
            result = ops.backup(io, tmp_path / f"b-{by_block}.bin")
            counts[by_block] = plug.commands - before
            assert result.path.read_bytes() == chip_bytes(io)  # byte-exact either way
    assert counts[True] < counts[False] - 100, counts  # ~10 blank blocks: 15 commands each saved


def test_a_bk7231m_is_told_from_an_n_by_its_key_and_gets_m_firmware_only(tmp_path):
    """Same chip ID, same layout: the all-zero eFuse key says BK7231M, and N firmware (stored under
    Tuya's key) is refused on it - by name, and by content when renamed - while M firmware flashes."""
    n_fw, _ = firmware_file(tmp_path, "bk7231n")
    m_fw, m_body = firmware_file(tmp_path, "bk7231m", seed=2)
    with ops.open_chip(url("bk7231m", tmp_path / "chip.bin"), ListReporter()) as io:
        assert io.chip.name == "BK7231M" and io.info.zero_key and io.info.chip_id == 0x7231C
        before = chip_bytes(io)
        backup = ops.backup(io)
        assert "BK7231M" in backup.path.name
        with pytest.raises(SafetyError, match="built for BK7231N"):
            ops.flash_firmware(io, n_fw)
        disguised = tmp_path / "OpenBK7231M_QIO_1.17.9.bin"
        disguised.write_bytes(n_fw.read_bytes())
        with pytest.raises(SafetyError, match="Tuya's key"):
            ops.flash_firmware(io, disguised)
        assert chip_bytes(io) == before  # refused before anything was written
        ops.flash_firmware(io, m_fw)
        assert chip_bytes(io)[BOOT : BOOT + len(m_body)] == m_body
        restored = ops.restore_backup(io, backup.path)  # the backup is judged and accepted as this chip's
        assert chip_bytes(io) == backup.path.read_bytes() and restored.written > 0


#: Flash parts beyond the first eight, one of each way a table entry sets protection: CMP alone
#: (two registers, the whole array), a one-register entry whose CMP sits in SR2 written with 0x31,
#: Macronix's configuration register (read 0x15) with TB, a plain two-register part.
NEW_PARTS = {"GD25WQ16E": 0x4000, "P25Q16HB": 0x1C, "MX25V1635F": 0x101C, "TH25Q16UC": 0x1C}


@pytest.mark.parametrize("part", list(NEW_PARTS))
def test_flash_parts_protection_lifted_for_the_write_and_put_back(tmp_path, part):
    fw, body = firmware_file(tmp_path, "bk7231n")
    reporter = ListReporter()
    with ops.open_chip(url("bk7231n", tmp_path / "chip.bin", flash=part), reporter) as io:
        flash = sim_chip(io).flash
        assert io.info.flash.name == part and flash.sr == NEW_PARTS[part] and io.info.protected
        ops.flash_firmware(io, fw)
        assert chip_bytes(io)[BOOT : BOOT + len(body)] == body  # a protected array ignores writes: it was lifted
        assert flash.sr == NEW_PARTS[part]  # and put back exactly (QE and the rest never touched)
    assert "Flash write protection restored (read back)" in [getattr(e, "message", "") for e in reporter.events]


@pytest.mark.parametrize("protect", [True, False])
def test_an_unknown_flash_part_is_never_assumed_unprotected(tmp_path, protect):
    """A JEDEC id no table has: its SR1/SR2 are read the JEDEC way; any protect bit set stops the
    write before anything is erased (exit 6, naming the part id); none set: written, registers untouched."""
    fw, body = firmware_file(tmp_path, "bk7231n")
    reporter = ListReporter()
    with ops.open_chip(url("bk7231n", tmp_path / "chip.bin", flash="jedec:9d6015", protect=int(protect)), reporter) as io:
        flash = sim_chip(io).flash
        assert io.info.as_dict()["flash_chip"] == "unknown-9D6015" and io.info.protected is protect
        before, sr = chip_bytes(io), flash.sr
        if protect:
            with pytest.raises(FreebekenError, match=r"9D 60 15 \(MID 15609D\).*not in freebeken's table") as err:
                ops.flash_firmware(io, fw)
            assert err.value.exit_code == 6 and chip_bytes(io) == before  # nothing erased
        else:
            ops.flash_firmware(io, fw)
            assert chip_bytes(io)[BOOT : BOOT + len(body)] == body
        assert flash.sr == sr  # never written on a part freebeken does not know


def test_restore_after_a_flash_costs_only_what_the_flash_changed(tmp_path):
    """A restore puts back only the sectors that differ: after a 0.5 MiB flash (136 sectors), the
    other 359 are proven identical by CRC, block by block, and neither erased nor written (it wrote
    289 sectors and erased 30 blocks when a release's 'the rest is new' shortcut applied to it)."""
    fw, _ = firmware_file(tmp_path, "bk7231t", size=0x80000 // 32 * 34)  # 0.5 MiB of code, CRC'd as stored
    with ops.open_chip(url("bk7231t", tmp_path / "chip.bin"), ListReporter()) as io:
        backup = ops.backup(io)
        flashed = ops.flash_firmware(io, fw)
        assert flashed.written == 136
        plug = sim_chip(io)
        before = plug.commands
        restored = ops.restore_backup(io, backup.path)
        commands = plug.commands - before
        assert chip_bytes(io) == backup.path.read_bytes()
    assert (restored.written, restored.skipped) == (136, 495 - 136), restored
    assert restored.erased <= 136 + 16  # what the writes need (a 64K erase may cover a partial block)
    # CRCs: one per changed sector, one per identical 64 KiB block; plus the erases and writes
    assert commands <= 136 + 31 + restored.erased + restored.written + 20, commands


def test_the_bootloader_permission_does_not_outlive_its_write(tmp_path):
    """Review §3: `flash --include-bootloader` used to leave ChipIO allowed below 0x11000 for
    whatever came next on the same link (e.g. the configuration write)."""
    fw, _ = firmware_file(tmp_path, "bk7231n")
    with ops.open_chip(url("bk7231n", tmp_path / "chip.bin"), ListReporter()) as io:
        ops.flash_firmware(io, fw, include_bootloader=True)
        assert not io.allow_bootloader and io.lowest_writable == io.chip.app_start
        with pytest.raises(SafetyError):
            io.check_writable(0, 0x1000)
