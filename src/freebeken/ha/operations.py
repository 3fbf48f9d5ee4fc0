"""``freebeken ha setup|check|remove``: configure a device for Home Assistant over MQTT and prove,
on the broker itself, that Home Assistant will see it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .. import events
from ..device.client import DeviceInfo, ObkClient, Pins
from ..errors import DeviceError
from ..events import NullReporter, Reporter
from .broker import Broker, Session
from .check import Identity, duplicate_evidence, mac_digits
from ..firmware.names import ha_safe_id, ha_safe_name

QUIET = 15.0  # seconds without a message after asking for discovery before asking again
from .discovery import ID_OK, Entity, announced, configs_in, covers, expected, parse


NOTHING_TO_SWITCH = "the template gives Home Assistant nothing to switch or show"  # a warning, not a failure


@dataclass
class SetupResult:
    client_id: str
    long_name: str
    online: bool
    entities: list[Entity]
    round_trip: str
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "client_id": self.client_id,
            "long_name": self.long_name,
            "online": self.online,
            "round_trip": self.round_trip,
            "entities": [{"entity_id": e.entity_id, "component": e.component, "name": e.name, "unique_id": e.unique_id,
                          "problems": e.problems} for e in self.entities],  # fmt: skip
            "problems": self.problems,
        }


def _device_entities(session: Session, me: Identity, prefix: str) -> list[Entity]:
    return [parse(t, d) for t, d in configs_in(session.messages).items() if t.startswith(prefix + "/") and me.current(d)]


def setup(
    client: ObkClient,
    broker: Broker,
    *,
    client_id: str | None = None,
    name: str | None = None,
    prefix: str = "homeassistant",
    timeout: float = 30.0,
    reporter: Reporter | None = None,
) -> SetupResult:
    reporter = reporter or NullReporter()
    info = client.info()
    pins = client.pins()
    long_name = ha_safe_name(name or info.short_name)
    cid = client_id or ha_safe_id(name or info.short_name)
    if not ID_OK.match(cid):
        raise DeviceError(f"Client id {cid!r} has characters Home Assistant rejects", hint="Use letters, digits, _ and - only.")
    events.phase(reporter, f"Configuring MQTT on the device (client id {cid})")
    with Session(broker) as session:
        if broker.user is None:  # we got in without a login, so anyone on the network can
            events.warning(reporter, "The broker lets anyone on your network in without a password: they could switch "
                           "this device. Consider a broker user (Home Assistant's Mosquitto add-on requires one).")  # fmt: skip
        session.subscribe(f"{cid}/#", f"{prefix}/+/+/config")
        client.cmd(f"ShortName {cid}")
        client.cmd(f'FriendlyName "{long_name}"')
        # Automatic discovery (flag 27) always publishes under "homeassistant"; with another prefix
        # it would announce the device where HA does not look, so only the retained configs
        # published below (they survive reboots) are used then.
        client.cmd(f"SetFlag 27 {int(prefix == 'homeassistant')}")
        if prefix != "homeassistant":
            events.warning(reporter, f"Automatic discovery stays off: OpenBeken always uses the 'homeassistant' prefix for it, not {prefix!r}")
        client.set_mqtt(broker.host, broker.port, cid, broker.user, broker.password)
        events.phase(reporter, "Waiting for the device to connect to the broker")
        def is_online(topic: str, payload: bytes) -> bool:
            return topic == f"{cid}/connected" and payload == b"online"

        # The firmware reconnects after /cfg_mqtt_set; a retained "online" may be left from the
        # connection before (a clean disconnect publishes no will), so only a live one counts.
        if session.wait_for(is_online, timeout, live_only=True) is None:
            stale = session.wait_for(is_online, 0) is not None
            problem = ("the device did not reconnect with its new MQTT settings (the 'online' on the broker is left from "
                       "an earlier connection)" if stale else "the device did not come online on the broker")  # fmt: skip
            return SetupResult(cid, long_name, False, [], "not tried", [problem])
        return _announced_and_working(client, session, cid, long_name, info, pins, prefix, timeout, reporter)


def verify(
    client: ObkClient, broker: Broker, *, prefix: str = "homeassistant", timeout: float = 30.0,
    reporter: Reporter | None = None,
) -> SetupResult:  # fmt: skip
    """``ha setup``'s proof without changing anything: for a device whose MQTT settings were
    written into its configuration before its first boot. Online, discovery valid, a command
    round trip - under the client id and long name the device itself reports."""
    reporter = reporter or NullReporter()
    info = client.info()
    pins = client.pins()
    cid, long_name = info.mqtt_client, client.long_name()
    with Session(broker) as session:
        session.subscribe(f"{cid}/#", f"{prefix}/+/+/config")
        events.phase(reporter, f"Checking that {cid} is online on the broker")
        if session.wait_for(lambda t, p: t == f"{cid}/connected" and p == b"online", timeout) is None:
            return SetupResult(cid, long_name, False, [], "not tried", [f"{cid} is not online on {broker}"])
        return _announced_and_working(client, session, cid, long_name, info, pins, prefix, timeout, reporter)


def _announced_and_working(client: ObkClient, session: Session, cid: str, long_name: str, info: DeviceInfo, pins: Pins,
                           prefix: str, timeout: float, reporter: Reporter) -> SetupResult:  # fmt: skip
    events.phase(reporter, "Publishing Home Assistant discovery")
    me = Identity(cid, long_name, info.ip or None, mac_digits(info.mac))
    want = expected(pins, info.flags)
    everything = announced(pins, info.flags)
    deadline = time.monotonic() + timeout
    entities: list[Entity] = []
    asked, seen, news_at, onlines = False, 0, time.monotonic(), _live_onlines(session, cid)
    while time.monotonic() < deadline:
        # The firmware queues discovery behind its full-state publish (about 11 s after a
        # connect), 3 configs a second: asking again meanwhile only queues everything twice.
        # Ask again when it reconnected (a new live "online") or went quiet for long.
        now = time.monotonic()
        if len(session.messages) != seen:
            seen, news_at = len(session.messages), now
        if not asked or _live_onlines(session, cid) > onlines or now - news_at > QUIET:
            client.transport.request("GET", f"/ha_discovery?prefix={prefix}")
            asked, news_at, onlines = True, now, _live_onlines(session, cid)
        session.settle(0.3, 2)
        entities = _device_entities(session, me, prefix)
        if covers(entities, everything):
            break
    problems = [f"{e.entity_id}: {p}" for e in entities for p in e.problems]
    if not want:
        problems.append(NOTHING_TO_SWITCH + " (no relay, light, binary input or energy sensor; buttons and LEDs "
                        "create no entity): add those pins to the template")  # fmt: skip
    elif not covers(entities, want):
        problems.append(f"expected {', '.join(want)}; got {len(entities)} entities")
    round_trip = _round_trip(client, session, cid, pins, reporter, info.flags)
    if round_trip.startswith("failed"):
        problems.append(round_trip)
    duplicate = duplicate_evidence(session, me)
    if duplicate:  # explains the failures above: say it first
        problems.insert(0, duplicate + "; give this device another --name")
    return SetupResult(cid, long_name, True, sorted(entities, key=lambda e: e.entity_id), round_trip, problems)


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


def _round_trip(client: ObkClient, session: Session, cid: str, pins: Pins, reporter: Reporter, flags: int = 0) -> str:
    channels = pins.relay_channels()
    if not channels and "light" in expected(pins, flags):
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
