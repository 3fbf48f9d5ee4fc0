"""``freebeken ha setup|check|remove``."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from ..device.client import ObkClient
from ..errors import HaSetupFailed
from ..ha.broker import Broker
from ..ha.check import check as do_check
from ..ha.check import remove as do_remove
from ..ha.operations import setup as do_setup
from .base import Context, command_errors

BROKER_HELP = "mqtt://[user:password@]host[:port] - the broker Home Assistant uses."


@click.group()
def ha() -> None:
    """Home Assistant via MQTT discovery."""


@ha.command()
@click.argument("host")
@click.option("--broker", required=True, help=BROKER_HELP)
@click.option("--client-id", help="MQTT client id / base topic (default: from the device name).")
@click.option("--name", help="Device name shown in Home Assistant.")
@click.option("--prefix", default="homeassistant", show_default=True, help="Home Assistant's discovery prefix.")
@click.option("--password", envvar="FREEBEKEN_DEVICE_PASSWORD", help="The device's web password.")
@click.option(
    "--timeout",
    default=60.0,
    show_default=True,
    help="Seconds to wait for the device to connect, then for its announcements (it stops as soon as all are in).",
)
@click.pass_obj
@command_errors
def setup(
    ctx: Context,
    host: str,
    broker: str,
    client_id: str | None,
    name: str | None,
    prefix: str,
    password: str | None,
    timeout: float,
) -> None:
    """Point the device at the broker, enable discovery, and verify it end to end."""
    result = do_setup(
        ObkClient(host, password),
        Broker.from_url(broker),
        client_id=client_id,
        name=name,
        prefix=prefix,
        timeout=timeout,
        reporter=ctx.reporter,
    )
    ctx.reporter.close()
    if ctx.json:
        ctx.result({"ok": not result.problems, **result.as_dict()})
    else:
        table = Table("entity id", "type", "name")
        for e in result.entities:
            table.add_row(e.entity_id, e.component, e.name)
        ctx.console.print(
            f"Device [bold]{escape(result.long_name)}[/] on the broker as [bold]{result.client_id}[/]: "
            + ("[green]online[/]" if result.online else "[red]not online[/]")
        )
        ctx.console.print(table)
        ctx.console.print(f"round trip: {escape(result.round_trip)}")
        for topic in result.cleared:
            ctx.console.print(f"[yellow]cleared[/] {escape(topic)} (left on the broker; the device did not announce it now)")
        for problem in result.problems:
            ctx.console.print(f"[red]problem:[/] {escape(problem)}")
    if result.problems:
        raise HaSetupFailed("Home Assistant setup is not complete", hint="Run `freebeken ha check` for a diagnosis.")


@ha.command()
@click.argument("target", metavar="HOST|CLIENT_ID")
@click.option("--broker", required=True, help=BROKER_HELP)
@click.option("--prefix", default="homeassistant", show_default=True, help="Home Assistant's discovery prefix.")
@click.option("--password", envvar="FREEBEKEN_DEVICE_PASSWORD", help="The device's web password (HOST only).")
@click.pass_obj
@command_errors
def check(ctx: Context, target: str, broker: str, prefix: str, password: str | None) -> None:
    """Explain in plain words why a device does (not) show up in Home Assistant (only listens: changes nothing)."""
    diagnoses = do_check(target, Broker.from_url(broker), prefix=prefix, password=password)
    if ctx.json:
        ctx.result({"ok": all(d.ok for d in diagnoses), "diagnoses": [d.__dict__ for d in diagnoses]})
    else:
        for d in diagnoses:
            mark = "[green]ok[/]" if d.ok else f"[red]{d.code}[/]"
            ctx.console.print(f"{mark} {escape(d.message)}")
            if d.hint:
                ctx.console.print(f"   [dim]what to do:[/] {escape(d.hint)}")
    if not all(d.ok for d in diagnoses):
        raise SystemExit(HaSetupFailed.exit_code)


@ha.command()
@click.argument("target", metavar="HOST|CLIENT_ID")
@click.option("--broker", required=True, help=BROKER_HELP)
@click.option("--password", envvar="FREEBEKEN_DEVICE_PASSWORD", help="The device's web password (HOST only).")
@click.pass_obj
@command_errors
def remove(ctx: Context, target: str, broker: str, password: str | None) -> None:
    """Remove the device's entities from Home Assistant: turns its automatic discovery off (HOST) and
    clears its retained discovery configs, earlier names included."""
    result = do_remove(target, Broker.from_url(broker), password=password)
    if ctx.json:
        ctx.result(
            {"ok": True, "cleared": result.cleared, "discovery_off": result.discovery_off, "comes_back": result.comes_back}
        )
        return
    ctx.console.print(f"cleared {len(result.cleared)} discovery configs")
    for topic in result.cleared:
        ctx.console.print(f"  {escape(topic)}")
    if result.discovery_off:
        ctx.console.print(
            "automatic discovery is off on the device: its reboots, IP changes and pin changes announce nothing, "
            "and freebeken itself does not ask a device with it off to announce."
        )
    ctx.console.print("[yellow]They come back if any of these asks the device to announce:[/]")
    for what in result.comes_back:
        ctx.console.print(f"  - {escape(what)}")
