"""The flash commands through the CLI: output, JSON, exit codes, the automatic first backup."""

from __future__ import annotations

import json

from click.testing import CliRunner

from freebeken.cli.main import main
from freebeken.errors import LinkError, PortError, UsageError, VerifyError
from helpers import firmware_file


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_flash_backs_up_first_then_flashes_then_verifies(tmp_path, home):
    port = f"sim://bk7231t?time_scale=0&image={tmp_path / 'chip.bin'}"
    fw, _ = firmware_file(tmp_path, "bk7231t")
    result = run("--json", "flash", "-y", "-p", port, str(fw))
    assert result.exit_code == 0, result.output
    assert last_json(result.output)["written"] > 0
    backups = list((home / "backups").glob("*.bin"))
    assert len(backups) == 1  # offered automatically: the chip had no backup yet
    again = run("--json", "flash", "-y", "-p", port, str(fw))
    assert last_json(again.output)["written"] == 0 and len(list((home / "backups").glob("*.bin"))) == 1
    ok = run("verify", "-p", port, str(fw))
    assert ok.exit_code == 0 and "matches" in ok.output
    bad = run("verify", "-p", port, str(backups[0]))
    assert bad.exit_code == VerifyError.exit_code and "differs" in bad.output


def test_backup_read_and_restore_commands(tmp_path):
    port = f"sim://bk7231n?time_scale=0&image={tmp_path / 'chip.bin'}"
    out = tmp_path / "b.bin"
    result = run("--json", "backup", "-p", port, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (tmp_path / "chip.bin").read_bytes()
    assert run("backup", "-p", port, "-o", str(out)).exit_code == UsageError.exit_code  # never overwritten
    part = tmp_path / "part.bin"
    assert run("read", "-p", port, "--start", "0x1D0000", "--length", "0x30", "-o", str(part)).exit_code == 0
    assert part.read_bytes() == out.read_bytes()[0x1D0000:0x1D0030]
    fw, _ = firmware_file(tmp_path, "bk7231n")
    assert run("flash", "-p", port, "--no-backup", str(fw)).exit_code == 0
    result = run("--json", "restore", "-p", port, str(out))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "chip.bin").read_bytes() == out.read_bytes()


def test_flash_errors(tmp_path):
    fw, _ = firmware_file(tmp_path, "bk7231n")
    wrong = run("flash", "-p", "sim://bk7231t?time_scale=0", "--no-backup", str(fw))
    assert wrong.exit_code == 8 and "built for BK7231N" in wrong.output  # it could brick the plug
    again = run("flash", "-p", "sim://bk7231t?time_scale=0", "-y", str(fw))  # with the backup-first rule on
    assert again.exit_code == 8 and not (tmp_path / "home" / "backups").exists()  # refused before any backup
    raw = tmp_path / "raw.bin"
    raw.write_bytes(b"\x00" * 0x2000)
    below = run("flash", "-p", "sim://bk7231t?time_scale=0", "--no-backup", "--offset", "0x10000", str(raw))
    assert below.exit_code == 8 and "Refusing to write below 0x11000" in below.output
    other = tmp_path / "firmware.bin"
    other.write_bytes(b"\x00" * 100)
    assert run("flash", "-p", "sim://bk7231t?time_scale=0", str(other)).exit_code == UsageError.exit_code
    t_fw, _ = firmware_file(tmp_path, "bk7231t")
    assert run("flash", "-p", "/dev/ttyUSB-none", str(t_fw)).exit_code == PortError.exit_code
    dead = run("flash", "-p", "sim://bk7231t?time_scale=0&dead=1", "-t", "1", str(t_fw))
    assert dead.exit_code == LinkError.exit_code and "what to do" in dead.output
    bad = run("read", "-p", "sim://bk7231t?time_scale=0", "--start", "zero", "--length", "1", "-o", str(tmp_path / "x"))
    assert bad.exit_code == 2


def test_resume_command_with_nothing_pending():
    result = run("--json", "resume", "-p", "sim://bk7231n?time_scale=0")
    assert result.exit_code == 0 and last_json(result.output)["resumed"] is False
