"""``freebeken config read|write|edit``, and the options every command that writes an OpenBeken
configuration shares (``flash --configure``, ``convert``, ``config write``).

Passwords are never required on the command line: a missing one is asked for (hidden), or taken
from FREEBEKEN_WIFI_PASSWORD / FREEBEKEN_MQTT_PASSWORD for scripts. They are never printed."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape

from ..errors import ConfigSectorError, UsageError
from ..firmware import obkconfig
from ..firmware.obkconfig import ObkConfig
from ..firmware.settings import template_pins
from ..flasher.configure import configure, read_config, write_config
from ..templates.model import from_entry
from .base import Context, command_errors
from .options import link_options, parse_baud, settings_from, settings_options

FLAG_NAMES = {10: "publish state on connect", 27: "Home Assistant discovery", 37: "Wi-Fi fast connect"}


# ---- showing a config ----


def show(ctx: Context, cfg: ObkConfig, where: str, show_secrets: bool) -> None:
    data = cfg.as_dict(show_secrets)
    if ctx.json:
        ctx.result({"ok": True, "where": where, "checksum": cfg.variant, **data})
        return
    c = ctx.console
    built = "a plug" if cfg.variant == "arm" else "a simulator build (x86 checksum)"
    c.print(f"[bold]OpenBeken configuration[/] {escape(where)} (version {cfg.version}, checksum right for {built})")

    def secret(name: str) -> str:
        value = data[name]
        return "none" if not value else (repr(value) if show_secrets else "set (hidden)")

    rows = [
        ("Name", f"{data['long_name']!r} (short name {data['short_name']!r})"),
        (
            "Wi-Fi",
            f"{data['wifi_ssid']!r}, password {secret('wifi_pass')}" if data["wifi_ssid"] else "none: it opens an access point",
        ),
        (
            "MQTT",
            f"{data['mqtt_host']}:{data['mqtt_port']}, client {data['mqtt_client']!r}, user {data['mqtt_user']!r}, "
            f"password {secret('mqtt_pass')}"
            if data["mqtt_host"]
            else "no broker",
        ),
        ("Pins", "  ".join(f"P{p} {r}" for p, r in sorted(data["pins"].items(), key=lambda i: int(i[0]))) or "none"),
        ("Flags", ", ".join(f"{b}" + (f" ({FLAG_NAMES[b]})" if b in FLAG_NAMES else "") for b in data["flags_on"]) or "none"),
        ("Startup", repr(data["startup"]) if data["startup"] else "none"),
        ("Web password", secret("web_password")),
    ]
    for label, value in rows:
        c.print(f"  [bold]{label:13}[/] {escape(value)}")
    for problem in cfg.problems():
        c.print(f"  [yellow]problem:[/] {escape(problem)}")


def from_file(path: str) -> tuple[ObkConfig, str]:
    """A 4 KiB sector file, or a whole-flash dump (its layout says which chip)."""
    from ..chips import dump  # here: flash, which shares these options, does not need it

    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise UsageError(f"Cannot read {path}: {e.strerror}") from None
    if len(data) == obkconfig.SECTOR:
        return obkconfig.parse(data, path), path
    if len(data) != dump.FLASH:
        raise UsageError(
            f"{path} is {len(data)} bytes: neither a 4 KiB configuration sector nor a 2 MiB flash dump",
            hint="Give a backup (freebeken backup) or the sector itself (freebeken read --start 0x1E1000 "
            "--length 0x1000 -o cfg.bin; 0x1D1000 on BK7231N).",
        )
    image = dump.normalise(data).image
    chip = dump.chip_by_layout(image)
    if chip not in obkconfig.ADDRESS:
        raise ConfigSectorError(
            f"{path} has no Beken RF calibration sector: cannot tell where its configuration is",
            hint="Give the 4 KiB configuration sector itself instead (freebeken read ... -o cfg.bin).",
        )
    at = obkconfig.ADDRESS[chip]
    where = f"{path} at 0x{at:X} ({chip})"
    return obkconfig.parse(image[at : at + obkconfig.SECTOR], where), where


@click.group("config")
def config() -> None:
    """Read and change the OpenBeken configuration of a converted chip over UART (or in a dump)."""


def _beken_only(port: str) -> None:
    """OpenBeken keeps its configuration where and as the Beken loader reaches it only on Beken chips."""
    from ..families.registry import family_of

    spec = family_of(port)
    if spec is not None:
        chip = spec.name.upper()
        raise UsageError(
            f"config reads and writes OpenBeken's configuration over the Beken loader; this port is an {chip}",
            hint=f"Power the {chip} on without the boot pin and set it over the network instead: join the access point "
            "OpenBeken opens (http://192.168.4.1), or once it is on your Wi-Fi, `freebeken device info HOST` and "
            "`freebeken ha setup HOST`.",
        )


@config.command("read")
@click.option("-p", "--port", help="Serial port or simulator URL of the chip.")
@click.option("-b", "--baud", default="auto", show_default=True, help="Baud rate: auto or a number.")
@click.option("-t", "--timeout", default=15.0, show_default=True, help="Seconds to keep trying to link.")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--show-secrets", is_flag=True, help="Show the Wi-Fi, MQTT and web passwords.")
@click.pass_obj
@command_errors
def read_cmd(ctx: Context, port: str | None, baud: str, timeout: float, file: str | None, show_secrets: bool) -> None:
    """Show the configuration the firmware loads at boot: from the chip (-p PORT) or a dump FILE."""
    from ..flasher import operations as ops

    if bool(port) == bool(file):
        raise UsageError(
            "Give either -p PORT or a dump FILE",
            hint="freebeken config read -p /dev/ttyUSB0, or freebeken config read backup.bin",
        )
    if file:
        cfg, where = from_file(file)
    else:
        assert port is not None  # exactly one of the two was given (checked above)
        _beken_only(port)
        with ops.open_chip(port, ctx.reporter, baudrate=parse_baud(baud), timeout=timeout) as io:
            cfg, where = read_config(io), f"on the chip at 0x{obkconfig.ADDRESS[io.chip.name]:X}"
        ctx.reporter.close()
    show(ctx, cfg, where, show_secrets)


@config.command("write")
@link_options
@settings_options
@click.pass_obj
@command_errors
def write_cmd(ctx: Context, port: str, baud: str, timeout: float, no_reset: bool, **options) -> None:
    """Change fields of the chip's OpenBeken configuration; the rest stays as it is."""
    from ..flasher import operations as ops

    _beken_only(port)
    settings = settings_from(**options)
    with ops.open_chip(port, ctx.reporter, baudrate=parse_baud(baud), timeout=timeout, auto_reset=not no_reset) as io:
        result = configure(io, settings)
    ctx.reporter.close()
    if ctx.json:
        ctx.result({"ok": True, **result.as_dict()})
    elif result.written:
        ctx.console.print(f"[bold green]done:[/] configuration written and read back ({', '.join(result.changed)})")
    else:
        ctx.console.print("[bold green]done:[/] nothing to change")


