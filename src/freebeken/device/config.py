"""Save, restore and apply device configurations (pins, flags, startup command, drivers)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..errors import DeviceError, UsageError
from ..templates.model import PinRole, Template
from .client import STARTUP_LIMIT, ObkClient


@dataclass
class DeviceConfig:
    """What ``device save`` keeps: enough to put the device back exactly."""

    pins: dict[int, PinRole] = field(default_factory=dict)
    flags: int = 0
    startup: str = ""
    values: dict[int, int] = field(default_factory=dict)  # channel values of configured pins
    device: dict[str, str] = field(default_factory=dict)
    drivers: list[str] = field(default_factory=list)  # running when saved (power metering, TuyaMCU...)

    def to_json(self) -> str:
        return json.dumps(
            {
                "freebeken": "device-config",
                "device": self.device,
                "pins": {str(p): r.text() for p, r in sorted(self.pins.items())},
                "flags": self.flags,
                "startup": self.startup,
                "values": {str(k): v for k, v in sorted(self.values.items())},
                "drivers": sorted(self.drivers),
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> "DeviceConfig":
        wrong = "Not a configuration saved by `freebeken device save`"
        hint = "Give the file `freebeken device save` wrote (a template goes to `freebeken device apply`)."
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("freebeken") != "device-config":
                raise UsageError(wrong, hint=hint)
            # roles as the device itself named them (a newer firmware may know more than we do)
            pins = {int(pin): PinRole.parse(spec) for pin, spec in data["pins"].items()}
            if None in pins.values():
                raise UsageError(f"{wrong}: a pin is not written as Role;channel", hint=hint)
            values = {int(k): int(v) for k, v in data["values"].items()}
            drivers = [str(d) for d in data.get("drivers", [])]
            return cls(pins, int(data["flags"]), data["startup"], values, data.get("device", {}), drivers)  # type: ignore[arg-type]
        except (ValueError, KeyError, AttributeError) as e:
            raise UsageError(f"{wrong} ({type(e).__name__}: {e})", hint=hint) from None

    def as_template(self) -> Template:
        return Template(pins=dict(self.pins), flags=self.flags, command=self.startup)


def save_config(client: ObkClient) -> DeviceConfig:
    info = client.info()
    pins = client.pins()
    config = {p: PinRole(r, c, c2 or None) for p, (r, c, c2) in pins.configured().items()}
    values = {pins.channels[p]: pins.states[p] for p in config if p < len(pins.states)}
    device = {"chipset": info.chipset, "mac": info.mac, "short_name": info.short_name}
    return DeviceConfig(config, info.flags, info.startup_command, values, device, sorted(client.drivers()))


@dataclass
class Mismatch:
    what: str
    wanted: str
    found: str

    def __str__(self) -> str:
        return f"{self.what}: wanted {self.wanted}, the device has {self.found}"


def started_by(command: str) -> set[str]:
    """The drivers a startup command starts (``startDriver BL0942`` inside its backlog)."""
    return set(re.findall(r"(?i)\bstartDriver\s+([A-Za-z0-9_]+)", command))


def replay(client: ObkClient, template: Template, wipe_scripts: bool = False, keep: set[str] = frozenset()) -> tuple[list[str], set[str]]:
    """Send the template as the OBK web app does - except ``stopDriver *``: that stops power
    metering, TuyaMCU or NTP until the next reboot, whatever started them. Only the drivers the
    old startup command started and the new one does not are stopped; the new one's (and
    ``keep``) are started now. Returns the commands sent and the drivers that should run."""
    before = client.drivers()
    old, new = started_by(client.info().startup_command), started_by(template.command)
    lines = [ln for ln in template.backlog(wipe=True) if ln != "stopDriver *" and (wipe_scripts or ln != "lfs_format")]
    lines[1:1] = [f"stopDriver {d}" for d in sorted((old - new - set(keep)) & before)]
    sent = []
    for line in lines:
        if line.startswith("StartupCommand ") and template.command:
            client.set_startup_command(template.command)  # stored exactly, quotes included
            sent.append(f"/startup_command {template.command}")
        else:
            client.cmd(line)
            sent.append(line)
    should_run = (before - (old - new - set(keep))) | new | set(keep)
    for driver in sorted(should_run - client.drivers()):
        client.cmd(f"startDriver {driver}")
        sent.append(f"startDriver {driver}")
    return sent, should_run


def verify(client: ObkClient, template: Template, drivers: set[str] = frozenset()) -> list[Mismatch]:
    pins = client.pins()
    info = client.info()
    problems: list[Mismatch] = []
    missing = set(drivers) - client.drivers()
    if missing:
        problems.append(Mismatch("drivers", ", ".join(sorted(drivers)), f"{', '.join(sorted(missing))} not running"))
    wanted = {p: (r.role, r.channel or 0, r.channel2 or 0) for p, r in template.pins.items()}
    found = pins.configured()
    for pin in sorted(set(wanted) | set(found)):
        w, f = wanted.get(pin), found.get(pin)
        if w is not None and (f is None or f[0] != w[0] or f[1] != w[1] or (w[2] and f[2] != w[2])):
            problems.append(Mismatch(f"P{pin}", f"{w[0]};{w[1]}", f"{f[0]};{f[1]}" if f else "nothing"))
        elif w is None and f is not None:
            problems.append(Mismatch(f"P{pin}", "nothing", f"{f[0]};{f[1]}"))
    if template.flags is not None and info.flags != template.flags:
        problems.append(Mismatch("flags", str(template.flags), str(info.flags)))
    if template.command and info.startup_command.replace("\r\n", "\n") != template.command.replace("\r\n", "\n"):
        problems.append(Mismatch("startup command", repr(template.command), repr(info.startup_command)))
    return problems


def apply_template(client: ObkClient, template: Template, wipe_scripts: bool = False) -> tuple[DeviceConfig, list[str]]:
    """Save the current configuration, replay ``template``, read it back. Raises ``DeviceError``
    (with the saved configuration restored) if the device did not take it."""
    if len(template.command.encode()) > STARTUP_LIMIT:  # refused before anything changes
        raise UsageError(f"The template's startup command is {len(template.command.encode())} bytes; OpenBeken keeps at most {STARTUP_LIMIT}",
                         hint="Shorten it, or move it into autoexec.bat on the device's LittleFS.")  # fmt: skip
    saved = save_config(client)
    sent, drivers = replay(client, template, wipe_scripts)
    problems = verify(client, template, drivers)
    if problems:
        restore_config(client, saved)
        raise DeviceError(
            "The device did not take the template: " + "; ".join(map(str, problems)),
            hint="The previous configuration was put back. Check the template (freebeken template check).",
        )
    return saved, sent


def restore_config(client: ObkClient, saved: DeviceConfig) -> None:
    template = saved.as_template()
    _, drivers = replay(client, template, keep=set(saved.drivers))
    for channel, value in saved.values.items():
        client.set_channel(channel, value)
    problems = verify(client, template, drivers)
    if problems:
        raise DeviceError(
            "Restoring the configuration did not stick: " + "; ".join(map(str, problems)),
            hint="Power-cycle the device and restore again; the pins can also be set on its Configure Module page.",
        )
