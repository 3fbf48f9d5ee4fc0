"""``freebeken convert``: every step of the journey, in order, remembered per device.

State lives in ``<data dir>/convert/<chip identity>.json``; a step that finished is never
redone, so running the command again continues where it stopped (a flash interrupted half-way
resumes through the flash journal). Each step is also its own command.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .. import events
from ..device.client import AP_ADDRESS, ObkClient
from ..device.config import apply_template
from ..device.discover import Found, Networks, display_mac, find_mac, is_mac, local_networks, parse_networks
from ..device.http import split_address
from ..device.pinfinder import PinFinder
from ..errors import DeviceError, LinkError, PortError, UsageError
from ..events import NullReporter, Reporter
from ..firmware.releases import ReleaseError, fetch
from ..flasher import operations as ops
from ..flasher.backup import identity
from ..flasher.journal import Journal
from ..storage import data_dir, sha256
from ..ha.broker import Broker
from ..locks import hold
from ..ha.operations import setup as ha_setup
from ..ha.operations import verify as ha_verify
from ..templates import lists
from ..templates.model import Template, TemplateSyntaxError, from_entry
from ..templates.model import load as load_templates
from .first_boot import broker_of, configure_step, first_boot_step, wants_configure
from ..tuya.analyze import analyze_bytes

STEPS = ("detect", "backup", "analyze", "flash", "configure", "first_boot", "wifi", "template", "home_assistant")


class Person(Protocol):
    """The person converting the plug (terminal, web page, or a test script)."""

    def confirm(self, question: str) -> bool: ...
    def pause(self, instruction: str) -> None: ...
    def ask(self, question: str, default: str = "") -> str: ...
    # optional: ask_secret(question) -> str, for passwords (not echoed)


@dataclass
class Options:
    port: str | None = None
    baudrate: int | None = None
    firmware: str | None = None  # a local release file; None = download the newest
    skip_backup: bool = False
    wifi_ssid: str | None = None
    wifi_password: str | None = None
    ap_address: str = AP_ADDRESS
    device: str | None = None  # the plug's address on the home network; None = search for it
    network: str | None = None  # where to search (CIDR); None = this computer's /24
    http_port: int = 80  # the devices' web port when searching (tests use another)
    find_wait: float = 60.0  # seconds to keep searching while the plug restarts
    device_password: str | None = None
    broker: "str | Broker | None" = None
    name: str | None = None
    pin_finder_asker: Any = None  # an Asker for the pin finder when the backup has no pins
    configure: bool | None = None  # write the configuration while flashing; None = when Wi-Fi and broker are given
    template: Template | None = None  # pins to configure (default: from the backup)
    first_boot_wait: float = 180.0  # seconds to wait for the configured plug on the broker
    devices_json: str | None = None  # OpenBeken's device list (default: the downloaded copy)
    product: str | None = None  # what the box says ("Aoycocr U3"): looked up before anything is opened
    cloudcutter: str | None = None  # tuya-cloudcutter's list (default: the downloaded copy)


class State:
    """The steps a device has been through, in a crash-safe journal file."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.data = journal.record

    @classmethod
    def load(cls, ident: str) -> "State":
        path = data_dir() / "convert" / f"{ident}.json"
        return cls(Journal.load(path) or Journal(path, {"identity": ident, "steps": {}}))

    @property
    def path(self) -> Path:
        return self.journal.path

    @classmethod
    def pending_after_flash(cls) -> "State | None":
        """The most recent conversion whose chip steps are done but which did not finish."""
        folder = data_dir() / "convert"
        paths = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime) if folder.exists() else []
        for path in reversed(paths):
            journal = Journal.load(path)
            if journal and "flash" in journal.record.get("steps", {}) and not journal.record.get("complete"):
                return cls(journal)
        return None

    def done(self, step: str) -> bool:
        return step in self.data["steps"]

    def finish(self, step: str, **result: Any) -> None:
        self.data["steps"][step] = {"at": time.strftime("%Y-%m-%d %H:%M:%S"), **result}
        self.journal.save()

    def get(self, step: str) -> dict[str, Any]:
        return self.data["steps"].get(step, {})

    def remember(self, key: str, value: Any) -> None:
        """Progress inside a step that a re-run must not repeat."""
        self.data[key] = value
        self.journal.save()


