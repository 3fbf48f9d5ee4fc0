"""Every chip command of the CLI on the RTL8720CF and LN882H simulators: info, read, doctor and resume
(after a power cut mid-flash and mid-restore, and after an interrupted backup), `sim serve --chip` on a
pty, and the options that do not apply saying what to do instead."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from freebeken import events
from freebeken.cli.main import main
from freebeken.errors import Interrupted, LinkError, SafetyError, UsageError
from freebeken.families import ops
from freebeken.families.dispatch import open_family
from freebeken.families.registry import spec_by_chip
from freebeken.sim.families import FamilySimConfig
from freebeken.sim.family_images import release_image

CHIPS = ("rtl8720cf", "ln882h")
RELEASE = {"rtl8720cf": "OpenRTL87X0C_1.18.230.bin", "ln882h": "OpenLN882H_1.18.230.bin"}
MAC = "D4A651A1B2C3"
SRC = Path(__file__).resolve().parents[1] / "src"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def port(tmp_path: Path, chip: str, **extra: object) -> str:
    query = ["time_scale=0", f"mac={MAC}", f"image={tmp_path / f'{chip}.bin'}"] + [f"{k}={v}" for k, v in extra.items()]
    return f"sim://{chip}?" + "&".join(query)


def chip_bytes(tmp_path: Path, chip: str) -> bytes:
    return (tmp_path / f"{chip}.bin").read_bytes()


def stock(tmp_path: Path, chip: str) -> bytes:
    """The simulated chip's flash before any command (the image file is made as opening the port makes it)."""
    return bytes(FamilySimConfig.from_url(port(tmp_path, chip)).load_image())


def release(tmp_path: Path, chip: str) -> Path:
    path = tmp_path / RELEASE[chip]
    path.write_bytes(release_image(chip))
    return path


def flashed(before: bytes, image: bytes, chip: str) -> bytes:
    """What the chip must hold after flashing ``image`` over ``before``: the image, calibration kept."""
    keep = [r for r in spec_by_chip(chip).regions if r.keep]
    out = bytearray(before)
    for s in range(0, len(image), 0x1000):
        if not any(r.start <= s < r.end for r in keep):
            out[s : s + 0x1000] = image[s : s + 0x1000].ljust(0x1000, b"\xff")
    return bytes(out)


# ---- info ----


@pytest.mark.parametrize("chip", CHIPS)
def test_info_shows_identity_flash_map_and_download_mode(tmp_path, chip):
    result = run("--json", "info", "-p", port(tmp_path, chip))
    assert result.exit_code == 0, result.output
    r = last_json(result.output)
    spec = spec_by_chip(chip)
    assert (r["chip"], r["family"], r["flash_size"], r["mac"]) == (chip, spec.family, 0x200000, "D4:A6:51:A1:B2:C3")
    assert r["details"] and r["integrity"] == spec.integrity and r["release"] == spec.release_name("<version>")
    kept = [x["name"] for x in r["regions"] if x["kept"]]
    assert kept == [x.name for x in spec.regions if x.keep] and len(kept) == 1
    assert all(x["restorable"] for x in r["regions"])
    assert ("PA00" if chip == "rtl8720cf" else "PA09") in r["download_mode"]
    assert {"adapter": "GND", "chip": "GND"} in r["wiring"] and r["backups"] == [] and r["pending"] == []
    text = run("info", "-p", port(tmp_path, chip), "--chip", chip)  # --chip agreeing with the URL is fine
    assert text.exit_code == 0, text.output
    for words in ("D4:A6:51:A1:B2:C3", "Flash map", "never replaces a kept", "Download mode:", "Wiring:", "2048 KiB"):
        assert words in text.output, (words, text.output)


