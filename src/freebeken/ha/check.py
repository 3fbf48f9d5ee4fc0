"""``freebeken ha check|remove`` and what both need: which retained discovery configs belong to a
device - now, or under an earlier name - and whether another device shares its client id.

``check`` only listens: it never asks the device to publish, so running it changes nothing.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from ..device.client import ObkClient, Pins
from ..device.discover import display_mac, is_mac, normalize_mac
from ..errors import BrokerAuthError
from .broker import Broker, BrokerError, Session
from .discovery import announced, configs_in, covers, driver_causes, missing, parse, unexpected
from .pace import firmware_wait

BUTTON_ROLES = ("Btn", "Btn_n", "Btn_Tgl_All", "Btn_Tgl_All_n", "Btn_pd", "Btn_pd_n")
WATCH = 3.0  # firmware seconds (pace.firmware_wait) check listens for a second device on the same client id


@dataclass(frozen=True)
class Identity:
    """What ties a discovery config to one device. Without a HOST only the client id is known."""

    cid: str
    long_name: str | None = None  # dev.ids of its configs (the firmware's full name)
    ip: str | None = None  # dev.cu of its configs is http://<ip>/index
    mac: str | None = None
    client: ObkClient | None = None
    flags: int = 0

    @classmethod
    def of(cls, target: str, password: str | None = None) -> Identity:
        """HOST (an OBK device: IP, name.local, host:port) or a bare MQTT client id."""
        if re.fullmatch(r"[A-Za-z0-9_-]+", target) and not target.isdigit():
            return cls(target)
        client = ObkClient(target, password)
        info = client.info()
        return cls(info.mqtt_client, client.long_name() or None, info.ip or None, mac_digits(info.mac), client, info.flags)

    def owns(self, data: dict, live: set[str] | frozenset[str] = frozenset()) -> bool:
        """Announced by this device, now or before a rename (same base topic or name). Its address
        (``dev.cu``) alone is no proof - several devices share one (simulated ones, or one IP
        handed on) - so it counts only for a config whose base topic is no live device (``live``:
        client ids online on the broker) and only when this device's address is known."""
        dev = _device_block(data)
        if data.get("~") == self.cid or (self.long_name is not None and self.long_name in _ids(dev)):
            return True
        return (
            self.ip is not None
            and dev.get("cu") == f"http://{self.ip}/index"
            and data.get("~") not in live
            and self.client is not None
        )

    def current(self, data: dict) -> bool:
        dev = _device_block(data)
        return data.get("~") == self.cid and (self.long_name is None or _ids(dev) == [self.long_name])


def _device_block(data: dict) -> dict:
    dev = data.get("dev")
    return dev if isinstance(dev, dict) else {}


def _ids(dev: dict) -> list[str]:
    ids = dev.get("ids", dev.get("identifiers", []))
    return [ids] if isinstance(ids, str) else [str(i) for i in ids] if isinstance(ids, list) else []


def mac_digits(text: str) -> str | None:
    """The MAC as 12 lowercase hex digits (as the firmware publishes it), None if it is not one."""
    return normalize_mac(text) if is_mac(text) else None


def duplicate_evidence(session: Session, me: Identity, since: int = 0) -> str | None:
    """Signs that a second device uses ``me.cid``: the broker drops one for the other (a live last
    will after a live 'online', again and again), and each announces its own MAC/IP on reconnecting."""
    macs: set[str] = set()
    ips: set[str] = set()
    wills, online = 0, False
    for topic, payload, retained in session.messages[since:]:
        if retained:
            continue
        value = payload.decode("utf-8", "replace").strip()
        mac = mac_digits(value) if topic == f"{me.cid}/mac" else None
        if mac:
            macs.add(mac)
        elif topic == f"{me.cid}/ip" and value:
            ips.add(value)
        elif topic == f"{me.cid}/connected":
            if value == "offline" and online:
                wills += 1
            online = online or value == "online"
    foreign = sorted((macs - {me.mac}) if me.mac else macs if len(macs) > 1 else set())
    foreign_ips = sorted((ips - {me.ip}) if me.ip else ips if len(ips) > 1 else set())
    if not foreign and not foreign_ips and wills < 2:
        return None
    seen = ", ".join([f"MAC {display_mac(m)}" for m in foreign] + [f"IP {ip}" for ip in foreign_ips])
    return f"another device uses the MQTT client id {me.cid!r} on this broker: the broker keeps dropping one for the other" + (
        f" (seen: {seen})" if seen else ""
    )


def _state(session: Session, cid: str) -> bytes | None:
    """The latest ``<cid>/connected`` (its last will or "online"), None if it never connected."""
    return next((p for t, p, _ in reversed(session.messages) if t == f"{cid}/connected"), None)


