"""``freebeken ha setup|check|remove``: configure a device for Home Assistant over MQTT and prove,
on the broker itself, that Home Assistant will see it."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

from .. import events
from ..device.client import ObkClient, Pins
from ..errors import DeviceError
from ..events import NullReporter, Reporter
from .broker import Broker, BrokerError, Session
from .discovery import ID_OK, Entity, parse

BUTTON_ROLES = ("Btn", "Btn_n", "Btn_Tgl_All", "Btn_Tgl_All_n", "Btn_pd", "Btn_pd_n")


def ha_safe_id(text: str) -> str:
    """A client id that is also a clean topic and HA object id: lowercase [a-z0-9_-]."""
    slug = re.sub(r"[^a-z0-9_-]+", "_", text.lower()).strip("_-")
    return slug or "obk_device"


def ha_safe_name(text: str) -> str:
    """The long name becomes unique_ids and topics: keep letters, digits, _ - and spaces."""
    return re.sub(r"[^A-Za-z0-9_ -]+", "_", text).strip() or "OpenBeken"


def expected(pins: Pins, flags: int) -> list[str]:
    """The controllable entities the device's pins should produce (reference §6.4)."""
    roles = set(pins.roles)
    out = [f"switch for channel {ch}" for ch in pins.relay_channels()]
    pwm = sum(r in ("PWM", "PWM_n") for r in pins.roles)
    if pwm in (1, 2, 3, 5) or roles & {"SM2135DAT", "BP5758D_DAT", "BP1658CJ_DAT", "SM2235DAT", "KP18058_DAT"}:
        out.append("light")
    out += [f"binary_sensor for channel {ch}" for ch in sorted({pins.channels[p] for p, r in enumerate(pins.roles) if r.startswith("dInput")})]
    if {"BL0937CF", "BL0937CF1"} <= roles:
        out.append("energy sensors")
    if flags >> 34 & 1:
        out = [e.replace("switch", "light") for e in out]
    return out


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


def _device_entities(session: Session, client_id: str, prefix: str) -> list[Entity]:
    return [parse(t, d) for t, d in _configs(session, client_id).items() if t.startswith(prefix + "/")]


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
        session.subscribe(f"{cid}/connected", f"{cid}/+/get", f"{prefix}/+/+/config")
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
        events.phase(reporter, "Publishing Home Assistant discovery")
        want = expected(pins, info.flags)
        deadline = time.monotonic() + timeout
        entities: list[Entity] = []
        ask_again = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() >= ask_again:  # asked again in case the device was reconnecting
                client.transport.request("GET", f"/ha_discovery?prefix={prefix}")
                ask_again = time.monotonic() + 5
            session.settle(0.3, 2)
            entities = _device_entities(session, cid, prefix)
            if _covers(entities, want):
                break
        problems = [f"{e.entity_id}: {p}" for e in entities for p in e.problems]
        if not _covers(entities, want):
            problems.append(f"expected {', '.join(want) or 'at least one entity'}; got {len(entities)} entities")
        round_trip = _round_trip(client, session, cid, pins, reporter)
        if round_trip.startswith("failed"):
            problems.append(round_trip)
    return SetupResult(cid, long_name, True, sorted(entities, key=lambda e: e.entity_id), round_trip, problems)


def _covers(entities: list[Entity], want: list[str]) -> bool:
    components = [e.component for e in entities]
    for item in want:
        kind = item.split()[0]
        if kind == "energy":
            kind = "sensor"
        if kind not in components:
            return False
        components.remove(kind)
    return bool(entities) or not want


def _round_trip(client: ObkClient, session: Session, cid: str, pins: Pins, reporter: Reporter) -> str:
    channels = pins.relay_channels()
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


# ---------------------------------------------------------------------------- check / remove


@dataclass(frozen=True)
class Diagnosis:
    code: str
    message: str
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.code == "ok"