@pytest.mark.parametrize("fault", ["lose_command", "lose_reply"])
def test_a_baud_change_that_does_not_confirm_is_recovered_at_whichever_rate_the_chip_is(tmp_path, fault):
    """ucfg lost (the chip stays at 115200) or its OK lost (the chip switched): either way the link is found
    again and the range read afterwards is the chip's (before: the host stayed at 1.5 Mbaud, the chip did not)."""
    chip_port = port(tmp_path, "rtl8720cf", **{fault: "ucfg"})
    out = tmp_path / "part.bin"
    result = run("--json", "read", "-p", chip_port, "--start", "0x2000", "--length", "0x1000", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == chip_bytes(tmp_path, "rtl8720cf")[0x2000:0x3000]


# ---- read ----


@pytest.mark.parametrize("chip", CHIPS)
def test_read_writes_the_proven_range_and_never_overwrites(tmp_path, chip):
    out = tmp_path / "part.bin"
    result = run("--json", "read", "-p", port(tmp_path, chip), "--start", "0x1F80", "--length", "0x1234", "-o", str(out))
    assert result.exit_code == 0, result.output
    r = last_json(result.output)
    assert out.read_bytes() == chip_bytes(tmp_path, chip)[0x1F80 : 0x1F80 + 0x1234]
    assert (r["start"], r["length"], r["proven_by"]) == (0x1F80, 0x1234, "sha256" if chip == "rtl8720cf" else "crc16")
    again = run("--json", "read", "-p", port(tmp_path, chip), "--start", "0", "--length", "16", "-o", str(out))
    assert again.exit_code == UsageError.exit_code and "already exists" in last_json(again.output)["error"]
    assert len(out.read_bytes()) == 0x1234
    past = run("--json", "read", "-p", port(tmp_path, "ln882h", seed=9), "--start", "0x1FF000", "--length", "0x2000", "-o", "x")
    assert past.exit_code == UsageError.exit_code and "not a range" in last_json(past.output)["error"]


# ---- doctor ----


@pytest.mark.parametrize("chip", CHIPS)
def test_doctor_says_the_chip_answers_or_how_to_enter_download_mode(tmp_path, chip):
    ok = run("--json", "doctor", "-p", port(tmp_path, chip))
    assert ok.exit_code == 0, ok.output
    r = last_json(ok.output)
    assert r["mac"] == "D4:A6:51:A1:B2:C3" and r["baud"] == spec_by_chip(chip).fast_baud
    pin = "PA00" if chip == "rtl8720cf" else "PA09"
    app = run("--json", "doctor", "-p", port(tmp_path, chip, boot="app"), "-t", "1")
    r = last_json(app.output)
    assert app.exit_code == LinkError.exit_code and pin in r["hint"] and "Wiring" in r["hint"] and "nothing arrives" in r["error"]
    echo = run("--json", "doctor", "-p", port(tmp_path, chip, wiring="echo"), "-t", "1")
    assert echo.exit_code == LinkError.exit_code and "hears itself" in last_json(echo.output)["error"]


# ---- resume ----


@pytest.mark.parametrize("chip", [CHIPS[0], pytest.param(CHIPS[1], marks=pytest.mark.heavy)])
def test_resume_finishes_a_flash_cut_by_power_loss_byte_exact(tmp_path, chip):
    """Cut mid-flash; resume refuses the file while it is changed or gone (nothing written), then, with the
    file back, finishes the flash: the chip holds the image, calibration kept, and verify passes."""
    before = stock(tmp_path, chip)
    fw = release(tmp_path, chip)
    original = fw.read_bytes()
    cut = run("--json", "flash", "--no-backup", "-p", port(tmp_path, chip, power_cut_after=700), str(fw))
    assert cut.exit_code != 0, cut.output
    after_cut = chip_bytes(tmp_path, chip)
    assert after_cut != flashed(before, original, chip)  # really cut short

    fw.write_bytes(release_image(chip, "1.18.231"))  # another build under the same name
    changed = run("--json", "resume", "-p", port(tmp_path, chip))
    assert changed.exit_code == SafetyError.exit_code and "changed" in last_json(changed.output)["error"]
    fw.unlink()
    gone = run("--json", "resume", "-p", port(tmp_path, chip))
    assert gone.exit_code == UsageError.exit_code and "nothing was written" in last_json(gone.output)["error"]
    assert chip_bytes(tmp_path, chip) == after_cut

    fw.write_bytes(original)
    result = run("--json", "resume", "-p", port(tmp_path, chip))
    assert result.exit_code == 0, result.output
    r = last_json(result.output)
    assert (r["op"], r["resumed"], r["file"]) == ("flash", True, str(fw.resolve())) and r["skipped"] > 0
    assert chip_bytes(tmp_path, chip) == flashed(before, original, chip)
    assert run("verify", "-p", port(tmp_path, chip), str(fw)).exit_code == 0
    nothing = run("resume", "-p", port(tmp_path, chip))
    assert nothing.exit_code == 0 and "nothing to resume" in nothing.output


@pytest.mark.parametrize("chip", [CHIPS[0], pytest.param(CHIPS[1], marks=pytest.mark.heavy)])
def test_resume_finishes_a_restore_cut_by_power_loss(tmp_path, chip):
    mine = tmp_path / "mine.bin"
    assert run("backup", "-p", port(tmp_path, chip), "-o", str(mine)).exit_code == 0
    image = bytearray(chip_bytes(tmp_path, chip))  # the app area changed since (as by a flash)
    image[0x10000:0x60000] = os.urandom(0x50000)
    (tmp_path / f"{chip}.bin").write_bytes(bytes(image))
    cut = run("--json", "restore", "-p", port(tmp_path, chip, power_cut_after=60), str(mine))
    assert cut.exit_code != 0, cut.output
    assert chip_bytes(tmp_path, chip) != mine.read_bytes()
    result = run("--json", "resume", "-p", port(tmp_path, chip))
    assert result.exit_code == 0, result.output
    r = last_json(result.output)
    assert (r["op"], r["file"]) == ("restore", str(mine.resolve())) and r["skipped"] > 0
    assert chip_bytes(tmp_path, chip) == mine.read_bytes()
    assert run("verify", "-p", port(tmp_path, chip), str(mine)).exit_code == 0


def test_resume_finishes_a_backup_cut_by_power_loss(tmp_path, monkeypatch):
    """The simulated chip loses power in the middle of a backup (its flash reads stop, the line goes
    silent); resume continues from the journal and the backup is the chip's flash, byte for byte."""
    from freebeken.sim import flash as simflash

    chip = "ln882h"
    real_read, calls = simflash.NorFlash.read, {"n": 0}

    def cut(self, address: int, length: int) -> bytes:
        calls["n"] += 1
        if calls["n"] == 3000:  # of 8192 reads of 256 bytes
            raise simflash.PowerCut()
        return real_read(self, address, length)

    monkeypatch.setattr(simflash.NorFlash, "read", cut)
    result = run("--json", "backup", "-p", port(tmp_path, chip))
    assert result.exit_code != 0 and calls["n"] >= 3000, result.output
    info = run("--json", "info", "-p", port(tmp_path, chip))
    [waiting] = last_json(info.output)["pending"]
    assert waiting["op"] == "backup" and waiting["file"].endswith(".bin") and waiting["done"] > 0  # where it was going
    result = run("resume", "-p", port(tmp_path, chip))
    assert result.exit_code == 0 and "resumed the interrupted backup" in result.output, result.output
    again = run("--json", "resume", "-p", port(tmp_path, chip))
    assert last_json(again.output)["resumed"] is False
    fam = open_family(spec_by_chip(chip), port(tmp_path, chip))
    try:
        made = ops.backups_of(fam.identify())
    finally:
        fam.close()
    assert len(made) == 1 and made[0].read_bytes() == chip_bytes(tmp_path, chip)


def test_resume_finishes_the_first_backup_of_a_flash_then_flashes(tmp_path, monkeypatch):
    """A first flash backs the device up first; cut in that backup, resume finishes it, then flashes."""
    chip = "rtl8720cf"
    before = stock(tmp_path, chip)
    fw = release(tmp_path, chip)
    fam = open_family(spec_by_chip(chip), port(tmp_path, chip))
    calls = {"n": 0}

    def cutting(real):  # the backup reads through read, or read_expecting when it knows the digest
        def cut(*args):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
            return real(*args)

        return cut

    for name in ("read", "read_expecting"):
        if hasattr(fam, name):
            monkeypatch.setattr(fam, name, cutting(getattr(fam, name)))
    with pytest.raises(Interrupted):  # the backup engine keeps what it read and says where
        ops.flash(fam, fw.name, fw.read_bytes(), events.NullReporter(), path=fw)
    fam.close()
    assert chip_bytes(tmp_path, chip) == before  # nothing written yet
    result = run("--json", "resume", "-p", port(tmp_path, chip))
    assert result.exit_code == 0, result.output
    r = last_json(result.output)
    assert r["op"] == "flash" and r["written"] > 0 and Path(r["backup"]).read_bytes() == before
    assert chip_bytes(tmp_path, chip) == flashed(before, fw.read_bytes(), chip)
    assert last_json(run("--json", "resume", "-p", port(tmp_path, chip)).output)["resumed"] is False


# ---- sim serve ----


def test_sim_serve_puts_a_family_chip_on_a_pty(tmp_path):
    if os.name != "posix":
        pytest.skip("pseudo-terminals are POSIX")
    image = tmp_path / "served.bin"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    args = [
        "--json",
        "sim",
        "serve",
        "--chip",
        "rtl8720cf",
        "--time-scale",
        "0",
        "--image",
        str(image),
        "--options",
        f"mac={MAC}",
    ]
    proc = subprocess.Popen([sys.executable, "-m", "freebeken", *args], env=env, stdout=subprocess.PIPE, text=True)
    try:
        served = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        device = served["device"]
        assert served["commands"]["freebeken"] == f"freebeken info -p {device} --chip rtl8720cf"
        assert served["commands"]["ltchiptool"].endswith(f"-d {device} realtek-ambz2")
        # at 115200: the first change to 1.5 Mbaud on a fresh pty fails now and then on a loaded machine (see the report)
        result = run("--json", "info", "-p", device, "--chip", "wbr3", "-b", "115200")
        assert result.exit_code == 0 and last_json(result.output)["mac"] == "D4:A6:51:A1:B2:C3", result.output
        out = tmp_path / "kv.bin"
        read = run(
            "read",
            "-p",
            device,
            "--chip",
            "rtl8720cf",
            "-b",
            "115200",
            "--start",
            "0x1FC000",
            "--length",
            "0x1000",
            "-o",
            str(out),
        )
        assert read.exit_code == 0, read.output
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert out.read_bytes() == image.read_bytes()[0x1FC000:0x1FD000] and out.read_bytes()[:6] == bytes.fromhex(MAC)


# ---- options that do not apply ----


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("flash", "--offset", "0x1000"), "drop --offset"),
        (("flash", "--include-bootloader"), "already holds the bootloader"),
        (("flash", "--wifi", "home", "--wifi-password", "x"), "192.168.4.1"),
        (("flash", "--configure"), "web page"),
        (("flash", "--other-device"), "carries no device's MAC"),
        (("verify", "--offset", "0x1000"), "freebeken read"),
    ],
)
def test_options_that_do_not_apply_say_what_to_do_instead(tmp_path, args, says):
    fw = release(tmp_path, "ln882h")
    result = run("--json", args[0], "-p", port(tmp_path, "ln882h"), str(fw), *args[1:])
    r = last_json(result.output)
    assert result.exit_code == UsageError.exit_code and "does not apply to the LN882H" in r["error"] and says in r["hint"], r
    assert not (tmp_path / "ln882h.bin").exists()  # the chip was never opened