@dataclass(frozen=True)
class Diagnosis:
    code: str
    message: str
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.code == "ok"


def check(
    target: str, broker: Broker, *, prefix: str = "homeassistant", password: str | None = None, watch: float | None = None
) -> list[Diagnosis]:
    """Plain-language diagnoses of why a device does not show up in Home Assistant. Read-only."""
    try:
        session = Session(broker)
    except BrokerError as e:
        code = "bad-credentials" if isinstance(e, BrokerAuthError) else "broker-unreachable"
        return [Diagnosis(code, str(e), e.hint)]
    with session:
        me = Identity.of(target, password)
        session.subscribe(f"{me.cid}/#", "+/+/+/config", "+/+/+/+/config", "+/connected")
        session.settle(0.5, 5)
        mark = len(session.messages)
        if _state(session, me.cid) is not None:  # it has connected here: listen for a second device
            # (two on one client id keep dropping each other: "offline" half the time)
            time.sleep(firmware_wait(WATCH, 0.5) if watch is None else watch)
        duplicate = duplicate_evidence(session, me, mark)
        state = _state(session, me.cid)
        live = online_ids(session) - {me.cid}
        configs = {t: d for t, d in configs_in(session.messages).items() if me.owns(d, live)}
    pins = me.client.pins() if me.client else None
    running = me.client.drivers() if me.client else None
    startup = me.client.info().startup_command if me.client else ""
    return _diagnose(me, state, duplicate, configs, prefix, pins, me.flags, running, startup) or [
        Diagnosis("ok", f"{me.cid} is online and announces {len(configs)} entities to Home Assistant")
    ]


def online_ids(session: Session) -> set[str]:
    """Client ids whose latest ``<id>/connected`` on the broker says "online"."""
    state: dict[str, bytes] = {}
    for topic, payload, _ in session.messages:
        if topic.count("/") == 1 and topic.endswith("/connected"):
            state[topic.split("/")[0]] = payload
    return {cid for cid, p in state.items() if p == b"online"}


def _diagnose(
    me: Identity,
    state: bytes | None,
    duplicate: str | None,
    configs: dict[str, dict],
    prefix: str,
    pins: Pins | None,
    flags: int,
    running: set[str] | None = None,
    startup: str = "",
) -> list[Diagnosis]:
    out: list[Diagnosis] = []
    if pins is not None and running is not None:
        for cause in driver_causes(pins, startup, flags, running).values():
            out.append(
                Diagnosis(
                    "driver-not-running",
                    cause[0].upper() + cause[1:],
                    "freebeken device apply HOST TEMPLATE starts what a template implies; or restart it.",
                )
            )
    if state is None:
        out.append(
            Diagnosis(
                "device-not-connected",
                f"The device ({me.cid}) has never connected to this broker",
                "Check the MQTT host/port/user on the device (freebeken ha setup), and that it is on Wi-Fi.",
            )
        )
    elif state != b"online" and not duplicate:
        out.append(
            Diagnosis(
                "device-offline",
                f"The device ({me.cid}) is offline (its last will says {state.decode()!r})",
                "Power the device and check its Wi-Fi; it reconnects within about 15 s. A battery sensor "
                "sleeps between changes: wake it (open the door, press its button) and check again.",
            )
        )
    if duplicate:
        out.append(
            Diagnosis(
                "duplicate-client-id",
                duplicate[0].upper() + duplicate[1:],
                'Give each device its own name: freebeken ha setup HOST --name "Another name" on one of them.',
            )
        )
    current = {t: d for t, d in configs.items() if me.current(d)}
    ours = {t: d for t, d in current.items() if t.startswith(prefix + "/")}
    elsewhere = sorted({t.split("/")[0] for t in current if not t.startswith(prefix + "/")})
    if not ours and elsewhere:
        out.append(
            Diagnosis(
                "prefix-mismatch",
                f"The device's discovery is under {', '.join(elsewhere)!r}, Home Assistant reads {prefix!r}",
                f"Run freebeken ha setup with --prefix {prefix}, or set Home Assistant's discovery prefix.",
            )
        )
    entities = []
    for topic, data in ours.items():
        entity = parse(topic, data)
        if entity.component == "?":
            out.append(
                Diagnosis(
                    "bad-ids",
                    entity.problems[0],
                    "Rename the device with letters, digits, _ and - only (freebeken ha setup --name).",
                )
            )
            continue
        entities.append(entity)
        for problem in entity.problems:
            out.append(
                Diagnosis(
                    "invalid-entity", f"{entity.entity_id}: {problem}", "Update OpenBeken; Home Assistant rejects this payload."
                )
            )
    for topic, data in sorted(configs.items()):
        if topic not in current:
            was = _ids(_device_block(data)) or [str(data.get("~"))]
            out.append(
                Diagnosis(
                    "stale-config",
                    f"{topic} is left over from an earlier name of this device ({', '.join(map(str, was))})",
                    "Clear it with freebeken ha remove HOST, then run freebeken ha setup again.",
                )
            )
    want = announced(pins, flags, running, startup) if pins is not None else []
    if pins is not None:
        for entity in unexpected(entities, want):
            out.append(
                Diagnosis(
                    "stale-config",
                    f"{entity.topic} ({entity.entity_id}) does not match the device's template now: "
                    "it is left from an earlier one and the device no longer announces it",
                    "Run freebeken ha setup HOST: it clears configs the device does not announce again.",
                )
            )
            entities.remove(entity)
    if ours and want and not covers(entities, want):
        out.append(
            Diagnosis(
                "discovery-incomplete",
                f"The broker holds {len(ours)} of the {len(want)} discovery configs the "
                f"device announces; missing: {', '.join(missing(entities, want))}",
                "Run freebeken ha setup HOST (it asks the device to announce again). The firmware announces by "
                "itself only at boot, on an IP change and on a pin change, and only with flag 27 on.",
            )
        )
    if not ours and not elsewhere and state is not None:
        roles = set(pins.roles) if pins else set()
        if roles and roles <= set(BUTTON_ROLES) | {"None", "WifiLED", "WifiLED_n"}:
            out.append(
                Diagnosis(
                    "no-entities",
                    "The device's template has only buttons and LEDs, which create no Home Assistant entities",
                    "Add the relay (Rel) or light pins to the template; a button alone is not an entity.",
                )
            )
        else:
            out.append(
                Diagnosis(
                    "no-discovery",
                    "No discovery configs from this device on the broker",
                    "Run freebeken ha setup HOST: it enables automatic discovery and asks the device to announce.",
                )
            )
    return out