def _identify(target: str, password: str | None) -> tuple[str, ObkClient | None]:
    """HOST (an OBK device: IP, name.local, host:port) or a bare MQTT client id."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", target) and not target.isdigit():
        return target, None
    client = ObkClient(target, password)
    return client.info().mqtt_client, client


def _configs(session: Session, cid: str, since: int = 0, retained_only: bool = False) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for topic, payload, retained in session.messages[since:]:
        if topic.endswith("/config") and payload and (retained or not retained_only):
            try:
                data = json.loads(payload)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict) and data.get("~") == cid:
                out[topic] = data
    return out


def check(target: str, broker: Broker, *, prefix: str = "homeassistant", password: str | None = None) -> list[Diagnosis]:
    """Plain-language diagnoses of why a device does not show up in Home Assistant."""
    try:
        session = Session(broker)
    except BrokerError as e:
        code = "bad-credentials" if "login" in str(e) else "broker-unreachable"
        return [Diagnosis(code, str(e), e.hint)]
    with session:
        cid, client = _identify(target, password)
        session.subscribe(f"{cid}/connected", "+/+/+/config", "+/+/+/+/config")
        session.settle(0.5, 5)
        retained = _configs(session, cid, retained_only=True)
        state = next((p for t, p, _ in session.messages if t == f"{cid}/connected"), None)
        fresh: dict[str, dict] = {}
        if client is not None and state == b"online":
            mark = len(session.messages)  # ask the device what it announces today
            client.transport.request("GET", f"/ha_discovery?prefix={prefix}")
            session.settle(0.7, 8)
            fresh = _configs(session, cid, since=mark)
    out: list[Diagnosis] = []
    if state is None:
        out.append(Diagnosis("device-not-connected", f"The device ({cid}) has never connected to this broker",
                             "Check the MQTT host/port/user on the device (freebeken ha setup), and that it is on Wi-Fi."))  # fmt: skip
    elif state != b"online":
        out.append(Diagnosis("device-offline", f"The device ({cid}) is offline (its last will says {state.decode()!r})",
                             "Power the device and check its Wi-Fi; it reconnects within about 15 s."))  # fmt: skip
    configs = {**retained, **fresh}
    ours = {t: d for t, d in configs.items() if t.startswith(prefix + "/")}
    elsewhere = sorted({t.split("/")[0] for t in configs if not t.startswith(prefix + "/")})
    if not ours and elsewhere:
        out.append(Diagnosis("prefix-mismatch", f"The device's discovery is under {', '.join(elsewhere)!r}, Home Assistant reads {prefix!r}",
                             f"Run freebeken ha setup with --prefix {prefix}, or set Home Assistant's discovery prefix."))  # fmt: skip
    for topic, data in ours.items():
        entity = parse(topic, data)
        if entity.component == "?":
            out.append(Diagnosis("bad-ids", entity.problems[0], "Rename the device with letters, digits, _ and - only (freebeken ha setup --name)."))
            continue
        for problem in entity.problems:
            out.append(Diagnosis("invalid-entity", f"{entity.entity_id}: {problem}", "Update OpenBeken; Home Assistant rejects this payload."))
        if fresh and topic in retained and topic not in fresh:
            out.append(Diagnosis("stale-config", f"{topic} is left over from an earlier name of the device",
                                 "Clear it with freebeken ha remove, then run freebeken ha setup again."))  # fmt: skip
    if not ours and not elsewhere and state is not None:
        roles = set(client.pins().roles) if client else set()
        if roles and roles <= set(BUTTON_ROLES) | {"None", "WifiLED", "WifiLED_n"}:
            out.append(Diagnosis("no-entities", "The device's template has only buttons and LEDs, which create no Home Assistant entities",
                                 "Add the relay (Rel) or light pins to the template; a button alone is not an entity."))  # fmt: skip
        else:
            out.append(Diagnosis("no-discovery", "No discovery configs from this device on the broker",
                                 "Enable automatic discovery (freebeken ha setup does), or start discovery in OpenBeken."))  # fmt: skip
    return out or [Diagnosis("ok", f"{cid} is online and announces {len(ours)} entities to Home Assistant")]


def remove(target: str, broker: Broker, *, password: str | None = None) -> list[str]:
    """Clear the device's retained discovery configs (empty retained payloads), any prefix."""
    cid, _ = _identify(target, password)
    cleared = []
    with Session(broker) as session:
        session.subscribe("+/+/+/config", "+/+/+/+/config")
        session.settle(0.5, 5)
        for topic in _configs(session, cid, retained_only=True):
            session.publish(topic, b"", retain=True)
            cleared.append(topic)
    return cleared
