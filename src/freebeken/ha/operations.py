"""``freebeken ha setup|check|remove``: configure a device for Home Assistant over MQTT and prove,
on the broker itself, that Home Assistant will see it.

"Seen" means: every entity the template must produce on what the device *runs* (its pins and
its running drivers, see discovery.expected) was published by the device *in this run* - a
retained config left on the broker from before proves nothing and is cleared (and named).
The firmware's pacing sets the wait: first configs ~4 s after its connect, the rest after its
state broadcast (~11 s later), 3 a second (behaviour-2026-12.md); setup stops as soon as
everything announced is in and quiet, and never asks twice unless the device reconnected.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .. import events
from ..device.client import DeviceInfo, ObkClient, Pins
from ..errors import DeviceError
from ..events import NullReporter, Reporter
from ..firmware.names import ha_safe_id, ha_safe_name
from .broker import Broker, Session
from .check import Identity, duplicate_evidence, mac_digits
from .discovery import ID_OK, Entity, announced, configs_in, driver_causes, expected, missing, parse
from .pace import firmware_wait

# in firmware seconds (pace.firmware_wait: real seconds for a real device)
QUIET = 20.0  # seconds without any message from the device after asking before asking again
SETTLE = 1.5  # seconds without a new config once everything expected is in (the firmware sends 3 a second)
GHOST = 2.0  # seconds for the old client id's will after a rename
NOTHING_TO_SWITCH = "the template gives Home Assistant nothing to switch or show"  # a warning, not a failure


@dataclass
class SetupResult:
    client_id: str
    long_name: str
    online: bool
    entities: list[Entity]
    round_trip: str
    problems: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)  # stale retained topics of this device setup cleared
    expected: list[str] = field(default_factory=list)  # what had to exist (template + drivers)

    def as_dict(self) -> dict[str, object]:
        return {
            "client_id": self.client_id,
            "long_name": self.long_name,
            "online": self.online,
            "round_trip": self.round_trip,
            "entities": [
                {
                    "entity_id": e.entity_id,
                    "component": e.component,
                    "name": e.name,
                    "unique_id": e.unique_id,
                    "problems": e.problems,
                }
                for e in self.entities
            ],
            "problems": self.problems,
            "cleared": self.cleared,
            "expected": self.expected,
        }


def setup(
    client: ObkClient,
    broker: Broker,
    *,
    client_id: str | None = None,
    name: str | None = None,
    prefix: str = "homeassistant",
    timeout: float = 60.0,
    reporter: Reporter | None = None,
) -> SetupResult:
    reporter = reporter or NullReporter()
    info = client.info()
    pins = client.pins()
    old = Identity(info.mqtt_client, client.long_name() or None, None, mac_digits(info.mac))  # before any rename
    long_name = ha_safe_name(name or info.short_name)
    cid = client_id or ha_safe_id(name or info.short_name)
    if not ID_OK.match(cid):
        raise DeviceError(f"Client id {cid!r} has characters Home Assistant rejects", hint="Use letters, digits, _ and - only.")
    events.phase(reporter, f"Configuring MQTT on the device (client id {cid})")
    with Session(broker) as session:
        if broker.user is None:  # we got in without a login, so anyone on the network can
            events.warning(
                reporter,
                "The broker lets anyone on your network in without a password: they could switch "
                "this device. Consider a broker user (Home Assistant's Mosquitto add-on requires one).",
            )
        # subscribed before anything is triggered: every config of this run is seen live
        session.subscribe(f"{cid}/#", f"{prefix}/+/+/config", f"{old.cid}/connected")
        session.settle(0.3, 3)  # the retained copies (possibly stale) arrive first
        client.cmd(f"ShortName {cid}")
        client.cmd(f'FriendlyName "{long_name}"')
        # Automatic discovery (flag 27) always publishes under "homeassistant"; with another prefix
        # it would announce the device where HA does not look, so only the retained configs
        # published below (they survive reboots) are used then.
        client.cmd(f"SetFlag 27 {int(prefix == 'homeassistant')}")
        if prefix != "homeassistant":
            events.warning(
                reporter,
                f"Automatic discovery stays off: OpenBeken always uses the 'homeassistant' prefix for it, not {prefix!r}",
            )
        mark = len(session.messages)
        client.set_mqtt(broker.host, broker.port, cid, broker.user, broker.password)
        events.phase(reporter, "Waiting for the device to connect to the broker (the firmware takes about 8 s)")

        def is_online(topic: str, payload: bytes) -> bool:
            return topic == f"{cid}/connected" and payload == b"online"

        # The firmware reconnects after /cfg_mqtt_set; a retained "online" may be left from the
        # connection before (a clean disconnect publishes no will), so only a live one counts.
        if session.wait_for(is_online, timeout, since=mark, live_only=True) is None:
            stale = session.wait_for(is_online, 0) is not None
            problem = (
                "the device did not reconnect with its new MQTT settings (the 'online' on the broker is left from "
                "an earlier connection)"
                if stale
                else "the device did not come online on the broker"
            )
            return SetupResult(cid, long_name, False, [], "not tried", [problem])
        result = _announced_and_working(client, session, cid, long_name, info, pins, prefix, timeout, reporter, old=old)
        if old.cid != cid:
            result.cleared += _clear_ghost(session, old.cid)
        return result


def _clear_ghost(session: Session, old_cid: str) -> list[str]:
    """A rename leaves the old client id's retained will ("offline") on the broker forever: a
    ghost device for every tool that lists ``+/connected``. Cleared once the old connection is gone."""
    session.wait_for(lambda t, p: t == f"{old_cid}/connected" and p == b"offline", firmware_wait(GHOST, 0.2))
    if any(t == f"{old_cid}/connected" and p for t, p, _ in session.messages):
        session.publish(f"{old_cid}/connected", b"", retain=True)
        return [f"{old_cid}/connected"]
    return []


def verify(
    client: ObkClient,
    broker: Broker,
    *,
    prefix: str = "homeassistant",
    timeout: float = 60.0,
    reporter: Reporter | None = None,
) -> SetupResult:
    """``ha setup``'s proof without changing anything: for a device whose MQTT settings were
    written into its configuration before its first boot. Online, discovery valid, a command
    round trip - under the client id and long name the device itself reports. With automatic
    discovery off (``ha remove``) it does not ask the device to announce: a removed device stays removed."""
    reporter = reporter or NullReporter()
    info = client.info()
    pins = client.pins()
    cid, long_name = info.mqtt_client, client.long_name()
    with Session(broker) as session:
        session.subscribe(f"{cid}/#", f"{prefix}/+/+/config")
        events.phase(reporter, f"Checking that {cid} is online on the broker")
        if session.wait_for(lambda t, p: t == f"{cid}/connected" and p == b"online", timeout) is None:
            return SetupResult(cid, long_name, False, [], "not tried", [f"{cid} is not online on {broker}"])
        session.settle(0.3, 3)
        return _announced_and_working(
            client, session, cid, long_name, info, pins, prefix, timeout, reporter, ask=bool(info.flags >> 27 & 1)
        )


def _live_configs(session: Session, since: int, me: Identity, prefix: str) -> dict[str, dict]:
    """Configs of this device the broker delivered live (published in this run) from ``since`` on."""
    live: list[tuple[str, bytes, bool]] = [m for m in session.messages[since:] if not m[2]]
    return {t: d for t, d in configs_in(live).items() if t.startswith(prefix + "/") and me.current(d)}


def _announced_and_working(
    client: ObkClient,
    session: Session,
    cid: str,
    long_name: str,
    info: DeviceInfo,
    pins: Pins,
    prefix: str,
    timeout: float,
    reporter: Reporter,
    *,
    old: Identity | None = None,
    ask: bool = True,
) -> SetupResult:
    me = Identity(cid, long_name, info.ip or None, mac_digits(info.mac))
    running = client.drivers()
    info = client.info()  # flags as they are now
    want = expected(pins, info.flags, running)
    must = expected(pins, info.flags, running | set(driver_causes(pins, info.startup_command, info.flags, running)))
    everything = announced(pins, info.flags, running)
    retained_before = {
        t: d
        for t, d in configs_in([m for m in session.messages if m[2]]).items()
        if me.owns(d) or (old is not None and old.owns(d))
    }
    events.phase(reporter, "Asking the device to announce itself to Home Assistant" if ask else "Listening for discovery")
    mark = len(session.messages)
    deadline = time.monotonic() + timeout
    asked_at, onlines, last_new, count = time.monotonic(), _live_onlines(session, cid), time.monotonic(), 0
    if ask:
        client.transport.request("GET", f"/ha_discovery?prefix={prefix}")
    fresh: dict[str, dict] = {}
    settle, quiet = firmware_wait(SETTLE, 0.3), firmware_wait(QUIET, 2.0)
    step, step_limit = firmware_wait(0.3, 0.05), firmware_wait(1.0, 0.1)
    while time.monotonic() < deadline:
        session.settle(step, step_limit)
        fresh = _live_configs(session, mark, me, prefix)
        now = time.monotonic()
        if len(fresh) != count:
            count, last_new = len(fresh), now
        entities = [parse(t, d) for t, d in fresh.items()]
        if not missing(entities, everything) and now - last_new >= settle:
            break  # all in, and nothing more for a while: the list is complete
        # ask again only if the device reconnected since (its queue is lost) or said nothing for long
        reconnected = _live_onlines(session, cid) > onlines
        if ask and (reconnected or (not fresh and now - asked_at > quiet)):
            client.transport.request("GET", f"/ha_discovery?prefix={prefix}")
            asked_at, onlines = now, _live_onlines(session, cid)
    entities = sorted((parse(t, d) for t, d in fresh.items()), key=lambda e: e.entity_id)
    problems = [f"{e.entity_id}: {p}" for e in entities for p in e.problems]
    causes = driver_causes(pins, info.startup_command, info.flags, running)
    absent = missing(entities, must)
    if not must:
        problems.append(
            NOTHING_TO_SWITCH + " (no relay, light, binary input or energy sensor; buttons and LEDs "
            "create no entity): add those pins to the template"
        )
    elif absent:
        driver_items = set(must) - set(want)  # there only because a driver the template implies should run
        if any(i in driver_items for i in absent):
            problems += list(causes.values())
        rest = [i for i in absent if i not in driver_items]
        if rest:
            why = "" if ask else " (automatic discovery is off on the device: run freebeken ha setup to turn it on)"
            problems.append(f"the device did not announce {', '.join(rest)} within {timeout:.0f} s{why}")
    complete = not missing(entities, everything)
    cleared = _clear_stale(session, retained_before, fresh) if complete else []
    if not complete:
        left = sorted(t for t in retained_before if t not in fresh)
        if left:
            problems.append(f"retained configs left from before and not announced again (not counted): {', '.join(left)}")
    round_trip = _round_trip(client, session, cid, pins, reporter, info.flags, running)
    if round_trip.startswith("failed"):
        problems.append(round_trip)
    duplicate = duplicate_evidence(session, me)
    if duplicate:  # explains the failures above: say it first
        problems.insert(0, duplicate + "; give this device another --name")
    result = SetupResult(cid, long_name, True, entities, round_trip, problems)
    result.cleared = cleared
    result.expected = must
    return result


def _clear_stale(session: Session, retained_before: dict[str, dict], fresh: dict[str, dict]) -> list[str]:
    """Retained configs of this device (this or its earlier name) that it did not publish in this
    run: dead entities in Home Assistant. Cleared, and returned so that setup names them."""
    stale = sorted(t for t in retained_before if t not in fresh)
    for topic in stale:
        session.publish(topic, b"", retain=True)
    return stale


def _light_round_trip(session: Session, cid: str, reporter: Reporter) -> str:
    """A light's command topic (its discovery's cmd_t) switches it, its state topic reports it."""
    events.phase(reporter, "Command round trip on the light")
    for value in ("1", "0"):
        for _attempt in range(3):
            mark = len(session.messages)
            session.publish(f"cmnd/{cid}/led_enableAll", value)
            if session.wait_for(lambda t, p, v=value: t == f"{cid}/led_enableAll/get" and p == v.encode(), 4, since=mark):
                break
        else:
            return f"failed: cmnd/{cid}/led_enableAll {value} was not answered on {cid}/led_enableAll/get"
    return f"ok: cmnd/{cid}/led_enableAll switched the light and {cid}/led_enableAll/get reported it"


def _live_onlines(session: Session, cid: str) -> int:
    return sum(1 for t, p, r in session.messages if t == f"{cid}/connected" and p == b"online" and not r)


def _round_trip(
    client: ObkClient, session: Session, cid: str, pins: Pins, reporter: Reporter, flags: int = 0, running: set[str] | None = None
) -> str:
    channels = pins.relay_channels()
    if not channels and any(e.startswith("light with") for e in expected(pins, flags, running)):
        return _light_round_trip(session, cid, reporter)
    if not channels:
        return "skipped (no relay channel)"
    ch = channels[0]
    events.phase(reporter, f"Command round trip on channel {ch}")
    before = client.get_channel(ch)
    target = 0 if before else 1
    for value in (target, before):
        expected_state = (f"{cid}/{ch}/get", str(value).encode())
        for _attempt in range(3):  # a command sent while the device reconnects is lost: send it again
            mark = len(session.messages)
            session.publish(f"{cid}/{ch}/set", str(value))
            if session.wait_for(lambda t, p, want=expected_state: (t, p) == want, 4, since=mark) is not None:
                break
        else:
            return f"failed: {cid}/{ch}/set {value} was not answered on {cid}/{ch}/get"
        if client.get_channel(ch) != value:
            return f"failed: the broker saw {value} but the device's channel {ch} did not change"
    return f"ok: {cid}/{ch}/set switched the device and {cid}/{ch}/get reported it"
