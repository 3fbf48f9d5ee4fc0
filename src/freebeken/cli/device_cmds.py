"""``freebeken device ...`` and ``freebeken pins find``."""

from __future__ import annotations

import json
import re
import shlex
from datetime import datetime
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from ..device.client import AP_ADDRESS, DeviceInfo, ObkClient
from ..device.config import DeviceConfig, apply_template, restore_config, save_config
from ..device.discover import display_mac, find_mac, local_networks, parse_networks
from ..device.pinfinder import Asker, PinFinder
from ..errors import DeviceUnreachable, DriverNotRunning, UsageError
from ..storage import atomic_write, data_dir
from ..templates.files import load_template_file
from ..templates.model import from_entry
from .base import Context, command_errors
from .prompts import TerminalAsker


def device_options(func):
    func = click.option("--password", envvar="FREEBEKEN_DEVICE_PASSWORD", help="Web password (user is always admin).")(func)
    func = click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait for the device.")(func)
    return click.argument("host")(func)


@click.group()
def device() -> None:
    """Talk to a device running OpenBeken (HOST = IP address, or host:port)."""


@device.command()
@device_options
@click.pass_obj
@command_errors
def info(ctx: Context, host: str, password: str | None, timeout: float) -> None:
    """Chip, names, MQTT, flags, startup command."""
    data = ObkClient(host, password, timeout).info().__dict__
    data["mac"] = display_mac(data["mac"])
    if ctx.json:
        ctx.result({"ok": True, **data})
        return
    for key, value in data.items():
        ctx.console.print(f"  [bold]{key:16}[/] {escape(str(value))}")


@device.command("find")
@click.option(
    "--network",
    "networks",
    multiple=True,
    metavar="CIDR",
    help="Network(s) to search, e.g. 192.168.1.0/24 (default: this computer's /24).",
)
@click.option("--port", default=80, show_default=True, help="HTTP port of the devices.")
@click.option("--mac", help="Only the device with this MAC (as `device info` or the backup shows it).")
@click.option("--wait", type=float, help="Keep looking this many seconds for --mac (default 30: a plug may be restarting).")
@click.option("--password", envvar="FREEBEKEN_DEVICE_PASSWORD", help="Web password, to identify locked devices.")
@click.pass_obj
@command_errors
def find_devices(
    ctx: Context, networks: tuple[str, ...], port: int, mac: str | None, wait: float | None, password: str | None
) -> None:
    """Find OpenBeken devices on your network (asks every address for /api/info)."""
    nets = parse_networks(list(networks)) if networks else local_networks()
    search = find_mac([mac] if mac else [], nets, port, password, 30.0 if wait is None else wait, ctx.reporter)
    if mac and search.match is None:
        raise DeviceUnreachable(
            f"No device with MAC {mac} answered on {', '.join(map(str, nets))}",
            hint="Is the plug powered and on this Wi-Fi? Pass --network if it is on another subnet.",
        )
    found = [search.match] if search.match else search.seen
    ctx.reporter.close()
    if not found:
        raise DeviceUnreachable(
            f"No OpenBeken device answered on {', '.join(map(str, nets))}",
            hint="Is the plug powered and on this Wi-Fi? Pass --network if it is on another subnet. "
            f"A plug still in access-point mode is at {AP_ADDRESS} on its own Wi-Fi.",
        )
    if ctx.json:
        ctx.result({"ok": True, "devices": [f.as_dict() for f in found]})
        return
    table = Table("address", "name", "chip", "MAC", "firmware")
    for f in found:
        if f.locked:
            table.add_row(f.address, "[dim]needs the web password (--password) to identify[/]", "", "", "")
        else:
            table.add_row(f.address, escape(f.name), f.chipset, display_mac(f.mac), escape(f.build.rpartition("version ")[2]))
    ctx.console.print(table)


@device.command()
@device_options
@click.pass_obj
@command_errors
def pins(ctx: Context, host: str, password: str | None, timeout: float) -> None:
    """Configured pins: role, channel, channel value."""
    p = ObkClient(host, password, timeout).pins()
    rows = [
        {"pin": pin, "role": r, "channel": c, "channel2": c2, "state": p.states[pin]}
        for pin, (r, c, c2) in p.configured().items()
    ]
    if ctx.json:
        ctx.result({"ok": True, "pins": rows})
        return
    if not rows:  # an empty table would say nothing at all
        ctx.console.print(
            f"No pins are configured on {host}: it does not switch anything yet. Find them with "
            f"`freebeken pins find {host}`, or give a template: `freebeken device apply {host} TEMPLATE`.",
            soft_wrap=True,
            markup=False,
        )
        return
    table = Table("GPIO", "role", "channel", "state")
    for row in rows:
        table.add_row(f"P{row['pin']}", str(row["role"]), str(row["channel"]), str(row["state"]))
    ctx.console.print(table)


