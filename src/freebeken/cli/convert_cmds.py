"""``freebeken convert`` and ``freebeken firmware list|fetch|stand-in``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from ..chips import CHIPS, chip_by_name
from ..convert.journey import offline
from ..convert.wizard import Options, convert
from ..device.client import AP_ADDRESS
from ..firmware.releases import ReleaseError, list_releases
from ..firmware.releases import fetch as do_fetch
from ..ha.broker import Broker
from ..sim.release import standin_release
from .base import Context, command_errors
from .options import PORT_HELP, baud_option, parse_baud, settings_from
from .prompts import TerminalAsker, TerminalPerson


@click.command("convert")
@click.option("-p", "--port", help=PORT_HELP + " Not needed to continue once the plug was flashed.")
@baud_option
@click.option(
    "--firmware",
    type=click.Path(exists=True, dir_okay=False),
    help="A local OpenBeken release file (default: download the newest).",
)
@click.option("--skip-backup", is_flag=True, help="Flash without a backup (asks for confirmation).")
@click.option(
    "--chip", default=None, help="rtl8720cf (Tuya WBR2/WBR3) or ln882h on a real port (sim:// URLs name it); default: a Beken."
)
@click.option("--wifi-ssid", help="Your home Wi-Fi name.")
@click.option("--wifi-password", help="Your home Wi-Fi password.")
@click.option("--ap-address", default=AP_ADDRESS, show_default=True, help="The plug's address in access-point mode.")
@click.option("--device", help="The plug's address on your network once it joined (default: found by its MAC).")
@click.option("--network", metavar="CIDR", help="Where to look for the plug, e.g. 192.168.1.0/24 (default: this computer's /24).")
@click.option("--http-port", default=80, show_default=True, help="The plug's web port when looking for it.")
@click.option("--broker", help="mqtt://[user:password@]host[:port] to set up Home Assistant.")
@click.option("--name", help="Device name for Home Assistant.")
@click.option(
    "--template",
    "template_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Pins from a template file or devices.json entry (default: from the backup).",
)
@click.option(
    "--configure/--no-configure",
    "configure",
    default=None,
    help="Write Wi-Fi, broker and pins while flashing, so the plug's first boot needs no access point (default: when --wifi-ssid and --broker are given).",
)
@click.option(
    "--product",
    help='What the box says (e.g. "Aoycocr U3"): looked up in the public lists first (known template? no soldering?).',
)
@click.option("--cloudcutter", "cutter_file", help="tuya-cloudcutter's list (default: the downloaded copy).")
@click.option("--devices-json", help="OpenBeken's devices.json to recognise the plug in (default: the downloaded copy).")
@click.option(
    "--first-boot-wait", default=180.0, show_default=True, help="Seconds to wait for the configured plug on the broker."
)
@click.option("-y", "--yes", "assume_yes", is_flag=True, help="Do not wait for Enter between steps.")
@click.option(
    "--forget", is_flag=True, help="Start this plug's conversion over: the steps it remembers are forgotten (its backups stay)."
)
@click.pass_obj
@command_errors
def convert_cmd(
    ctx: Context,
    port: str,
    baud: str,
    firmware: str | None,
    skip_backup: bool,
    chip: str | None,
    wifi_ssid: str | None,
    wifi_password: str | None,
    ap_address: str,
    device: str | None,
    network: str | None,
    http_port: int,
    broker: str | None,
    name: str | None,
    template_file: str | None,
    configure: bool | None,
    product: str | None,
    cutter_file: str | None,
    devices_json: str | None,
    first_boot_wait: float,
    assume_yes: bool,
    forget: bool,
) -> None:
    """From a stock Tuya plug to OpenBeken in Home Assistant. Run it again to continue after a stop
    (--device gives the plug's new address; --forget starts its conversion over).

    With --wifi-ssid and --broker, the Wi-Fi, broker, name and pins are written while flashing: the
    plug's first boot joins your Wi-Fi and appears in Home Assistant, with no access-point step."""
    settings = None
    if configure or (configure is None and wifi_ssid and broker):  # passwords asked now, not after the backup
        settings = settings_from(wifi_ssid, wifi_password, broker, name, template_file, None, ())
    options = Options(
        port=port,
        chip=chip,
        baudrate=parse_baud(baud),
        firmware=firmware,
        skip_backup=skip_backup,
        wifi_ssid=wifi_ssid,
        wifi_password=settings.wifi_password if settings else wifi_password,
        ap_address=ap_address,
        device=device,
        network=network,
        http_port=http_port,
        broker=settings.broker if settings and settings.broker else Broker.from_url(broker) if broker else None,
        name=name,
        pin_finder_asker=TerminalAsker(),
        configure=configure,
        template=settings.template if settings else None,
        first_boot_wait=first_boot_wait,
        devices_json=devices_json,
        product=product,
        cloudcutter=cutter_file,
        forget=forget,
        power_simulated=True,
    )
    result = convert(options, TerminalPerson(assume_yes), ctx.reporter)
    ctx.reporter.close()
    if ctx.json:
        ctx.result({"ok": True, **result})
        return
    ctx.console.print(f"\n[bold]Conversion report[/] ({result['path']})")
    for step, done in result["steps"].items():
        ctx.console.print(f"  {'[green]done[/]' if done else '[dim]skipped[/]'}  {step.replace('_', ' ')}")
    if result.get("known_as"):
        ctx.console.print(f"  known as:   {escape(result['known_as'])}")
    ctx.console.print(f"  backup:     {escape(str(result['backup']))}")
    ctx.console.print(f"  to restore: {escape(result['restore'])}")
    if result["template"]:
        ctx.console.print(f"  pins:       {result['template']}")
    for entity in result["entities"]:
        ctx.console.print(f"  Home Assistant: {entity}")


FLASH_OWN_FILE = "`freebeken flash -p PORT {name}` flashes it (flash takes a local file)"


@click.group()
def firmware() -> None:
    """OpenBeken release files."""


@firmware.command("list")
@click.option("--chip", type=click.Choice(list(CHIPS), case_sensitive=False), required=True, help="The chip the release is for.")
@click.option("--api-url", help="Releases API (default: OpenBeken's GitHub releases).")
@click.option("--pre", is_flag=True, help="Include pre-releases.")
@click.pass_obj
@command_errors
def list_cmd(ctx: Context, chip: str, api_url: str | None, pre: bool) -> None:
    """Available releases for a chip, newest first."""
    try:
        releases = list_releases(chip, api_url, pre)
    except ReleaseError as e:
        raise offline(e, chip_by_name(chip), FLASH_OWN_FILE) from None
    if ctx.json:
        ctx.result({"ok": True, "releases": [r.__dict__ for r in releases]})
        return
    for r in releases:
        ctx.console.print(f"  {r.version:12} {r.asset} ({r.size // 1024} KiB){' pre-release' if r.prerelease else ''}")


@firmware.command("fetch")
@click.option("--chip", type=click.Choice(list(CHIPS), case_sensitive=False), required=True, help="The chip the release is for.")
@click.option("--version", help="Default: the newest release.")
@click.option("--api-url", help="Releases API (default: OpenBeken's GitHub releases).")
@click.pass_obj
@command_errors
def fetch_cmd(ctx: Context, chip: str, version: str | None, api_url: str | None) -> None:
    """Download (or reuse from the cache) the release file, verified by size and sha256."""
    try:
        path = do_fetch(chip, version, api_url)
    except ReleaseError as e:
        raise offline(e, chip_by_name(chip), FLASH_OWN_FILE) from None
    ctx.console.print(f"firmware: {path}")
    ctx.result({"ok": True, "path": str(path)})


@firmware.command("stand-in")
@click.option("--chip", type=click.Choice(list(CHIPS), case_sensitive=False), required=True, help="The chip the file is for.")
@click.option(
    "-o", "--out", "folder", type=click.Path(file_okay=False), default=".", show_default=True, help="Folder to write it in."
)
@click.pass_obj
@command_errors
def stand_in_cmd(ctx: Context, chip: str, folder: str) -> None:
    """A stand-in OpenBeken release for the simulators (no OpenBeken code inside): shaped as real
    releases are, so the same checks pass; a simulated plug boots it. Never for a real plug."""
    path = standin_release(chip_by_name(chip), Path(folder), version="standin")
    ctx.console.print(f"firmware: {path}", soft_wrap=True, markup=False, highlight=False)  # a path never wraps
    ctx.result({"ok": True, "path": str(path)})