EDITABLE = (
    "wifi_ssid",
    "wifi_pass",
    "wifi_ssid2",
    "wifi_pass2",
    "mqtt_host",
    "mqtt_port",
    "mqtt_client",
    "mqtt_user",
    "mqtt_pass",
    "mqtt_group",
    "short_name",
    "long_name",
    "startup",
    "web_password",
    "flags",
    "pins",
)
UNCHANGED = "(unchanged)"


def edit_document(cfg: ObkConfig, show_secrets: bool) -> str:
    data = cfg.as_dict(show_secrets=True)
    doc = {k: (UNCHANGED if k in obkconfig.SECRETS and data[k] and not show_secrets else data[k]) for k in EDITABLE}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def apply_edit(cfg: ObkConfig, text: str) -> list[str]:
    """Put an edited document back; returns what changed. Nothing is changed on an error."""
    from ..templates.model import parse_json

    doc = parse_json(text, "the edited configuration")
    if not isinstance(doc, dict):
        raise UsageError("The edited configuration must stay a JSON object {...}", hint="Keep the braces around the fields.")
    unknown = sorted(set(doc) - set(EDITABLE))
    if unknown:
        raise UsageError(f"Unknown fields: {', '.join(unknown)}", hint=f"Editable fields: {', '.join(EDITABLE)}.")
    trial = ObkConfig(cfg.raw, cfg.variant)
    before = cfg.as_dict(show_secrets=True)
    for key, value in doc.items():
        if value == UNCHANGED and key in obkconfig.SECRETS:
            continue
        if key == "pins":
            template, problems = from_entry({"pins": value})
            errors = [str(p) for p in problems if p.severity == "error"]
            if errors:
                raise UsageError(
                    "; ".join(errors), hint='Pins are written like {"7": "Rel;1"} (freebeken template roles lists the roles).'
                )
            trial.set_pins(template_pins(template))
        elif key == "flags" and not isinstance(value, int):
            raise UsageError(f"flags must be a number, not {value!r}", hint="Write the number without quotes, e.g. 134218752.")
        else:
            trial[key] = value
    if trial.problems():
        raise UsageError("The edited configuration would not load: " + "; ".join(trial.problems()), hint="Fix those fields.")
    cfg.raw[:] = trial.raw
    after = cfg.as_dict(show_secrets=True)
    return [k for k in EDITABLE if before.get(k) != after.get(k)]


@config.command("edit")
@link_options
@click.option("--show-secrets", is_flag=True, help="Put the passwords into the editor too (default: '(unchanged)').")
@click.option("-y", "--yes", "assume_yes", is_flag=True, help="Write without asking.")
@click.pass_obj
@command_errors
def edit_cmd(ctx: Context, port: str, baud: str, timeout: float, no_reset: bool, show_secrets: bool, assume_yes: bool) -> None:
    """Edit the chip's OpenBeken configuration in your editor ($EDITOR), then write it back."""
    from ..flasher import operations as ops

    with ops.open_chip(port, ctx.reporter, baudrate=parse_baud(baud), timeout=timeout, auto_reset=not no_reset) as io:
        cfg = read_config(io)
        ctx.reporter.close()
        text = edit_document(cfg, show_secrets)
        while True:
            edited = click.edit(text, extension=".json", require_save=True)
            if edited is None:
                ctx.console.print("Not saved: nothing changed.")
                return
            text = edited
            try:
                changed = apply_edit(cfg, text)
                break
            except UsageError as e:  # the edit is kept: back into the editor with it, not lost
                ctx.console.print(f"[red]{escape(str(e))}[/]")
                if assume_yes or not click.confirm("Edit it again (your text is kept)?", default=True):
                    raise
        if not changed:
            ctx.console.print("Nothing changed.")
            return
        if not assume_yes and not click.confirm(f"Write these changes: {', '.join(changed)}?", default=True):
            ctx.console.print("Not written.")
            return
        write_config(io, cfg)
    ctx.reporter.close()
    ctx.console.print(f"[bold green]done:[/] configuration written and read back ({', '.join(changed)})")
