"""``freebeken fleet ...``: every plug on the broker at once - list, back up, update."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from ..chips import CHIPS
from ..errors import FleetError, UsageError
from .base import Context, command_errors


def broker_option(func):
    func = click.option("--wait", type=float, default=3.0, show_default=True, help="Seconds to wait for the devices' answers.")(
        func
    )
    return click.option("--broker", required=True, help="mqtt://[user[:password]@]host[:port] - the broker the plugs use.")(func)


def password_option(func):
    return click.option("--password", default=None, help="The plugs' web password, if they have one.")(func)


@click.group()
def fleet() -> None:
    """Every OpenBeken device on your broker: list, back up and update them together."""


def _devices(broker_url: str, wait: float, networks: tuple[str, ...] = (), password: str | None = None):
    from ..fleet.inventory import inventory, merge_lan
    from ..ha.broker import Broker

    devices = inventory(Broker.from_url(broker_url), wait)
    if networks:
        from ..device.discover import parse_networks, scan

        devices = merge_lan(devices, scan(parse_networks(list(networks)), password=password))
    return devices


@fleet.command("list")
@broker_option
@click.option("--network", "networks", multiple=True, help="Also look for devices on this LAN (CIDR, repeatable).")
@password_option
@click.pass_obj
@command_errors
def list_cmd(ctx: Context, broker: str, wait: float, networks: tuple[str, ...], password: str | None) -> None:
    """Name, client id, address, MAC, chip, build, online state, uptime and discovery of every device."""
    devices = _devices(broker, wait, networks, password)
    if ctx.json:
        ctx.result({"ok": True, "devices": [d.as_dict() for d in devices]})
        return
    table = Table(box=None)
    for column in ("Name", "Client id", "Address", "MAC", "Chip", "Build", "State", "Uptime", "HA"):
        table.add_column(column)
    for d in devices:
        state = "online" if d.online else "[dim]offline[/]"
        if d.ghost_of:
            state = f"[dim]ghost of {escape(d.ghost_of)} (renamed; fleet prune clears it)[/]"
        if d.online and not d.answered:
            state = "[yellow]online, silent[/]"
        if d.shared_client_id:
            state += f" [red]client id shared by {len(d.macs)} devices[/]"
        uptime = "" if d.uptime is None else f"{d.uptime // 3600}h{d.uptime // 60 % 60:02d}"
        table.add_row(
            escape(d.name), escape(d.client), d.ip, d.mac, d.chip, escape(d.build), state, uptime, str(d.discovery or "")
        )
    ctx.reporter.close()
    ctx.console.print(table)
    ghosts = sum(bool(d.ghost_of) for d in devices)
    ctx.console.print(
        f"{len(devices) - ghosts} device(s), {sum(d.online for d in devices)} online"
        + (f"; {ghosts} ghost(s) of renamed devices" if ghosts else "")
    )


@fleet.command("backup")
@broker_option
@password_option
@click.option(
    "-o", "--output", type=click.Path(file_okay=False, path_type=Path), help="Parent folder (default: freebeken's data folder)."
)
@click.pass_obj
@command_errors
def backup_cmd(ctx: Context, broker: str, wait: float, password: str | None, output: Path | None) -> None:
    """Save every device's configuration (as `device save` does) into a new dated folder, one file per MAC."""
    from ..fleet.backup import backup_fleet, new_folder

    result = backup_fleet(_devices(broker, wait), new_folder(output), password=password, reporter=ctx.reporter)
    ctx.reporter.close()
    if ctx.json:
        ctx.result({"ok": not result.failed, **result.as_dict()})
    else:
        ctx.console.print(f"Saved {len(result.saved)} configuration(s) in {result.folder}")
        for client, why in result.failed.items():
            ctx.console.print(f"  [yellow]not saved[/] {escape(client)}: {escape(why)}")
        for client, why in result.skipped.items():
            ctx.console.print(f"  [dim]skipped[/] {escape(client)}: {escape(why)}")
    if result.failed:
        raise FleetError(
            f"{len(result.failed)} device(s) not backed up", hint="The list above says why; run it again once they are online."
        )


