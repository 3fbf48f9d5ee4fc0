"""A copy made by ``backup share`` is for others to analyse, not to restore: its Tuya keys and Wi-Fi
are stand-ins. Known by its bytes (the stand-ins), it is refused by the restore rules every front end
shares unless the person consents (--other-device), and never taken as the device's backup."""

from __future__ import annotations

import json

from click.testing import CliRunner

from freebeken.cli.main import main
from freebeken.errors import SafetyError
from freebeken.tuya.share import shared_copy


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_a_shared_copy_is_refused_by_restore_and_written_only_with_consent(tmp_path):
    chip = tmp_path / "chip.bin"
    port = f"sim://bk7231n?time_scale=0&image={chip}"
    backup = tmp_path / "plug.bin"
    assert run("backup", "-p", port, "-o", str(backup)).exit_code == 0
    assert run("backup", "share", str(backup)).exit_code == 0
    shared = tmp_path / "plug.shared.bin"
    original = chip.read_bytes()
    assert shared_copy(backup.read_bytes()) is None
    assert "stand-ins" in (shared_copy(shared.read_bytes()) or "")

    refused = run("--json", "restore", "-p", port, str(shared))
    record = json.loads(refused.output.strip().splitlines()[-1])
    assert refused.exit_code == SafetyError.exit_code and "not a backup to restore" in record["error"]
    assert "original backup" in record["hint"] and chip.read_bytes() == original  # nothing written

    forced = run("restore", "-p", port, str(shared), "--other-device")
    assert forced.exit_code == 0 and "writing it as asked" in forced.output
    assert chip.read_bytes() == shared.read_bytes()
    assert run("restore", "-p", port, str(backup)).exit_code == 0 and chip.read_bytes() == original
