"""Every OpenBeken device the broker knows, and what each says about itself.

What the firmware offers for that (new_mqtt.c, json_interface.c): ``<client>/connected`` is
retained ("online" at connect, "offline" as the last will), so subscribing lists every device that
ever connected. The rest is asked, not waited for: ``cmnd/<client>/STATUS`` with "2", "5" and "11"
makes the device publish its firmware (``stat/<client>/STATUS2``: Version, Hardware), network
(``STATUS5``: Hostname, IPAddress, Mac) and uptime (``STATUS11``). The full state it publishes on
its own comes one item a second after connecting - 11 s per device - so it is not relied on.
Home Assistant discovery state is read from the retained ``homeassistant/.../config`` topics.
Two devices with one client id both answer: seen as two MACs for one client id, and flagged.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from ..ha.broker import Broker, Session

STATUS_PARTS = ("2", "5", "11")


@dataclass
class FleetDevice:
    client: str
    online: bool
    name: str = ""
    ip: str = ""  # host, or host:port (simulated devices on one computer)
    mac: str = ""
    chip: str = ""
    build: str = ""  # the firmware's version string, e.g. 1.17.551
    built: str = ""  # its build date and time
    uptime: int | None = None
    discovery: int = 0  # retained Home Assistant discovery configs that name this device's topic
    macs: set[str] = field(default_factory=set)  # more than one: several devices share the client id

    @property
    def shared_client_id(self) -> bool:
        return len(self.macs) > 1

    @property
    def answered(self) -> bool:
        return bool(self.mac or self.build)

    def as_dict(self) -> dict[str, object]:
        return {"client": self.client, "online": self.online, "name": self.name, "ip": self.ip, "mac": self.mac,
                "chip": self.chip, "build": self.build, "built": self.built, "uptime": self.uptime,
                "ha_discovery": self.discovery, "shared_client_id": sorted(self.macs) if self.shared_client_id else []}  # fmt: skip


def inventory(broker: Broker, wait: float = 3.0, session: Session | None = None) -> list[FleetDevice]:
    """Every device on ``broker``: offline ones from their retained last will, online ones with
    what they answered within ``wait`` seconds (those that did not are listed, unanswered)."""
    own = session is None
    session = session or Session(broker)
    try:
        start = len(session.messages)
        session.subscribe("+/connected", "stat/+/STATUS2", "stat/+/STATUS5", "stat/+/STATUS11", "homeassistant/#")
        session.settle(quiet=0.3, limit=max(1.0, wait))  # the broker replays retained topics first
        devices = _connected(session.messages[start:])
        asked = len(session.messages)
        for dev in devices.values():
            if dev.online:
                for part in STATUS_PARTS:
                    session.client.publish(f"cmnd/{dev.client}/STATUS", part, qos=1)
        _collect(session, devices, asked, wait)
        _count_discovery(session.messages[start:], devices)
    finally:
        if own:
            session.close()
    return sorted(devices.values(), key=lambda d: (not d.online, d.name.lower() or d.client.lower()))


def _connected(messages: list[tuple[str, bytes, bool]]) -> dict[str, FleetDevice]:
    devices: dict[str, FleetDevice] = {}
    for topic, payload, _ in messages:
        parts = topic.split("/")
        if len(parts) == 2 and parts[1] == "connected" and payload in (b"online", b"offline"):
            devices[parts[0]] = FleetDevice(parts[0], payload == b"online")
    return devices


def _collect(session: Session, devices: dict[str, FleetDevice], since: int, wait: float) -> None:
    """Read the STATUS answers until every online device gave all three, or ``wait`` passes."""
    want = {(d.client, p) for d in devices.values() if d.online for p in STATUS_PARTS}
    got: set[tuple[str, str]] = set()
    deadline = time.monotonic() + wait
    seen = since
    while True:
        for topic, payload, _ in session.messages[seen:]:
            parts = topic.split("/")
            if len(parts) == 3 and parts[0] == "stat" and parts[1] in devices and parts[2].startswith("STATUS"):
                _apply(devices[parts[1]], parts[2][6:], payload)
                got.add((parts[1], parts[2][6:]))
        seen = len(session.messages)
        if want <= got or time.monotonic() >= deadline:
            return
        session.wait_for(lambda t, p: t.startswith("stat/"), min(0.2, max(0.0, deadline - time.monotonic())), since=seen)


def _apply(dev: FleetDevice, part: str, payload: bytes) -> None:
    try:
        data = json.loads(payload)
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    if part == "2" and isinstance(data.get("StatusFWR"), dict):
        fwr = data["StatusFWR"]
        dev.build, dev.built, dev.chip = str(fwr.get("Version", "")), str(fwr.get("BuildDateTime", "")), str(fwr.get("Hardware", ""))
    elif part == "5" and isinstance(data.get("StatusNET"), dict):
        net = data["StatusNET"]
        mac = str(net.get("Mac", "")).replace(":", "").lower()
        dev.name, dev.ip = str(net.get("Hostname", "")), str(net.get("IPAddress", ""))
        dev.mac = dev.mac or mac
        if mac:
            dev.macs.add(mac)
    elif part == "11" and isinstance(data.get("StatusSTS"), dict):
        value = data["StatusSTS"].get("UptimeSec")
        dev.uptime = int(value) if isinstance(value, int) else dev.uptime


def _count_discovery(messages: list[tuple[str, bytes, bool]], devices: dict[str, FleetDevice]) -> None:
    """Retained discovery configs by the device topic they name ("~", or the state topic's start)."""
    configs: dict[str, bytes] = {}
    for topic, payload, retained in messages:
        if topic.startswith("homeassistant/") and topic.endswith("/config") and retained:
            configs[topic] = payload  # the newest copy of each topic
    for payload in configs.values():
        try:
            data = json.loads(payload) if payload else None
        except ValueError:
            continue
        if isinstance(data, dict):
            base = str(data.get("~") or str(data.get("stat_t", "")).split("/", 1)[0])
            if base in devices:
                devices[base].discovery += 1
