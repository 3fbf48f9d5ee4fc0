"""``freebeken convert``: every step of the journey, in order, remembered per plug.

A short driver over ``journey.Journey``, which does and records each step (the local page drives
the same class). A step that finished is never redone, so running the command again continues
where it stopped (a flash interrupted half-way resumes through the flash journal).
"""

from __future__ import annotations

import contextlib
import ipaddress
from pathlib import Path
from typing import Any

from .. import events
from ..device.client import AP_ADDRESS, ObkClient
from ..device.discover import Found, Networks, display_mac, find_mac, is_mac, local_networks, parse_networks
from ..device.http import split_address
from ..device.pinfinder import PinFinder
from ..errors import DeviceError, LinkError, PortError, UsageError
from ..events import NullReporter, Reporter
from ..flasher.chipio import ChipIO
from ..flasher.safely import ENSURE, SKIP
from ..ha.operations import setup as ha_setup
from ..ha.operations import verify as ha_verify
from ..templates import lists
from . import family_plug
from .family_journey import family_for
from .family_wizard import ap_instruction, family_chip_journey
from .first_boot import first_boot_step, settings_for
from .journey import Journey, firmware_for, on_adapter
from .options import Options, Person, agree_to_no_backup

__all__ = ["Options", "Person", "convert"]


def convert(options: Options, person: Person, reporter: Reporter | None = None) -> dict[str, Any]:
    reporter = reporter or NullReporter()
    if options.product:
        _look_up(options, reporter)
    journey = _chip_journey(options, person, reporter)
    try:
        with journey.lock():
            _given_address(journey, options, reporter)
            if journey.configured is not None:
                first_boot_step(journey, options, person, reporter)
            else:
                _wifi(journey, options, person, reporter)
            if options.power_simulated and journey.configured is not None:  # its first boot was in an earlier run
                journey.powered(reporter)
            _template(journey, options, person, reporter)
            _home_assistant(journey, options, reporter)
            journey.finish_all()
    finally:
        _switch_off(journey, reporter)
    return journey.report()


def _given_address(journey: Journey, options: Options, reporter: Reporter) -> None:
    """``--device`` on a re-run replaces the address an earlier run found (it is proven first)."""
    known = journey.device_address
    if options.device and known is not None and options.device != known:
        ObkClient(options.device, options.device_password).info()
        journey.found(options.device)
        events.info(reporter, f"The plug's address is now {options.device} (was {known})")


def _switch_off(journey: Journey, reporter: Reporter) -> None:
    """A simulated plug lives as long as the command that powered it."""
    sim = journey.simulated
    if sim is not None and family_plug.unplug(Path(sim.image)):
        again = (
            "running `freebeken convert` again powers it on"
            if journey.family is not None  # the OpenBeken device simulator boots Beken images only
            else f"`freebeken sim device --from-image {sim.image}` powers it on again"
        )
        events.info(reporter, f"The simulated plug was switched off with this command; {again}")