@fleet.command("prune")
@broker_option
@click.pass_obj
@command_errors
def prune_cmd(ctx: Context, broker: str, wait: float) -> None:
    """Clear ghosts: old client ids a rename left on the broker (a retained 'offline' whose discovery names a live device)."""
    from ..fleet.inventory import inventory, prune
    from ..ha.broker import Broker, Session

    with Session(Broker.from_url(broker)) as session:
        ghosts = [d for d in inventory(session.broker, wait, session=session) if d.ghost_of]
        cleared = prune(session, ghosts)
    if ctx.json:
        ctx.result({"ok": True, "ghosts": {g.client: g.ghost_of for g in ghosts}, "cleared": cleared})
        return
    for g in ghosts:
        configs = len(g.config_topics)
        ctx.console.print(f"cleared {escape(g.client)} (a ghost of {escape(g.ghost_of)}): its will and {configs} config(s)")
    if not ghosts:
        ctx.console.print("no ghosts on the broker")


@fleet.command("update")
@broker_option
@password_option
@click.option(
    "--firmware",
    "firmware",
    multiple=True,
    required=True,
    help="An OTA image (Open<chip>_<version>.rbl; one per chip, repeatable), or 'latest' to download each chip's newest.",
)
@click.option(
    "--parallel", type=click.IntRange(1, 64), default=4, show_default=True, help="Devices updated at once after the canary."
)
@click.option("--canary", help="The client id to update first (default: the first in the list).")
@click.option("--reboot-wait", type=float, default=120.0, show_default=True, help="Seconds a device may take to come back.")
@click.option("-y", "--yes", "assume_yes", is_flag=True, help="Do not ask before updating.")
@click.pass_obj
@command_errors
def update_cmd(
    ctx: Context,
    broker: str,
    wait: float,
    password: str | None,
    firmware: tuple[str, ...],
    parallel: int,
    canary: str | None,
    reboot_wait: float,
    assume_yes: bool,
) -> None:
    """Update devices over the air: a configuration backup first, one canary, then the rest; each device is
    verified back online with the new build and the same configuration; the first failure stops the rollout."""
    from ..fleet.update import plan, update_fleet
    from ..ha.broker import Broker, Session

    with Session(Broker.from_url(broker)) as session:
        from ..fleet.inventory import inventory

        devices = inventory(session.broker, wait, session=session)
        images = _images(firmware, {d.chip.upper() for d in devices if d.chip})
        targets, _ = plan(devices, images)
        if targets and not assume_yes and not ctx.json and sys.stdin.isatty():
            names = ", ".join(d.name or d.client for d in targets)
            if not click.confirm(f"Update {len(targets)} device(s) ({names}) over the air?", default=False):
                raise UsageError("Nothing was updated", hint="Pass -y to update without asking.")
        report = update_fleet(
            session,
            devices,
            images,
            password=password,
            parallel=parallel,
            canary=canary,
            reboot_wait=reboot_wait,
            reporter=ctx.reporter,
        )
    ctx.reporter.close()
    if ctx.json:
        ctx.result(report.as_dict())
    else:
        table = Table(box=None)
        for column in ("Client id", "Outcome", "Before", "After", "Why"):
            table.add_column(column)
        for d in report.devices:
            table.add_row(escape(d.client), d.outcome, escape(d.before), escape(d.after), escape(d.why))
        ctx.console.print(table)
        if report.backup:
            ctx.console.print(f"Configuration backup: {report.backup.folder}")
    if not report.ok:
        if report.stopped_by:
            raise FleetError(
                f"The rollout stopped: {report.stopped_by} failed",
                hint="Nothing after the failure was touched. Fix that device (its configuration is in the backup folder: "
                "`freebeken device restore`), then run the update again: devices already on the build are skipped.",
            )
        raise FleetError(
            "Not every device was updated",
            hint="The devices marked 'not updated' say why; fix that and run "
            "the update again (devices already on the build are skipped).",
        )


def _images(firmware: tuple[str, ...], chips: set[str]) -> dict:
    """chip -> OTA image: the files given, and with 'latest' each chip's newest release image
    (a chip the releases have none for gets none: its devices are skipped, said in the report)."""
    from ..firmware.ota import read_ota
    from ..firmware.releases import download, list_releases

    images = {}
    for item in firmware:
        if item.lower() == "latest":
            for chip in sorted(c for c in chips if c.lower() in CHIPS and c not in images):
                releases = list_releases(chip.lower(), ota=True)  # the API lists the newest first
                if releases:
                    path = download(releases[0])
                    images[chip] = read_ota(path.name, path.read_bytes())
            continue
        path = Path(item)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise UsageError(f"Cannot read {path}: {e.strerror}") from None
        image = read_ota(path.name, data)
        if image.chip in images:
            raise UsageError(
                f"Two images for {image.chip}: {images[image.chip].name} and {image.name}", hint="Give one per chip."
            )
        images[image.chip] = image
    return images
