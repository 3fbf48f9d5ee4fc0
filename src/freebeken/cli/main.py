"""``freebeken`` entry point: global options, and the commands, each imported only when it runs
(a flash should not pay for importing the web server, MQTT and the Tuya analyser)."""

from __future__ import annotations

import importlib
import sys

import click

from .. import __version__
from .base import Context

# command name -> (module in freebeken.cli, attribute)
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("template_cmds", "analyze"),
    "backup": ("share_cmds", "backup"),  # `backup -p PORT` (flash_cmds) and `backup share FILE`
    "config": ("config_cmds", "config"),
    "convert": ("convert_cmds", "convert_cmd"),
    "demo": ("demo_cmds", "demo"),
    "device": ("device_cmds", "device"),
    "doctor": ("chip_cmds", "doctor"),
    "firmware": ("convert_cmds", "firmware"),
    "flash": ("flash_cmds", "flash"),
    "fleet": ("fleet_cmds", "fleet"),
    "ha": ("ha_cmds", "ha"),
    "info": ("chip_cmds", "info"),
    "lookup": ("known_cmds", "lookup"),
    "pins": ("device_cmds", "pins_group"),
    "ports": ("chip_cmds", "ports"),
    "read": ("flash_cmds", "read"),
    "restore": ("flash_cmds", "restore"),
    "resume": ("flash_cmds", "resume"),
    "sim": ("sim_cmds", "sim"),
    "template": ("template_cmds", "template"),
    "verify": ("flash_cmds", "verify"),
    "web": ("web_cmds", "web"),
}


def _console_safe() -> None:
    """Windows' old console and redirected output write in a code page (cp437, cp1252) that cannot
    hold every character a device name or template may have: those are written as \\uXXXX escapes
    (still valid inside JSON) instead of ending the command with a traceback."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if not encoding.startswith("utf") and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name]
        return getattr(importlib.import_module(f"{__package__}.{module}"), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="freebeken")
@click.option("--json", "json_mode", is_flag=True, help="Print machine-readable JSON lines instead of text.")
@click.option("-v", "--verbose", is_flag=True, help="Show retries and details.")
@click.pass_context
def main(ctx: click.Context, json_mode: bool, verbose: bool) -> None:
    """freebeken: back up, flash and configure smart plugs and bulbs with OpenBeken: Beken (BK7231T/U/N/M,
    BK7238, BK7252N), Realtek RTL8720CF (Tuya WBR2/WBR3: --chip rtl8720cf) and LN882H (--chip ln882h).

    PORT is a serial port (/dev/ttyUSB0, COM3) or a simulator URL such as
    sim://bk7231t?time_scale=0 or sim://rtl8720cf (try everything without a device).
    """
    _console_safe()
    ctx.obj = Context(json_mode, verbose)
