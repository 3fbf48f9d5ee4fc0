"""``backup share BACKUP.bin``: a copy of a backup without the owner's secrets, for the community.

``backup`` stays the command that reads a chip (``backup -p PORT``); this module makes it a
group whose one subcommand is ``share``: any other arguments go to the reading command as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from .base import Context, command_errors


@click.command()
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--hide-mac", is_flag=True, help="Also replace the MAC's last three bytes (its maker prefix stays).")
@click.option("--force", is_flag=True, help="Write the copy even though some part could not be checked for secrets.")
@click.option("--drop-files", is_flag=True, help="Erase OpenBeken's file system (scripts) in the copy instead of sharing it.")
@click.pass_obj
@command_errors
def share(ctx: Context, backup_file: Path, hide_mac: bool, force: bool, drop_files: bool) -> None:
    """Write BACKUP.shared.bin next to BACKUP_FILE: every secret replaced (Wi-Fi, Tuya keys and
    ids, OpenBeken passwords), everything an analyst reads kept; plus a report of what was
    replaced, the device facts and where to share it. Nothing is sent."""
    from ..tuya.share_files import share_file

    shared = share_file(backup_file, hide_mac=hide_mac, force=force, drop_files=drop_files)
    ctx.reporter.close()
    if ctx.json:
        ctx.result({"ok": True, **shared.as_dict()})
        return
    ctx.console.print(escape(shared.text), soft_wrap=True, highlight=False)
    ctx.console.print(f"[bold green]done:[/] {escape(str(shared.binary))} (report: {escape(str(shared.report))})")


class BackupGroup(click.Group):
    """``backup share FILE`` here; everything else (``backup -p PORT ...``) is the reading command."""

    @property
    def reading_command(self) -> click.Command:
        """``backup -p PORT ...``: what runs when the first argument names no subcommand."""
        from .flash_cmds import backup

        return backup

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            return self.reading_command.make_context(info_name, args, parent=parent, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        if ctx.command is not self:  # the reading command's own context
            return ctx.command.invoke(ctx)
        return super().invoke(ctx)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        read = self.reading_command
        read.format_help(click.Context(read, info_name=ctx.info_name, parent=ctx.parent), formatter)
        self.format_commands(ctx, formatter)


backup = BackupGroup(
    name="backup",
    commands={"share": share},
    short_help="Back up the whole flash; `backup share FILE`: a copy to share.",
)