@dataclass
class RemoveResult:
    cleared: list[str]
    discovery_off: bool  # automatic discovery turned off on the device: boots, IP and pin changes announce nothing
    comes_back: list[str] = field(default_factory=list)  # what would still bring the configs back, in words


# The firmware's rediscovery paths that do not look at flag 27 (cmd_main.c CMD_ScheduleHADiscovery,
# http_fns.c /ha_discovery): clearing configs cannot stop these.
COMES_BACK = [
    "freebeken ha setup (it turns automatic discovery on and asks the device to announce)",
    "the device's own web page (its Home Assistant discovery button, /ha_discovery)",
    "a scheduleHADiscovery command from a script, a rule or MQTT (the firmware runs it whatever flag 27 says)",
]


def remove(target: str, broker: Broker, *, password: str | None = None) -> RemoveResult:
    """Clear every retained discovery config of the device (any prefix, earlier names too). With a
    HOST, automatic discovery (flag 27) is turned off first: the firmware re-announces everything
    at each boot, IP change and pin change otherwise. What still brings them back is returned
    (``comes_back``): the firmware's explicit rediscovery ignores the flag."""
    me = Identity.of(target, password)
    comes_back = list(COMES_BACK)
    if me.client is not None:
        me.client.cmd("SetFlag 27 0")
        startup = me.client.info().startup_command
        if "schedulehadiscovery" in startup.lower():
            comes_back.insert(
                0,
                "the device's own startup command: it runs scheduleHADiscovery at every boot - remove it "
                "(freebeken device apply with a template without it)",
            )
    else:
        comes_back.insert(
            0,
            "the device itself at its next boot, IP change or pin change (automatic discovery is still on: "
            "give the HOST, not the client id, to turn it off)",
        )
    cleared = []
    with Session(broker) as session:
        session.subscribe("+/+/+/config", "+/+/+/+/config", "+/connected")
        session.settle(0.5, 5)
        live = online_ids(session) - {me.cid}
        for topic, data in configs_in(session.messages).items():
            if me.owns(data, live):
                session.publish(topic, b"", retain=True)
                cleared.append(topic)
    with Session(broker) as session:  # proven, not assumed: a fresh subscriber gets no retained copy
        session.subscribe(*{t.rsplit("/", 3)[0] + "/+/+/config" for t in cleared} or {"+/+/+/config"})
        session.settle(0.5, 5)
        left = sorted(t for t in configs_in(session.messages) if t in cleared)
    if left:
        raise BrokerError(
            f"The broker still holds {len(left)} of the configs freebeken cleared ({', '.join(left[:3])}...)",
            hint="The broker user may lack the right to publish there: allow it to write the discovery "
            "prefix (e.g. homeassistant/#) in the broker's ACL, then run ha remove again.",
        )
    return RemoveResult(cleared, me.client is not None, comes_back)
