"""Interruptions and continuing (issue 12 §2): Ctrl-C keeps what was done and says how to go on,
resume continues a backup, backup targets are checked before the chip is touched, files are
private and never replaced, also where the file system has no hard links."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner

from freebeken.cli.main import main
from freebeken.errors import Interrupted
from freebeken.events import ListReporter
from freebeken.flasher import backup as backup_module
from freebeken.flasher import operations as ops
from helpers import firmware_file, sim_flash


def url(tmp_path, chip="bk7231n", **extra) -> str:
    args = "&".join(f"{k}={v}" for k, v in {"time_scale": 0, "image": tmp_path / "chip.bin", **extra}.items())
    return f"sim://{chip}?{args}"


class CtrlCAfter(ListReporter):
    """A person pressing Ctrl-C after ``n`` progress updates of the phase ``phase``."""

    def __init__(self, n: int, phase: str) -> None:
        super().__init__()
        self.n, self.phase, self.current = n, phase, ""

    def emit(self, event) -> None:
        super().emit(event)
        if event.kind == "phase":
            self.current = event.message
        if event.kind == "progress" and self.current.startswith(self.phase):
            self.n -= 1
            if self.n == 0:
                raise KeyboardInterrupt


def private(path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


def test_interrupted_backup_keeps_its_sectors_and_resume_finishes_it(tmp_path):
    out = tmp_path / "mine.bin"
    with ops.open_chip(url(tmp_path), CtrlCAfter(200, "Backup:")) as io:
        with pytest.raises(Interrupted, match=r"sectors are saved in .*mine\.bin\.part") as caught:
            ops.backup(io, out)
        assert "freebeken resume -p PORT" in caught.value.hint and caught.value.exit_code == 130
        part = tmp_path / "mine.bin.part"
        assert part.exists() and private(part) and not out.exists()
    reporter = ListReporter()
    with ops.open_chip(url(tmp_path), reporter) as io:
        result = ops.resume(io)  # a backup, though it went to a folder of the user's choosing
        assert isinstance(result, ops.BackupResult) and result.resumed and result.path == out
        assert out.read_bytes() == sim_flash(io)
    assert any("Resuming the backup" in e.message for e in reporter.kinds("info"))
    assert private(out) and private(tmp_path / "mine.bin.json") and not part.exists()
    with ops.open_chip(url(tmp_path), ListReporter()) as io:
        assert ops.resume(io) is None


def test_ctrl_c_in_the_cli_says_what_was_kept_and_the_exact_command(tmp_path):
    fw, _ = firmware_file(tmp_path, "bk7231n")
    port = url(tmp_path)
    pressed = url(tmp_path, ctrl_c_after=190)  # the simulator's Ctrl-C: in the writing phase
    result = CliRunner().invoke(main, ["flash", "-p", pressed, "--no-backup", str(fw)])
    assert result.exit_code == 130, result.output
    assert "Flash interrupted:" in result.output and "sectors are written and verified" in result.output
    assert f"freebeken resume -p '{pressed}'" in result.output
    again = CliRunner().invoke(main, ["resume", "-p", port])
    assert again.exit_code == 0 and "all verified" in again.output
    assert CliRunner().invoke(main, ["verify", "-p", port, str(fw)]).exit_code == 0


def test_backup_output_is_checked_before_the_chip_is_touched(tmp_path):
    dead = "sim://bk7231n?time_scale=0&dead=1"  # linking would fail with exit 4
    runner = CliRunner()
    missing = runner.invoke(main, ["backup", "-p", dead, "-o", str(tmp_path / "no-such-folder" / "b.bin")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert not (tmp_path / "no-such-folder").exists()
    existing = tmp_path / "b.bin"
    existing.write_bytes(b"precious")
    taken = runner.invoke(main, ["backup", "-p", dead, "-o", str(existing)])
    assert taken.exit_code == 2 and "never overwrites" in taken.output and existing.read_bytes() == b"precious"


def test_backups_work_without_hard_links_and_still_never_replace(tmp_path, monkeypatch):
    def no_links(*_):
        raise PermissionError(1, "Operation not permitted")  # what FAT/exFAT and some SMB shares answer

    monkeypatch.setattr(os, "link", no_links)
    with ops.open_chip(url(tmp_path), ListReporter()) as io:
        result = ops.backup(io)
        assert result.path.read_bytes() == sim_flash(io) and private(result.path)
        assert not list(result.path.parent.glob("*.part"))
        target = tmp_path / "taken.bin"
        target.write_bytes(b"precious")
        with pytest.raises(FileExistsError):
            backup_module.publish(result.path, target)
        assert target.read_bytes() == b"precious" and result.path.exists()


def test_journals_and_conversion_state_are_private(tmp_path, monkeypatch, home):
    from freebeken.convert.journey import Journey
    from freebeken.flasher.journal import Journal

    journal = Journal(home / "journals" / "x.json", {"done": []})
    journal.save()
    state = Journey.of_identity("BK7231T-C8478C43F310")
    state.skip_home_assistant()
    assert private(journal.path) and private(state.path)


def test_phases_name_their_operation_and_keep_their_order_without_a_terminal(tmp_path):
    """Output to a log or pipe: each phase names its operation ("Flash: writing"), and what a step
    prints comes after its phase line, in the order it happened."""
    fw, _ = firmware_file(tmp_path, "bk7231n")
    result = CliRunner().invoke(main, ["flash", "-p", url(tmp_path), "--no-backup", str(fw)])
    assert result.exit_code == 0, result.output
    lines = [ln.strip() for ln in result.output.splitlines()]
    order = [
        next(i for i, ln in enumerate(lines) if ln.startswith(text))
        for text in (
            "> Flash: comparing with the chip",
            "Flash: comparing with the chip:",
            "98 sectors to write",
            "Lifting flash write protection",
            "> Flash: writing",
            "Flash: writing: 0.38 MiB",
            "Flash write protection restored",
        )
    ]
    assert order == sorted(order)


def test_the_demo_prints_no_python_reprs():
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0 and "{'" not in result.output and "['" not in result.output


def test_ctrl_c_while_comparing_says_how_to_continue(tmp_path):
    """Not only while writing: a Ctrl-C in the comparison says what was kept and how to go on."""
    fw, _ = firmware_file(tmp_path, "bk7231n")
    result = CliRunner().invoke(main, ["flash", "-p", url(tmp_path, ctrl_c_after=70), "--no-backup", str(fw)])
    text = " ".join(result.output.split())
    assert result.exit_code == 130 and "Flash interrupted: 0 sectors are written and verified (recorded in" in text
    assert "freebeken resume -p" in text
    again = CliRunner().invoke(main, ["resume", "-p", url(tmp_path)])
    assert again.exit_code == 0 and "sectors written, all verified" in again.output, again.output