def convert(options: Options, person: Person, reporter: Reporter | None = None) -> dict[str, Any]:
    reporter = reporter or NullReporter()
    if options.product:
        _look_up(options, reporter)
    pending = State.pending_after_flash()
    state = _chip_steps(options, person, reporter, pending)
    with hold(state.path, "this plug's conversion (another convert or web page is running it)"):
        if state.done("configure"):
            first_boot_step(state, options, person, reporter)
        else:
            _wifi(state, options, person, reporter)
        _template(state, options, person, reporter)
        _home_assistant(state, options, reporter)
        state.remember("complete", True)
    return report(state)


def _chip_steps(options: Options, person: Person, reporter: Reporter, pending: State | None) -> State:
    """Detect, back up, analyze, flash - with the chip on the adapter. Once a plug was flashed
    the adapter is gone (the person was told to disconnect it): then no chip on the port means
    "continue that plug's conversion", not an error."""
    if not options.port and pending is None:
        raise UsageError("convert needs the serial port", hint="Pass -p /dev/ttyUSB0 (or sim://bk7231t to try it).")
    if options.port:
        try:
            # a connected chip decides which plug this is; without one, do not wait long for it
            with ops.open_chip(options.port, reporter, baudrate=options.baudrate, timeout=4.0 if pending else 15.0) as io:
                state = State.load(identity(io.info))
                if not state.done("detect"):
                    state.finish("detect", **io.info.as_dict())
                events.info(reporter, f"Chip: {io.info.chip.name}, MAC {state.get('detect').get('mac')}")
                backup_step(io, state, options, person, reporter)
                analyze_step(state, options, reporter)
                flash_step(io, state, options, reporter)
                if wants_configure(options) and not state.done("wifi"):
                    configure_step(io, state, options, person, reporter)
                return state
        except (PortError, LinkError):
            if pending is None:
                raise
    assert pending is not None  # no port and nothing pending was refused above
    detect = pending.get("detect")
    if wants_configure(options) and not pending.done("configure") and not pending.done("wifi"):
        events.warning(reporter, "The configuration was not written before the adapter was disconnected: "
                       "continuing through the plug's access point instead")  # fmt: skip
    events.info(
        reporter,
        f"No chip on the adapter: continuing the conversion of the {detect.get('chip')} plug "
        f"{detect.get('mac') or pending.data['identity']}, flashed {pending.get('flash').get('at')}",
    )
    return pending


def backup_step(io, state: State, options: Options, person: Person, reporter: Reporter) -> None:
    if state.done("backup"):
        return
    if options.skip_backup:
        if not person.confirm("Really flash WITHOUT a backup? The stock firmware cannot be restored then."):
            raise UsageError("Stopped: no backup was made", hint="Run again without --skip-backup.")
        state.finish("backup", path=None, skipped=True)
        return
    path, made = ops.ensure_backup(io)
    events.info(reporter, f"Backup: {path}" if made else f"Using this chip's existing backup (its content matches): {path}")
    record_backup(state, path, made)


def record_backup(state: State, path: Path, made: bool) -> None:
    """What a person needs to trust the backup later: where it is, its hash, whether it is new."""
    state.finish("backup", path=str(path), skipped=False, sha256=sha256(path.read_bytes()), size=path.stat().st_size, made=made)


def analyze_step(state: State, options: Options, reporter: Reporter) -> None:
    if state.done("analyze"):
        return
    path = state.get("backup").get("path")
    if not path:
        state.finish("analyze", template=None, notes=["no backup: pins will be found with the pin finder"])
        return
    result = analyze_bytes(Path(path).read_bytes(), path).as_dict()
    template = result["template"] if result["template"] and result["template"]["pins"] else None
    state.finish("analyze", template=template, notes=result["notes"] + result["warnings"], module=result["module"],
                 known_as=_known_as(template, options, reporter))  # fmt: skip
    events.info(reporter, f"Pins from the backup: {template['pins'] if template else 'none found'}")


