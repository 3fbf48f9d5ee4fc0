"""RTL8720CF and LN882H through freebeken on their simulators: identify, backup, flash, verify, restore and
resume after a power cut, byte-exact, with the refusals that apply (wrong chip's image, another device's
backup, an existing backup file), through the CLI as a person runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from freebeken import events
from freebeken.cli.main import main
from freebeken.errors import Interrupted, SafetyError, UsageError, VerifyError
from freebeken.families import ops
from freebeken.families.dispatch import open_family
from freebeken.families.images import image_family
from freebeken.families.registry import family_of, spec_by_chip
from freebeken.sim.families import FamilySimConfig
from freebeken.sim.family_images import release_image, stock_image

CHIPS = ("rtl8720cf", "ln882h")
RELEASE = {"rtl8720cf": "OpenRTL87X0C_1.18.230.bin", "ln882h": "OpenLN882H_1.18.230.bin"}


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def port(tmp_path: Path, chip: str, seed: int = 0, **extra: object) -> str:
    query = "&".join(
        ["time_scale=0", f"seed={seed}", f"image={tmp_path / f'{chip}-{seed}.bin'}"] + [f"{k}={v}" for k, v in extra.items()]
    )
    return f"sim://{chip}?{query}"


def chip_bytes(tmp_path: Path, chip: str, seed: int = 0) -> bytes:
    return (tmp_path / f"{chip}-{seed}.bin").read_bytes()


def release(tmp_path: Path, chip: str) -> Path:
    path = tmp_path / RELEASE[chip]
    path.write_bytes(release_image(chip))
    return path


def test_registry_routes_by_url_and_chip():
    assert family_of("sim://rtl8720cf?time_scale=0").name == "rtl8720cf"
    assert family_of("/dev/ttyUSB0", "WBR3").name == "rtl8720cf"
    assert family_of("/dev/ttyUSB0", "ln882h").name == "ln882h"
    assert family_of("sim://bk7231n") is None and family_of("/dev/ttyUSB0") is None and family_of("COM3", "bk7231t") is None
    with pytest.raises(UsageError):
        family_of("/dev/ttyUSB0", "esp8266")


@pytest.mark.parametrize("chip", CHIPS)
def test_images_are_recognised_by_their_bytes(chip):
    assert image_family(release_image(chip)) == chip
    assert image_family(bytes(stock_image(chip, 0, b"\xd4\xa6\x51\0\0\1"))) == chip
    assert image_family(b"\xff" * 0x8000) is None


@pytest.mark.parametrize("chip", CHIPS)
def test_identify_reads_the_device_mac(chip):
    fam = open_family(spec_by_chip(chip), f"sim://{chip}?time_scale=0&mac=D4A651010203")
    try:
        ident = fam.identify()
    finally:
        fam.close()
    assert ident.mac == bytes.fromhex("D4A651010203") and ident.flash_size == 0x200000
    assert ident.key == f"{chip}-D4A651010203"


@pytest.mark.parametrize("chip", CHIPS)
def test_backup_flash_verify_restore_byte_exact_through_the_cli(tmp_path, chip):
    p = port(tmp_path, chip)
    stock = bytes(stock_image(chip, 0, FamilySimConfig.from_url(p).device_mac))
    out = tmp_path / "mine.bin"
    result = run("--json", "backup", "-p", p, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == stock and last_json(result.output)["sha256"]
    assert json.loads(out.with_name("mine.bin.json").read_text())["mac"] == last_json(result.output)["mac"]

    fw = release(tmp_path, chip)
    result = run("--json", "flash", "-p", p, str(fw))
    assert result.exit_code == 0, result.output
    record = last_json(result.output)
    image = fw.read_bytes()
    after = chip_bytes(tmp_path, chip)
    spec = spec_by_chip(chip)
    keep = [r for r in spec.regions if r.keep]
    for start in range(0, len(image), 0x1000):
        region = [r for r in keep if r.start <= start < r.end]
        want = stock[start : start + 0x1000] if region else image[start : start + 0x1000]
        assert after[start : start + 0x1000] == want, hex(start)
    assert after[len(image) :] == stock[len(image) :]  # nothing past the image is touched
    assert record["written"] > 0 and record["backup"] is None  # a backup existed: none made

    assert run("verify", "-p", p, str(fw)).exit_code == 0
    again = run("flash", "-p", p, str(fw))
    assert "0 sectors written" in again.output  # all already right
    boot_pin = "PA00" if chip == "rtl8720cf" else "BOOT (PA09)"
    assert f"stays in download mode: power it off, take {'the wire off ' if chip == 'rtl8720cf' else ''}{boot_pin}" in " ".join(
        again.output.split()
    )

    result = run("--json", "restore", "-p", p, str(out))
    assert result.exit_code == 0, result.output
    assert chip_bytes(tmp_path, chip) == stock
    assert run("verify", "-p", p, str(out)).exit_code == 0


@pytest.mark.heavy
@pytest.mark.parametrize("chip", CHIPS)
def test_first_flash_makes_a_backup_first(tmp_path, chip):
    p = port(tmp_path, chip)
    stock = chip_bytes_after_open(tmp_path, chip)
    result = run("--json", "flash", "-p", p, str(release(tmp_path, chip)))
    assert result.exit_code == 0, result.output
    made = Path(last_json(result.output)["backup"])
    assert made.read_bytes() == stock


def chip_bytes_after_open(tmp_path: Path, chip: str) -> bytes:
    cfg = FamilySimConfig.from_url(port(tmp_path, chip))
    return bytes(cfg.load_image())  # creates the image file like opening the port would


@pytest.mark.parametrize("chip", CHIPS)
def test_wrong_chips_image_is_refused_before_the_chip_is_touched(tmp_path, chip):
    other = "ln882h" if chip == "rtl8720cf" else "rtl8720cf"
    fw = tmp_path / RELEASE[chip]  # the right name, the other chip's bytes: bytes decide
    fw.write_bytes(release_image(other))
    result = run("--json", "flash", "-p", port(tmp_path, chip), str(fw))
    assert result.exit_code == SafetyError.exit_code and f"image for {other}" in last_json(result.output)["error"]
    assert not (tmp_path / f"{chip}-0.bin").exists()  # never opened
    junk = tmp_path / "OpenBK7231N_1.18.230_UA.bin"
    junk.write_bytes(b"\x00" * 0x20000)
    assert run("flash", "-p", port(tmp_path, chip), str(junk)).exit_code == SafetyError.exit_code


@pytest.mark.heavy
@pytest.mark.parametrize("chip", CHIPS)
def test_another_devices_backup_is_refused(tmp_path, chip):
    theirs = tmp_path / "theirs.bin"
    assert run("backup", "-p", port(tmp_path, chip, seed=1), "-o", str(theirs)).exit_code == 0
    mine = port(tmp_path, chip, seed=2)
    before = chip_bytes_after_open_seed(tmp_path, chip, 2)
    result = run("--json", "restore", "-p", mine, str(theirs))
    assert result.exit_code == SafetyError.exit_code, result.output
    assert "another device" in last_json(result.output)["error"]
    assert chip_bytes(tmp_path, chip, 2) == before
    forced = run("restore", "-p", mine, str(theirs), "--other-device")
    assert forced.exit_code == 0 and chip_bytes(tmp_path, chip, 2) == theirs.read_bytes()


def chip_bytes_after_open_seed(tmp_path: Path, chip: str, seed: int) -> bytes:
    return bytes(FamilySimConfig.from_url(port(tmp_path, chip, seed)).load_image())


def test_a_truncated_backup_is_refused(tmp_path):
    short = tmp_path / "short.bin"
    short.write_bytes(b"\xff" * 0x100000)
    result = run("restore", "-p", port(tmp_path, "ln882h"), str(short))
    assert result.exit_code == SafetyError.exit_code and "truncated or partial" in result.output  # as on Beken


@pytest.mark.heavy
@pytest.mark.parametrize("chip", CHIPS)
def test_a_backup_is_never_overwritten(tmp_path, chip):
    out = tmp_path / "exists.bin"
    out.write_bytes(b"mine")
    result = run("backup", "-p", port(tmp_path, chip), "-o", str(out))
    assert result.exit_code == UsageError.exit_code and out.read_bytes() == b"mine"
    first = run("--json", "backup", "-p", port(tmp_path, chip))
    second = run("--json", "backup", "-p", port(tmp_path, chip))
    assert last_json(first.output)["path"] != last_json(second.output)["path"]


@pytest.mark.heavy
@pytest.mark.parametrize("chip", CHIPS)
def test_flash_resumes_after_a_power_cut_byte_exact(tmp_path, chip):
    fw = release(tmp_path, chip)
    assert run("backup", "-p", port(tmp_path, chip)).exit_code == 0  # so the flash itself is cut
    cut = run("--json", "flash", "-p", port(tmp_path, chip, power_cut_after=700), str(fw))
    assert cut.exit_code != 0, cut.output  # the chip went silent mid-write: nothing claimed
    result = run("--json", "flash", "-p", port(tmp_path, chip), str(fw))
    assert result.exit_code == 0, result.output
    record = last_json(result.output)
    assert record["resumed"] and record["skipped"] > 0  # runs proven before the cut are not written again
    after = chip_bytes(tmp_path, chip)
    image = fw.read_bytes()
    keep = [r for r in spec_by_chip(chip).regions if r.keep]
    assert all(
        after[s : s + 0x1000] == image[s : s + 0x1000]
        for s in range(0, len(image), 0x1000)
        if not any(r.start <= s < r.end for r in keep)
    )


@pytest.mark.heavy
@pytest.mark.parametrize("chip", CHIPS)
def test_backup_resumes_from_its_journal(tmp_path, chip, monkeypatch):
    p = port(tmp_path, chip)
    fam = open_family(spec_by_chip(chip), p)
    calls = {"n": 0}

    def ctrl_c_on_5th(real):  # the person presses Ctrl-C during the 5th transfer (the engine reads with
        def failing(*args: object) -> bytes:  # read_expecting where the family has it, else read)
            calls["n"] += 1
            if calls["n"] == 5:
                raise KeyboardInterrupt
            return real(*args)

        return failing

    for name in ("read", "read_expecting"):
        if hasattr(fam, name):
            monkeypatch.setattr(fam, name, ctrl_c_on_5th(getattr(fam, name)))
    with pytest.raises(Interrupted):  # Ctrl-C keeps what was read, and says so (the rule Beken's backup had)
        ops.backup(fam, events.NullReporter())
    fam.close()
    fam = open_family(spec_by_chip(chip), p)
    try:
        result = ops.backup(fam, events.NullReporter())
    finally:
        fam.close()
    assert result.resumed and Path(result.path).read_bytes() == chip_bytes(tmp_path, chip)


@pytest.mark.heavy
def test_rtl_noisy_line_rereads_what_its_sha256_rejects(tmp_path):
    """Where ltchiptool alone stops at a SHA-256 mismatch (test_families_compat), freebeken reads the
    piece again and still delivers proven bytes."""
    p = f"sim://rtl8720cf?time_scale=0&corrupt=0.00002&seed=3&image={tmp_path / 'noisy.bin'}"
    fam = open_family(spec_by_chip("rtl8720cf"), p)
    try:
        data = fam.read(0, 0x40000)
    finally:
        fam.close()
    assert data == (tmp_path / "noisy.bin").read_bytes()[:0x40000]


@pytest.mark.heavy
def test_ln882h_noisy_line_is_caught_by_the_crc16(tmp_path):
    p = f"sim://ln882h?time_scale=0&corrupt=0.0001&seed=5&image={tmp_path / 'noisy.bin'}"
    fam = open_family(spec_by_chip("ln882h"), p)
    try:
        data = fam.read(0x7000, 0x20000)
    finally:
        fam.close()
    assert data == (tmp_path / "noisy.bin").read_bytes()[0x7000:0x27000]


def test_download_mode_not_entered_is_a_link_error_with_the_boot_pin_hint(tmp_path):
    result = run("--json", "backup", "-p", "sim://ln882h?time_scale=0&boot=app", "-t", "1")
    record = last_json(result.output)
    assert result.exit_code != 0 and "PA09" in record["hint"]


def test_verify_names_what_differs(tmp_path):
    p = port(tmp_path, "rtl8720cf")
    fw = release(tmp_path, "rtl8720cf")
    result = run("--json", "verify", "-p", p, str(fw))
    assert result.exit_code == VerifyError.exit_code and "differs" in last_json(result.output)["error"]


def test_release_names_follow_openbekens_makefile():
    from freebeken.firmware.releases import _asset_pattern

    names = [
        "OpenRTL87X0C_1.18.230.bin",
        "OpenRTL87X0C_1.18.230_ota.img",
        "OpenLN882H_1.18.230.bin",
        "OpenLN882H_1.18.230_OTA.bin",
        "OpenLN882H_1.18.230_btproxy.bin",
        "OpenBK7231N_QIO_1.18.230.bin",
    ]
    assert [n for n in names if _asset_pattern("rtl8720cf", False)[0].match(n)] == ["OpenRTL87X0C_1.18.230.bin"]
    assert [n for n in names if _asset_pattern("ln882h", False)[0].match(n)] == ["OpenLN882H_1.18.230.bin"]
    assert [n for n in names if _asset_pattern("ln882h", True)[0].match(n)] == ["OpenLN882H_1.18.230_OTA.bin"]
    assert spec_by_chip("wbr3").release_name("1.18.230") == "OpenRTL87X0C_1.18.230.bin"


def test_ln882h_pin_rules_in_openbekens_numbering():
    from freebeken.templates.chips import rules_for

    rules = rules_for("ln882h")
    assert rules is not None and rules.gpio_count == 26
    assert 13 not in rules.pwm and 19 in rules.adc and rules.uart1 == (2, 3)


def test_another_chips_backup_is_refused(tmp_path):
    ln = tmp_path / "ln.bin"
    ln.write_bytes(bytes(stock_image("ln882h", 0, bytes(6))))
    result = run("--json", "restore", "-p", port(tmp_path, "rtl8720cf"), str(ln))
    assert result.exit_code == SafetyError.exit_code and "image for ln882h" in last_json(result.output)["error"]