@device.command()
@device_options
@click.argument("command", nargs=-1, required=True)
@click.pass_obj
@command_errors
def cmd(ctx: Context, host: str, password: str | None, timeout: float, command: tuple[str, ...]) -> None:
    """Run a console command, e.g. `freebeken device cmd HOST Power toggle`."""
    result = ObkClient(host, password, timeout).cmd(" ".join(command))
    if ctx.json:
        ctx.result({"ok": True, "result": result})
    else:
        click.echo(json.dumps(result) if isinstance(result, (dict, list)) else result)


@device.command()
@device_options
@click.option("--ssid", required=True, help="Your home Wi-Fi name.")
@click.option("--wifi-password", prompt=True, hide_input=True, help="Your home Wi-Fi password.")
@click.pass_obj
@command_errors
def wifi(ctx: Context, host: str, password: str | None, timeout: float, ssid: str, wifi_password: str) -> None:
    """Give a freshly flashed plug (in access-point mode, usually 192.168.4.1) your Wi-Fi."""
    mac = display_mac(ObkClient(host, password, timeout).join_wifi(ssid, wifi_password))
    if not ctx.json:
        ctx.console.print(
            f"Wi-Fi set; the plug restarts and joins {ssid!r}. Back on that Wi-Fi, find it with "
            f"`freebeken device find --mac {mac}`."
        )
    ctx.result({"ok": True, "ssid": ssid, "mac": mac})


@device.command()
@device_options
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to save the configuration (JSON).",
)
@click.pass_obj
@command_errors
def save(ctx: Context, host: str, password: str | None, timeout: float, output: Path) -> None:
    """Save pins, flags and startup command to a file (for `device restore`)."""
    if output.exists():
        raise UsageError(f"{output} already exists", hint="Choose another -o name.")
    config = save_config(ObkClient(host, password, timeout))
    atomic_write(output, config.to_json().encode())
    if not ctx.json:
        ctx.console.print(f"saved {len(config.pins)} pins to {output}")
    ctx.result({"ok": True, "path": str(output), "pins": len(config.pins), "device": config.device})


@device.command()
@device_options
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--other-device", is_flag=True, help="Restore although the save is from another device (other MAC or chip).")
@click.pass_obj
@command_errors
def restore(ctx: Context, host: str, password: str | None, timeout: float, file: str, other_device: bool) -> None:
    """Put a configuration saved with `device save` back, and verify it."""
    client = ObkClient(host, password, timeout)
    saved = DeviceConfig.from_json(Path(file).read_text())
    differences = other_device_differences(saved, client.info()) if not other_device else []
    if differences:
        raise UsageError(
            f"{file} was saved from another device ({'; '.join(differences)}): nothing was changed",
            hint="Pins differ between boards: restore a save of this device. To put it on this one anyway, add --other-device.",
        )
    restore_config(client, saved)
    if not ctx.json:
        ctx.console.print("restored and verified")
    ctx.result({"ok": True})


@device.command()
@device_options
@click.argument("template_file")
@click.option("--wipe-scripts", is_flag=True, help="Also format LittleFS (the web app does; it deletes scripts).")
@click.option("--save-to", type=click.Path(dir_okay=False, path_type=Path), help="Where to keep the previous configuration.")
@click.pass_obj
@command_errors
def apply(
    ctx: Context, host: str, password: str | None, timeout: float, template_file: str, wipe_scripts: bool, save_to: Path | None
) -> None:
    """Apply a template (file, devices.json entry, analyze --json output or a backup), verified."""
    template = load_template_file(template_file)
    errors = [p for p in from_entry(template.to_entry())[1] if p.severity == "error"]
    if errors:
        raise UsageError("The template has errors: " + "; ".join(map(str, errors)))
    if save_to is not None and save_to.exists():  # before the device is changed
        raise UsageError(f"{save_to} already exists", hint="Choose another --save-to name; freebeken does not overwrite files.")
    client = ObkClient(host, password, timeout)
    try:
        outcome = apply_template(client, template, wipe_scripts)
    except DriverNotRunning as e:  # the pins are applied: the safety copy is still owed
        outcome = e.outcome  # type: ignore[attr-defined]
        target = save_to or _safety_copy_path(outcome.saved.device.get("short_name") or "device")
        atomic_write(target, outcome.saved.to_json().encode())
        e.hint = f"{e.hint} The previous configuration is saved to {target}."
        raise
    saved, sent = outcome
    target = save_to or _safety_copy_path(saved.device.get("short_name") or "device")
    atomic_write(target, saved.to_json().encode())
    if not ctx.json:
        ctx.console.print(f"applied and verified ({len(sent)} commands); previous configuration saved to {target}")
        for line in outcome.lines():
            ctx.console.print(f"  drivers: {escape(line)}")
        ctx.console.print(f"put it back with: freebeken device restore {host} {shlex.quote(str(target))}", soft_wrap=True)
    ctx.result(
        {
            "ok": True,
            "commands": sent,
            "previous": str(target),
            "drivers": sorted(outcome.running),
            "started": outcome.started,
            "stopped": outcome.stopped,
            "restarted": outcome.restarted,
        }
    )