def _chip_journey(options: Options, person: Person, reporter: Reporter) -> Journey:
    """Detect, back up, analyze, flash - with the chip on the adapter. Once a plug was flashed
    the adapter is gone (the person was told to disconnect it): then no chip on the port means
    "continue that plug's conversion", not an error. Only opening the port is read that way: a
    plug that fails later (power lost mid-flash) is that plug's error, never another plug's turn."""
    pending = Journey.pending_after_flash()
    if options.forget and not options.port and pending is not None:
        pending.forget()
        raise UsageError(
            f"The conversion of the {pending.detected.chip if pending.detected else '?'} plug was forgotten",
            hint="Connect its adapter and run convert with -p PORT to start it over.",
        )
    if not options.port:
        if pending is None:
            raise UsageError("convert needs the serial port", hint="Pass -p /dev/ttyUSB0 (or sim://bk7231t to try it).")
        return _continue(pending, options, reporter)
    spec = family_for(options.port, options.chip)
    if spec is not None:  # RTL8720CF/LN882H: the chip steps through the families' operations
        return family_chip_journey(spec, options, person, reporter, pending, lambda p: _continue(p, options, reporter))
    with contextlib.ExitStack() as stack:
        try:  # a connected chip decides which plug this is; without one, do not wait long for it
            io = stack.enter_context(
                on_adapter(options.port, reporter, baudrate=options.baudrate, timeout=4.0 if pending else 15.0)
            )
        except (PortError, LinkError):
            if pending is None:
                raise
            return _continue(pending, options, reporter)
        journey = Journey.of_chip(io, options.port)
        if options.port.startswith("sim://") and journey.simulated is None:
            events.warning(
                reporter,
                "This simulated chip has no image= file: its flash is forgotten when the command ends, "
                "so no simulated plug can boot from it. Add &image=plug.bin to the sim:// port.",
            )
        if options.forget:
            journey.forget()
            events.info(reporter, f"Starting this plug's conversion over (its backups stay): {journey.path} forgotten")
            journey = Journey.of_chip(io, options.port)
        with journey.lock():
            _chip_steps(io, journey, options, person, reporter)
        return journey
    raise AssertionError("unreachable")  # ExitStack does not swallow exceptions; mypy cannot see that


def _chip_steps(io: ChipIO, journey: Journey, options: Options, person: Person, reporter: Reporter) -> None:
    detected = journey.detected
    events.info(reporter, f"Chip: {io.info.chip.name}, MAC {detected.mac if detected else None}")
    if journey.backed_up is None:
        if options.skip_backup:
            agree_to_no_backup(person)
            journey.skip_backup()
        else:
            kept = journey.back_up(io)
            events.info(
                reporter,
                f"Backup: {kept.path}" if kept.made else f"Using this chip's existing backup (its content matches): {kept.path}",
            )
    if journey.analyzed is None:
        analyzed = journey.analyze(reporter, options.devices_json)
        events.info(reporter, f"Pins from the backup: {analyzed.template['pins'] if analyzed.template else 'none found'}")
    wants = options.wants_configure and journey.on_wifi is None and journey.configured is None
    settings = settings_for(journey, options, person, reporter) if wants else None  # asked before the write
    backed_up = journey.backed_up
    policy = SKIP if backed_up is not None and backed_up.skipped else ENSURE
    if journey.flashed is None:
        journey.flash(io, firmware_for(io, options.firmware), settings, policy)  # resumes through its journal
    elif settings is not None:  # flashed in an earlier run that stopped before the configuration
        journey.configure(io, settings)
    configured = journey.configured
    if settings is not None and configured is not None:
        events.info(
            reporter,
            f"Configured: Wi-Fi {configured.ssid!r}, broker {configured.broker}, client id "
            f"{configured.client_id}, pins {configured.pins or 'none (found with the pin finder after the first boot)'}",
        )


def _continue(pending: Journey, options: Options, reporter: Reporter) -> Journey:
    detected, flashed = pending.detected, pending.flashed
    if options.wants_configure and pending.configured is None and pending.on_wifi is None:
        events.warning(
            reporter,
            "The configuration was not written before the adapter was disconnected: "
            "continuing through the plug's access point instead",
        )
    events.info(
        reporter,
        f"No chip on the adapter: continuing the conversion of the {detected.chip if detected else '?'} plug "
        f"{(detected.mac if detected else None) or pending.identity}, flashed {flashed.at if flashed else '?'}",
    )
    return pending


def _look_up(options: Options, reporter: Reporter) -> None:
    """Before the case is opened: has someone done this plug, and could it be done without soldering?"""
    try:
        found = lists.lookup(
            options.product or "", devices_json=options.devices_json, cutter_file=options.cloudcutter, reporter=reporter
        )
    except (lists.ListError, UsageError) as e:
        events.info(reporter, f"Known devices not checked: {e}")
        return
    for u in found["unavailable"]:
        events.info(reporter, f"{u['list']} not checked: {u['error']}")
    for hit in found["openbeken"][:3]:
        events.info(reporter, f"In OpenBeken's device list: {hit['title']} ({hit['chip'] or '?'})")
    for hit in found["cloudcutter"][:3]:
        events.info(reporter, f"{hit['title']}: {hit['no_solder']}")
    if not found["openbeken"] and not found["cloudcutter"]:
        events.info(reporter, f"{options.product!r} is in neither public list: the backup will tell its pins")


