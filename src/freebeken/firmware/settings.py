"""What a person asks for (Wi-Fi, broker, name, pins, startup command, flags), checked and put
into an OpenBeken configuration. Pure: the flasher writes the result, the CLI and the web page
collect the input.

The checks are the ones the firmware or the network would otherwise fail on silently: a Wi-Fi
name longer than 802.11 allows, a WPA password the access point cannot accept, text longer than
the firmware's fixed fields, a template with pins the chip does not have.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from ..errors import UsageError
from ..mqtt_address import Broker
from ..templates.model import Template, validate
from ..templates.roles import ROLE_IDS
from . import obkconfig
from .names import ha_safe_id, ha_safe_name
from .obkconfig import FLAG_BROADCAST_ON_CONNECT, FLAG_HA_DISCOVERY, ObkConfig


@dataclass
class Settings:
    """Only what is given changes; everything else in the config stays as it was."""

    wifi_ssid: str | None = None
    wifi_password: str | None = None
    broker: Broker | None = None
    name: str | None = None  # the Home Assistant name: client id and short name derive from it
    template: Template | None = None
    startup: str | None = None
    flags: dict[int, bool] = field(default_factory=dict)


def check_wifi(ssid: str, password: str) -> None:
    raw = ssid.encode("utf-8")
    if not raw:
        raise UsageError("The Wi-Fi name is empty", hint="Give the name of your home Wi-Fi (--wifi NAME).")
    if len(raw) > 32:
        raise UsageError(
            f"The Wi-Fi name is {len(raw)} bytes; Wi-Fi names have at most 32",
            hint="Check the name: it is the one your phone shows when it joins.",
        )
    if password == "":
        return  # an open network
    if len(password) == 64 and all(ch in string.hexdigits for ch in password):
        raise UsageError(
            "A 64-digit hex Wi-Fi key does not fit OpenBeken's password field (at most 63 characters)",
            hint="Use the network's passphrase (8 to 63 characters) instead.",
        )
    if not 8 <= len(password) <= 63 or any(not 32 <= ord(ch) < 127 for ch in password):
        raise UsageError(
            f"A WPA Wi-Fi password has 8 to 63 printable ASCII characters; this one has {len(password)}"
            + (" and other characters" if any(not 32 <= ord(ch) < 127 for ch in password) else ""),
            hint="Check for a typo: the plug cannot join with it, and would say nothing.",
        )


def template_pins(template: Template) -> dict[int, tuple[int, int, int]]:
    errors = [p for p in validate(template) if p.severity == "error"]
    unknown = [f"pins.{pin}: {r.role}" for pin, r in template.pins.items() if r.role.lower() not in ROLE_IDS]
    if errors or unknown:
        shown = "; ".join([f"{p.where}: {p.message}" for p in errors] + [f"{u} is no OpenBeken role" for u in unknown])
        raise UsageError(f"The template cannot be written: {shown}", hint="Fix it (freebeken template check FILE) and try again.")
    return {pin: (ROLE_IDS[r.role.lower()], r.channel or 0, r.channel2 or 0) for pin, r in template.pins.items()}


def check(s: Settings) -> None:
    """Every check ``apply`` makes, on a scratch config: bad input is refused before a chip is touched."""
    apply(obkconfig.defaults("BK7231T", bytes(6)), s)


def apply(cfg: ObkConfig, s: Settings) -> list[str]:
    """Put the settings into ``cfg``; returns the fields that changed (names, never values)."""
    before = {f.name: cfg[f.name] for f in obkconfig.FIELDS}
    if s.wifi_ssid is not None:
        password = s.wifi_password or ""
        check_wifi(s.wifi_ssid, password)
        cfg["wifi_ssid"], cfg["wifi_pass"] = s.wifi_ssid, password
    if s.template is not None:
        # as the web app imports a template: all pins cleared, then the template's, its startup command
        pins = template_pins(s.template)
        cfg["channel_types"] = bytes(obkconfig.CHANNELS)
        cfg.set_pins(pins)
        cfg["startup"] = s.template.command
        if s.template.flags is not None:
            cfg["flags"] = s.template.flags
    if s.startup is not None:
        cfg["startup"] = s.startup
    if s.name is not None:
        cid = ha_safe_id(s.name)
        cfg["short_name"], cfg["mqtt_client"], cfg["long_name"] = cid, cid, ha_safe_name(s.name)
    if s.broker is not None:
        b = s.broker
        cfg["mqtt_host"], cfg["mqtt_port"] = b.host, b.port
        if b.user is not None:  # no user: the broker lets anyone in; the firmware's default stays
            cfg["mqtt_user"], cfg["mqtt_pass"] = b.user, b.password or ""
        cfg.set_flag(FLAG_BROADCAST_ON_CONNECT)
        cfg.set_flag(FLAG_HA_DISCOVERY)  # the first boot announces itself to Home Assistant
    for bit, on in s.flags.items():
        if not 0 <= bit < 64:
            raise UsageError(f"Flag {bit} does not exist", hint="OpenBeken's flags are numbered 0 to 63.")
        cfg.set_flag(bit, on)
    problems = cfg.problems()
    if problems:
        raise UsageError(
            "The configuration would not load: " + "; ".join(problems), hint="Give those values within their limits."
        )
    return [name for name, value in before.items() if cfg[name] != value]