def other_device_differences(saved: DeviceConfig, info: DeviceInfo) -> list[str]:
    """Why a save is not this device's (MAC, chip); [] when it is, or the save does not say."""
    out = []
    mac = saved.device.get("mac", "")
    if mac and info.mac and mac.lower().replace(":", "") != info.mac.lower().replace(":", ""):
        out.append(f"MAC {display_mac(mac)}, this device is {display_mac(info.mac)}")
    chip = saved.device.get("chipset", "")
    if chip and info.chipset and chip != info.chipset:
        out.append(f"chip {chip}, this device is {info.chipset}")
    return out


def _safety_copy_path(name: str) -> Path:
    """In freebeken's data folder, not wherever the command happened to run; never reused."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:40] or "device"
    return data_dir() / "device-configs" / f"{safe}-before-template-{stamp}.json"


class AnswersAsker:
    """Answers from a file: {"outputs": {"7": "relay", "1": "led"}, "on": {"1": false},
    "colours": {"26": "r"}} - buttons are then asked for on the terminal unless "buttons": 0."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.terminal = TerminalAsker()

    def what_happened(self, pin: int) -> str:
        return str(self.data.get("outputs", {}).get(str(pin), "nothing"))

    def is_on(self, pin: int, part: str) -> bool:
        return bool(self.data.get("on", {}).get(str(pin), True))

    def colour(self, pin: int) -> str:
        return str(self.data.get("colours", {}).get(str(pin), "w"))

    def press_button(self, number: int, again: bool) -> bool:
        if number > int(self.data.get("buttons", 1)):
            return False
        return self.terminal.press_button(number, again)


@click.group("pins")
def pins_group() -> None:
    """Find which GPIO is the relay, LED and button."""


@pins_group.command()
@device_options
@click.option("--answers", help="A JSON file of answers, or 'sim' for a simulated device's virtual person.")
@click.option("--known", multiple=True, help="Pins already known, e.g. --known '7=Rel;1' (from `analyze`).")
@click.option("--skip", multiple=True, type=int, help="GPIOs not to touch.")
@click.option("--pulse", default=0.4, show_default=True, help="Seconds per on/off while pulsing.")
@click.option("-y", "--yes", "assume_yes", is_flag=True, help="Apply the result without asking.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the template here.")
@click.pass_obj
@command_errors
def find(
    ctx: Context,
    host: str,
    password: str | None,
    timeout: float,
    answers: str | None,
    known: tuple[str, ...],
    skip: tuple[int, ...],
    pulse: float,
    assume_yes: bool,
    output: Path | None,
) -> None:
    """Pulse each pin and ask what happened; then find the buttons; propose and apply a template."""
    client = ObkClient(host, password, timeout)
    if answers == "sim":
        from ..sim.obk.person import VirtualPerson

        virtual = VirtualPerson(host, password)
        virtual.check()  # a real plug has no virtual board: refused before any pin is touched
        asker: Asker = virtual
    elif answers:
        asker = AnswersAsker(json.loads(Path(answers).read_text()))
    else:
        asker = TerminalAsker()
    known_pins = from_entry({"pins": dict(k.split("=", 1) for k in known)})[0].pins if known else {}
    result = PinFinder(client, asker, ctx.reporter, pulse=pulse).run(set(skip), known_pins)
    ctx.reporter.close()
    entry = result.template.to_entry()
    if not ctx.json:
        ctx.console.print("[bold]Proposed template[/]: " + json.dumps(entry["pins"]))
        for note in result.notes:
            ctx.console.print(f"  [yellow]note:[/] {escape(note)}")
    if output:
        atomic_write(output, (json.dumps(entry, indent=2) + "\n").encode())
    applied = False
    if entry["pins"] and (assume_yes or (not ctx.json and click.confirm("Apply it to the device now?", default=True))):
        outcome = apply_template(client, result.template)
        applied = True
        if not ctx.json:
            ctx.console.print("[green]applied and verified[/]")
            for line in outcome.lines():
                ctx.console.print(f"  drivers: {escape(line)}")
    ctx.result({"ok": True, "template": entry, "notes": result.notes, "applied": applied})
