"""Save, restore and apply device configurations (pins, flags, startup command, drivers)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..errors import DeviceError, DriverNotRunning, UsageError
from ..templates.model import PinRole, Template
from . import drivers
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
    def from_json(cls, text: str) -> DeviceConfig:
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


def replay(
    client: ObkClient,
    template: Template,
    wipe_scripts: bool = False,
    keep: frozenset[str] | set[str] = frozenset(),
    stop: frozenset[str] | set[str] = frozenset(),
) -> tuple[list[str], set[str]]:
    """Send the template as the OBK web app does - except ``stopDriver *``: that stops power
    metering, TuyaMCU or NTP until the next reboot, whatever started them. Only ``stop`` (drivers
    the new template no longer implies) is stopped; the drivers it implies (pins and startup
    command, see drivers.py) and ``keep`` are started now: the firmware itself starts pin drivers
    only at boot. Returns the commands sent and the drivers that should run."""
    before = client.drivers()
    info = client.info()
    flags = template.flags if template.flags is not None else info.flags
    want = drivers.implied([r.role for r in template.pins.values()], template.command, flags) | set(keep)
    lines = [ln for ln in template.backlog(wipe=True) if ln != "stopDriver *" and (wipe_scripts or ln != "lfs_format")]
    lines[1:1] = [f"stopDriver {d}" for d in sorted((set(stop) - want) & before)]
    sent = []
    for line in lines:
        if line.startswith("StartupCommand ") and template.command:
            client.set_startup_command(template.command)  # stored exactly, quotes included
            sent.append(f"/startup_command {template.command}")
        else:
            client.cmd(line)
            sent.append(line)
    for driver in sorted(want - client.drivers()):
        client.cmd(f"startDriver {driver}")
        sent.append(f"startDriver {driver}")
    return sent, (before - set(stop)) | want


def verify(client: ObkClient, template: Template) -> list[Mismatch]:
    """The pins, flags and startup command the device reports against the template's."""
    pins = client.pins()
    info = client.info()
    problems: list[Mismatch] = []
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


@dataclass
class ApplyOutcome:
    """What ``apply_template`` did. Unpacks as ``saved, sent`` (its earlier return value)."""

    saved: DeviceConfig
    sent: list[str]
    implied: set[str]  # the drivers the template implies (pins, startup command)
    running: set[str]  # the device's own driver list at the end
    started: list[str] = field(default_factory=list)  # by startDriver
    stopped: list[str] = field(default_factory=list)  # by stopDriver
    restarted: str = ""  # why the device was restarted ("" = it was not)

    def __iter__(self):
        return iter((self.saved, self.sent))

    def lines(self) -> list[str]:
        """For a person: which drivers run now and how they came to."""
        out = []
        if self.started:
            out.append(f"started {', '.join(self.started)} (the firmware starts pin drivers only at boot)")
        if self.stopped:
            out.append(f"stopped {', '.join(self.stopped)} (the new template does not use it)")
        if self.restarted:
            out.append(f"restarted the device: {self.restarted}")
        if self.implied:
            out.append(f"running: {', '.join(sorted(self.running))}")
        return out


def apply_template(client: ObkClient, template: Template, wipe_scripts: bool = False, *, restart: bool = True) -> ApplyOutcome:
    """Save the current configuration, replay ``template``, read it back, and make what it implies
    *run*: drivers its pins or startup command imply are started (or the device restarted when
    starting or stopping does not take), drivers only the old template implied are stopped.
    Raises ``DeviceError`` (with the saved configuration restored) if the device did not take the
    pins, ``DriverNotRunning`` (template kept) if an implied driver does not run even after a restart."""
    if len(template.command.encode()) > STARTUP_LIMIT:  # refused before anything changes
        size = len(template.command.encode())
        raise UsageError(
            f"The template's startup command is {size} bytes; OpenBeken keeps at most {STARTUP_LIMIT}",
            hint="Shorten it, or move it into autoexec.bat on the device's LittleFS.",
        )
    saved = save_config(client)
    flags = template.flags if template.flags is not None else saved.flags
    roles = [r.role for r in template.pins.values()]
    want = drivers.implied(roles, template.command, flags)
    old = drivers.implied([r.role for r in saved.pins.values()], saved.startup, saved.flags)
    # away: what only the old template implied, and any pin driver the new one does not (its entities would be phantoms)
    away = ((old | set(drivers.AUTOSTART)) - want) & set(saved.drivers)
    sent, _ = replay(client, template, wipe_scripts, stop=away)
    problems = verify(client, template)
    if problems:
        restore_config(client, saved)
        raise DeviceError(
            "The device did not take the template: " + "; ".join(map(str, problems)),
            hint="The previous configuration was put back. Check the template (freebeken template check).",
        )
    running = client.drivers()
    outcome = ApplyOutcome(
        saved,
        sent,
        want,
        running,
        [ln.split()[1] for ln in sent if ln.startswith("startDriver ")],
        [ln.split()[1] for ln in sent if ln.startswith("stopDriver ")],
    )
    missing, lingering = want - running, away & running
    if (missing or lingering) and restart:
        reasons = [f"{d} did not start with startDriver ({drivers.why(d, roles, template.command)})" for d in sorted(missing)]
        reasons += [f"{d} kept running after stopDriver" for d in sorted(lingering)]
        came_back = client.restart()
        outcome.restarted = "; ".join(reasons) + ("" if came_back else " (it did not come back with a new uptime)")
        outcome.running = running = client.drivers()
        missing, lingering = want - running, away & running
    if missing or lingering:
        causes = []
        for d in sorted(missing):
            unknown = "; this firmware does not know that driver name" if drivers.canonical(d) is None else ""
            causes.append(f"{d} is not running ({drivers.why(d, roles, template.command)}{unknown})")
        causes += [f"{d} still runs although the template does not use it" for d in sorted(lingering)]
        hint = None if restart else "Restart the device: the firmware starts pin drivers only at boot."
        error = DriverNotRunning("The template's pins are applied, but " + "; ".join(causes), hint=hint)
        error.outcome = outcome  # type: ignore[attr-defined]
        raise error
    return outcome


def restore_config(client: ObkClient, saved: DeviceConfig) -> None:
    template = saved.as_template()
    running = client.drivers()
    stop = (set(drivers.AUTOSTART) & running) - set(saved.drivers)  # pin drivers the saved state did not run
    _, should_run = replay(client, template, keep=set(saved.drivers), stop=stop)
    for channel, value in saved.values.items():
        client.set_channel(channel, value)
    problems = verify(client, template)
    missing = {d for d in should_run - client.drivers() if drivers.canonical(d) is not None}
    if missing:
        problems.append(Mismatch("drivers", ", ".join(sorted(should_run)), f"{', '.join(sorted(missing))} not running"))
    if problems:
        raise DeviceError(
            "Restoring the configuration did not stick: " + "; ".join(map(str, problems)),
            hint="Power-cycle the device and restore again; the pins can also be set on its Configure Module page.",
        )
