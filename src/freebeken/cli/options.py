"""The options several commands share: how to reach a chip (-p, -b, -t, --no-reset) and the inputs
of an OpenBeken configuration (--wifi, --broker, --name, --template, ...)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..errors import UsageError
from ..firmware.settings import Settings, check
from ..ha.broker import Broker
from ..templates.files import load_template_file

F = TypeVar("F", bound=Callable[..., Any])

PORT_HELP = (
    "Serial port (COM3, /dev/cu.usbserial-1410, /dev/ttyUSB0: `freebeken ports` lists them) or simulator URL (sim://bk7231t)."
)


BAUD_HELP = "Baud rate for the transfer: 'auto' (the fastest that passes a read test) or a number."


def port_option(func: F) -> F:
    return click.option("-p", "--port", required=True, help=PORT_HELP)(func)


def parse_baud(value: str | None) -> int | None:
    """'auto' (or nothing) -> None; otherwise a positive whole number of baud."""
    if value is None or str(value).lower() == "auto":
        return None
    if not str(value).isdigit() or not 9600 <= int(value) <= 6_000_000:
        raise click.BadParameter(f"{value!r} is not a baud rate; use auto or a number such as 921600", param_hint="-b/--baud")
    return int(value)


def baud_option(func: F) -> F:
    return click.option("-b", "--baud", "baud", default="auto", show_default=True, help=BAUD_HELP)(func)


def link_options(func: F) -> F:
    """-p, -b, -t and --no-reset: the same on every command that links with a chip."""
    func = click.option("--no-reset", is_flag=True, help="Do not pulse RTS/DTR; reset the chip by hand.")(func)
    func = click.option("-t", "--timeout", default=15.0, show_default=True, help="Seconds to keep trying to link.")(func)
    return port_option(baud_option(func))


def settings_options(func: F) -> F:
    """The inputs of a configuration; collected by ``settings_from``."""
    opts = [
        click.option("--wifi", "wifi_ssid", metavar="SSID", help="Your home Wi-Fi name: the plug joins it at its first boot."),
        click.option("--wifi-password", help="Its password (asked for when missing; '' for an open network)."),
        click.option(
            "--broker", help="mqtt://[user[:password]@]host[:port]: the plug connects and announces itself to Home Assistant."
        ),
        click.option("--name", help="Device name for Home Assistant (also the MQTT client id, made safe)."),
        click.option(
            "--template",
            "template_file",
            type=click.Path(exists=True, dir_okay=False),
            help="Pins from a template file, a devices.json entry or a backup (default: from this chip's backup).",
        ),
        click.option("--startup", help="OpenBeken startup command (replaces the template's)."),
        click.option(
            "--flag",
            "flag_values",
            multiple=True,
            metavar="N=on|off",
            help="Set an OpenBeken flag, e.g. --flag 27=on. Repeatable.",
        ),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def _secret(given: str | None, env: str, question: str) -> str:
    if given is not None:
        return given
    if env in os.environ:
        return os.environ[env]
    if not sys.stdin.isatty():
        raise UsageError(f"{question} is needed", hint=f"Run in a terminal to type it (hidden), or set {env}.")
    return click.prompt(question, hide_input=True, default="", show_default=False)


def _flags(values: tuple[str, ...]) -> dict[int, bool]:
    out = {}
    for text in values:
        bit, _, state = text.partition("=")
        if not bit.strip().isdigit() or state.strip().lower() not in ("on", "off", "1", "0"):
            raise UsageError(f"--flag {text!r} is not N=on or N=off", hint="For example --flag 27=on.")
        out[int(bit)] = state.strip().lower() in ("on", "1")
    return out


def settings_from(
    wifi_ssid: str | None,
    wifi_password: str | None,
    broker: str | None,
    name: str | None,
    template_file: str | None,
    startup: str | None,
    flag_values: tuple[str, ...],
) -> Settings:
    """The settings, checked against a default config before any chip is touched."""
    target = Broker.from_url(broker) if broker else None
    if target is not None and target.user and target.password is None:
        target = Broker(
            target.host,
            target.port,
            target.user,
            _secret(None, "FREEBEKEN_MQTT_PASSWORD", f"Password of MQTT user {target.user!r}"),
        )
    if wifi_ssid is not None:
        wifi_password = _secret(
            wifi_password, "FREEBEKEN_WIFI_PASSWORD", f"Password of Wi-Fi {wifi_ssid!r} (Enter: open network)"
        )
    s = Settings(
        wifi_ssid=wifi_ssid,
        wifi_password=wifi_password,
        broker=target,
        name=name,
        startup=startup,
        template=load_template_file(template_file) if template_file else None,
        flags=_flags(flag_values),
    )
    check(s)
    return s