def _look_up(options: Options, reporter: Reporter) -> None:
    """Before the case is opened: has someone done this plug, and could it be done without soldering?"""
    try:
        found = lists.lookup(options.product or "", devices_json=options.devices_json, cutter_file=options.cloudcutter,
                             reporter=reporter)  # fmt: skip
    except (lists.ListError, UsageError) as e:
        events.info(reporter, f"Known devices not checked: {e}")
        return
    for hit in found["openbeken"][:3]:
        events.info(reporter, f"In OpenBeken's device list: {hit['title']} ({hit['chip'] or '?'})")
    for hit in found["cloudcutter"][:3]:
        events.info(reporter, f"{hit['title']}: {hit['no_solder']}")
    if not found["openbeken"] and not found["cloudcutter"]:
        events.info(reporter, f"{options.product!r} is in neither public list: the backup will tell its pins")


def _known_as(entry: dict | None, options: Options, reporter: Reporter) -> str | None:
    """The device list's best entry for these pins ("known as ..."); never stops the conversion."""
    if not entry:
        return None
    best = lists.best_match(from_entry(entry)[0], options.devices_json, reporter, say_unknown=True)
    if best is None:
        return None
    events.info(reporter, f"Known as: {best.describe()}")
    return best.describe()


def flash_step(io, state: State, options: Options, reporter: Reporter) -> None:
    if state.done("flash"):
        return
    try:
        firmware = options.firmware or str(fetch(io.info.chip.name.lower()))
    except ReleaseError as e:  # offline: the same journey with a file brought from elsewhere
        name = f"{io.info.chip.firmware_prefix}<version>.bin"
        raise ReleaseError(str(e), hint=f"Without internet here: download {name} from the OpenBeken releases page on "
                           f"another computer, copy it over, and run `freebeken convert --firmware {name}` with the "
                           "same options (convert continues where it stopped).") from None  # fmt: skip
    result = ops.flash_firmware(io, firmware)  # resumes through its journal if interrupted
    record_flash(state, firmware, result)


def record_flash(state: State, firmware: str | Path, result: Any) -> None:
    state.finish("flash", firmware=Path(firmware).name, written=result.written, skipped=result.skipped,
                 resumed=result.resumed, verified=True)  # flash_firmware returns only after every sector is proven


def _wifi(state: State, options: Options, person: Person, reporter: Reporter) -> None:
    if state.done("wifi"):
        return
    sent = state.data.get("wifi_sent")  # the plug already left its access point in an earlier run
    if not sent:
        chip = state.get("detect").get("chip", "BK7231T")
        person.pause(
            f"Disconnect the adapter and power the plug normally. OpenBeken starts a Wi-Fi access point named "
            f"OpenBK{chip[2:]}_<id>: join it with this computer, then continue."
        )
        ssid = options.wifi_ssid or person.ask("Your home Wi-Fi name (SSID)")
        password = options.wifi_password if options.wifi_password is not None else person.ask("Its password")
        mac = ObkClient(options.ap_address, options.device_password).join_wifi(ssid, password)
        sent = {"ssid": ssid, "mac": mac}  # the MAC recognises the plug on the home network
        state.remember("wifi_sent", sent)
        person.pause("The plug restarts and joins your Wi-Fi. Reconnect this computer to your home Wi-Fi, then continue.")
    device = options.device or _locate([sent["mac"], state.get("detect").get("mac") or ""], options, person, reporter)
    ObkClient(device, options.device_password).info()  # prove we can reach it
    state.finish("wifi", ssid=sent["ssid"], device=device, mac=sent["mac"])


def _locate(macs: list[str], options: Options, person: Person, reporter: Reporter) -> str:
    """The plug's new address, found by its MAC; the person is asked only when that fails."""
    macs = [m for m in macs if is_mac(m)]
    said: set[str] = set()

    def warn_once(message: str | UsageError) -> None:
        text = f"{message} {message.hint or ''}".strip() if isinstance(message, UsageError) else message
        if text not in said:
            said.add(text)
            events.warning(reporter, text)

    def networks() -> Networks:
        if options.network:
            return parse_networks([options.network])
        try:  # looked up each round: this computer may still be switching Wi-Fi
            nets = local_networks()
        except UsageError as e:
            warn_once(e)
            return []
        if _on_network(options.ap_address, nets):
            warn_once("This computer is still on the plug's access point network: reconnect it to your home Wi-Fi.")
        return nets

    seen: list[Found] = []
    try:
        search = find_mac(macs, networks, options.http_port, options.device_password, options.find_wait, reporter)
    except UsageError as e:  # a --network that cannot be searched
        warn_once(e)
    else:
        if search.match is not None:
            events.info(reporter, f"Found the plug at {search.match.address} ({search.match.name}, MAC {display_mac(search.match.mac)})")
            return search.match.address
        seen = [f for f in search.seen if not f.locked]
    listing = "; ".join(f"{f.address} ({f.name}, MAC {display_mac(f.mac)})" for f in seen) or "none"
    return person.ask(
        f"The plug did not answer under its MAC {display_mac(macs[0]) if macs else '?'}. OpenBeken devices found: {listing}. "
        "The plug's address on your network (one of those, or from your router's list of clients)",
        default=seen[0].address if len(seen) == 1 else "",
    )


