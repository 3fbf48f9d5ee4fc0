"""One spelling per thing on the command line (issue 12 §5): every option explained, every command
that links with a chip takes -b auto|RATE, chip names in any case, errors without tracebacks."""

from __future__ import annotations

import click
from click.testing import CliRunner

from freebeken.cli.main import main
from helpers import free_port


def commands(cmd=main, path=()):
    if isinstance(cmd, click.Group):
        if hasattr(cmd, "reading_command"):  # `backup`: a command of its own as well as `backup share`
            yield " ".join(path), cmd.reading_command
        ctx = click.Context(cmd)
        for name in cmd.list_commands(ctx):
            yield from commands(cmd.get_command(ctx, name), (*path, name))
    else:
        yield " ".join(path), cmd


def test_every_option_has_help_text():
    missing = [(name, p.opts) for name, cmd in commands() for p in cmd.params if isinstance(p, click.Option) and not p.help]
    assert missing == []


def test_every_command_that_links_takes_the_same_baud_option():
    linking = [(name, cmd) for name, cmd in commands() if any(p.opts[:1] == ["-p"] for p in cmd.params)]
    assert {"info", "backup", "flash", "restore", "verify", "read", "resume", "convert"} <= {n for n, _ in linking}
    for name, cmd in linking:
        [baud] = [p for p in cmd.params if p.name == "baud"]
        assert baud.opts == ["-b", "--baud"] and baud.default == "auto", name
    bad = CliRunner().invoke(main, ["info", "-p", "sim://bk7231t?time_scale=0", "-b", "fast"])
    assert bad.exit_code == 2 and "not a baud rate" in bad.output
    fixed = CliRunner().invoke(main, ["--json", "info", "-p", "sim://bk7231t?time_scale=0", "-b", "921600"])
    assert fixed.exit_code == 0 and '"chip": "BK7231T"' in fixed.output


def test_chip_names_in_any_case():
    dead = f"http://127.0.0.1:{free_port()}/releases"
    for spelling in ("BK7231T", "bk7231t", "Bk7231T"):
        result = CliRunner().invoke(main, ["firmware", "list", "--chip", spelling, "--api-url", dead])
        assert result.exit_code == 12, result.output  # got as far as asking the releases: the name was accepted
    info = CliRunner().invoke(main, ["--json", "info", "-p", "sim://BK7231N?time_scale=0"])
    assert info.exit_code == 0 and '"chip": "BK7231N"' in info.output