def _wifi(journey: Journey, options: Options, person: Person, reporter: Reporter) -> None:
    if journey.on_wifi is not None:
        return
    sent = journey.wifi_sent  # the plug already left its access point in an earlier run
    detected = journey.detected
    spec = journey.family
    # a simulated RTL8720CF/LN882H plug powers on by itself when the adapter is removed (a Beken one
    # on this path is the test's or the person's to serve)
    family_sim = spec is not None and options.power_simulated and journey.simulated is not None
    simulated = journey.powered(reporter) if family_sim and sent is not None else None
    if sent is None:
        chip = detected.chip if detected else "BK7231T"
        person.pause(
            ap_instruction(spec)
            if spec is not None
            else f"Disconnect the adapter and power the plug normally. OpenBeken starts a Wi-Fi access point named "
            f"OpenBK{chip[2:]}_<id>: join it with this computer, then continue."
        )
        simulated = journey.powered(reporter) if family_sim else None  # powered as the person was told
        ssid = options.wifi_ssid or person.ask("Your home Wi-Fi name (SSID)")
        password = options.wifi_password if options.wifi_password is not None else person.ask("Its password")
        ap = options.ap_address
        if simulated is not None and simulated.address and ap == AP_ADDRESS:  # its access point is served here
            ap = simulated.address
        sent = journey.send_wifi(ObkClient(ap, options.device_password), ssid, password)
        person.pause("The plug restarts and joins your Wi-Fi. Reconnect this computer to your home Wi-Fi, then continue.")
    macs = [sent.mac, (detected.mac if detected else None) or ""]
    device = options.device or (simulated.address if simulated is not None else None) or _locate(macs, options, person, reporter)
    ObkClient(device, options.device_password).info()  # prove we can reach it
    journey.found(device)


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
            events.info(
                reporter, f"Found the plug at {search.match.address} ({search.match.name}, MAC {display_mac(search.match.mac)})"
            )
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


def _live_client(journey: Journey, options: Options) -> ObkClient:
    device = journey.device_address
    if device is None:
        raise UsageError("The plug's address is not known yet", hint="Run convert again: it continues with the network step.")
    return ObkClient(device, options.device_password)


def _template(journey: Journey, options: Options, person: Person, reporter: Reporter) -> None:
    if journey.template_applied is not None or journey.pins_written:
        return  # the pins were written with the configuration
    client = _live_client(journey, options)
    template = journey.chosen_template(options.template)
    source = journey.template_source(options.template)
    if template is None:
        if options.pin_finder_asker is None:
            raise UsageError("The backup has no pin configuration", hint="Run `freebeken pins find HOST`, then convert again.")
        template = PinFinder(client, options.pin_finder_asker, reporter).run().template
        source = "pin finder"
    applied = journey.apply(client, template, source)
    for line in applied.how:
        events.info(reporter, f"Template: {line}")


def _home_assistant(journey: Journey, options: Options, reporter: Reporter) -> None:
    if journey.ha_verified is not None or options.broker is None:
        return
    client = _live_client(journey, options)
    if journey.configured is not None:  # MQTT is in its configuration: only prove that it works
        result = ha_verify(client, options.broker, reporter=reporter)
    else:
        result = ha_setup(client, options.broker, name=options.name, reporter=reporter)
    if result.problems:
        raise DeviceError(
            "Home Assistant setup is not complete: " + "; ".join(result.problems),
            hint="Run `freebeken ha check` for a diagnosis, then convert again.",
        )
    journey.home_assistant(result)