@pytest.mark.parametrize("args", [("config", "read"), ("config", "write", "--wifi", "home")])
def test_config_on_a_family_port_says_to_set_it_over_the_network(tmp_path, args):
    result = run("--json", *args, "-p", port(tmp_path, "rtl8720cf"))
    r = last_json(result.output)
    assert result.exit_code == UsageError.exit_code and "this port is an RTL8720CF" in r["error"] and "192.168.4.1" in r["hint"]
    assert not (tmp_path / "rtl8720cf.bin").exists()  # the chip was never opened


def test_a_chip_that_contradicts_the_simulator_url_is_refused(tmp_path):
    for chip in ("rtl8720cf", "bk7231n"):
        result = run("--json", "info", "-p", port(tmp_path, "ln882h"), "--chip", chip)
        assert result.exit_code == UsageError.exit_code and "Drop --chip" in last_json(result.output)["hint"]
    assert not (tmp_path / "ln882h.bin").exists()


def test_sim_serve_refuses_beken_only_options():
    result = run("sim", "serve", "--chip", "ln882h", "--flash", "GD25Q16")
    assert result.exit_code == UsageError.exit_code and "Beken simulators only" in result.output


def test_sim_serve_refuses_an_image_that_is_no_whole_flash(tmp_path):
    fw = release(tmp_path, "rtl8720cf")
    result = run("--json", "sim", "serve", "--chip", "rtl8720cf", "--image", str(fw))
    r = last_json(result.output)
    assert result.exit_code == UsageError.exit_code and "2 MiB" in r["error"] and "freebeken flash" in r["hint"]
    assert fw.read_bytes() == release_image("rtl8720cf")


def test_a_silent_beken_port_names_the_other_families(tmp_path):
    """Without --chip a real port is linked as a Beken; when nothing answers, the hint says how to name a WBR3."""
    if os.name != "posix":
        pytest.skip("pseudo-terminals are POSIX")
    from freebeken.sim.config import SimConfig
    from freebeken.sim.pty import PtyServer

    with PtyServer(SimConfig.from_url("sim://bk7231n?time_scale=0&dead=1").build()) as server:
        result = run("--json", "info", "-p", server.path, "-t", "1", "--no-reset")
    r = last_json(result.output)
    assert result.exit_code == LinkError.exit_code and "--chip rtl8720cf" in r["hint"], r