def _on_network(address: str, networks: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(split_address(address)[0])
    except ValueError:  # a host name
        return False
    return any(ip in net for net in networks)


def _device(state: State) -> str:
    """The plug's address on the home network, however it was found."""
    return (state.get("first_boot") or state.get("wifi"))["device"]


def chosen_template(state: State, options: Options | None = None) -> Template | None:
    """The pins to use: given on the command line, else as the person left them on the page
    (when the firmware accepts them), else as read from the backup."""
    if options is not None and options.template is not None:
        return options.template
    text = state.data.get("template_text")
    if text:
        try:
            [(template, problems)] = load_templates(text)[:1]
            if not any(p.severity == "error" for p in problems):
                return template
        except (TemplateSyntaxError, ValueError):
            pass  # the page said so when it was saved; the backup's pins stand
    entry = state.get("analyze").get("template")
    return from_entry(entry)[0] if entry else None


def _template(state: State, options: Options, person: Person, reporter: Reporter) -> None:
    if state.done("template") or state.get("configure").get("pins"):
        return  # the pins were written with the configuration
    client = ObkClient(_device(state), options.device_password)
    template = chosen_template(state, options)
    if template is not None:
        source = "page" if state.data.get("template_text") and options.template is None else "backup"
    else:
        asker = options.pin_finder_asker
        if asker is None:
            raise UsageError("The backup has no pin configuration", hint="Run `freebeken pins find HOST`, then convert again.")
        template = PinFinder(client, asker, reporter).run().template
        source = "pin finder"
    apply_template(client, template)
    state.finish("template", source=source, pins=template.to_entry()["pins"])


def _home_assistant(state: State, options: Options, reporter: Reporter) -> None:
    broker = broker_of(options)
    if state.done("home_assistant") or broker is None:
        return
    client = ObkClient(_device(state), options.device_password)
    if state.done("configure"):  # MQTT is in its configuration: only prove that it works
        result = ha_verify(client, broker, reporter=reporter)
    else:
        result = ha_setup(client, broker, name=options.name, reporter=reporter)
    if result.problems:
        raise DeviceError("Home Assistant setup is not complete: " + "; ".join(result.problems),
                          hint="Run `freebeken ha check` for a diagnosis, then convert again.")  # fmt: skip
    state.finish("home_assistant", entities=[e.entity_id for e in result.entities], round_trip=result.round_trip)


def report(state: State) -> dict[str, Any]:
    steps = state.data["steps"]
    backup = steps.get("backup", {}).get("path")
    configured = "configure" in steps
    path_steps = [s for s in STEPS if s not in (("wifi",) if configured else ("configure", "first_boot"))]
    pins_written = bool(steps.get("configure", {}).get("pins"))
    return {
        "identity": state.data["identity"],
        "chip": steps.get("detect", {}).get("chip"),
        "firmware": steps.get("flash", {}).get("firmware"),
        "steps": {name: name in steps or (name == "template" and pins_written) for name in path_steps},
        "backup": backup,
        "restore": f"freebeken restore -p PORT {backup}" if backup else "no backup was made",
        "template": steps.get("template", {}).get("pins") or steps.get("configure", {}).get("pins"),
        "path": "configured while flashing" if "configure" in steps else "access point",
        "known_as": steps.get("analyze", {}).get("known_as"),
        "entities": steps.get("home_assistant", {}).get("entities", []),
        "state_file": str(state.path),
    }
