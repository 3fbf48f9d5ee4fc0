"""Every OpenBeken device the broker knows, and what each says about itself.

What the firmware offers for that (new_mqtt.c, json_interface.c): ``<client>/connected`` is
retained ("online" at connect, "offline" as the last will), so subscribing lists every device that
ever connected. The rest is asked, not waited for: ``cmnd/<client>/STATUS`` with "2", "5" and "11"
makes the device publish its firmware (``stat/<client>/STATUS2``: Version, Hardware), network
(``STATUS5``: Hostname, IPAddress, Mac) and uptime (``STATUS11``). The full state it publishes on
its own comes one item a second after connecting - 11 s per device - so it is not relied on.
Home Assistant discovery state is read from the retained ``homeassistant/.../config`` topics.
Two devices with one client id kick each other off the broker (the broker drops the older
connection of a client id), so that id flips between online and offline; each time it comes
online it is asked again, the MACs that answer are collected, and more than one is flagged.
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
    flips: int = 0  # live online/offline changes seen while listing
    ghost_of: str = ""  # an offline id left by a rename: the live device (client id) it belongs to
    names: set[str] = field(default_factory=set)  # dev.ids and dev.cu its retained discovery configs carry
    config_topics: list[str] = field(default_factory=list)  # those configs (what prune clears)

    @property
    def shared_client_id(self) -> bool:
        return len(self.macs) > 1 or self.flips >= 3

    @property
    def answered(self) -> bool:
        return bool(self.mac or self.build)

    def as_dict(self) -> dict[str, object]:
        return {
            "client": self.client,
            "online": self.online,
            "name": self.name,
            "ip": self.ip,
            "mac": self.mac,
            "chip": self.chip,
            "build": self.build,
            "built": self.built,
            "uptime": self.uptime,
            "ha_discovery": self.discovery,
            "shared_client_id": sorted(self.macs) if self.shared_client_id else [],
            "ghost_of": self.ghost_of,
        }


def inventory(broker: Broker, wait: float = 3.0, session: Session | None = None) -> list[FleetDevice]:
    """Every device on ``broker``: offline ones from their retained last will, online ones with
    what they answered within ``wait`` seconds (those that did not are listed, unanswered)."""
    own = session is None
    session = session or Session(broker)
    try:
        start = len(session.messages)
        marker = f"freebeken/fleet/{time.monotonic_ns()}"
        session.subscribe("+/connected", "stat/+/STATUS2", "stat/+/STATUS5", "stat/+/STATUS11", "homeassistant/#", marker)
        # The broker sends a subscription's retained messages before anything published after it on
        # the same connection: once our own marker is back, every retained "connected" is here.
        session.publish(marker, b"")
        session.wait_for(lambda t, p: t == marker, max(1.0, wait), since=start)
        devices = _connected(session.messages[start:])
        asked = len(session.messages)
        for dev in devices.values():
            if dev.online:
                _ask(session, dev.client)
        _collect(session, devices, asked, wait)
        _count_discovery(session.messages[start:], devices)
        _find_ghosts(devices, remember(devices))
    finally:
        if own:
            session.close()
    return sorted(devices.values(), key=lambda d: (not d.online, d.name.lower() or d.client.lower()))


def _connected(messages: list[tuple[str, bytes, bool]]) -> dict[str, FleetDevice]:
    devices: dict[str, FleetDevice] = {}
    for topic, payload, retained in messages:
        _note_connected(devices, topic, payload, retained)
    return devices


def _note_connected(devices: dict[str, FleetDevice], topic: str, payload: bytes, retained: bool) -> FleetDevice | None:
    """Apply a ``<client>/connected`` message (the device it concerns, else None); a live one is a flip."""
    client, _, rest = topic.partition("/")
    if rest != "connected" or payload not in (b"online", b"offline"):
        return None
    dev = devices.setdefault(client, FleetDevice(client, False))
    dev.online = payload == b"online"
    dev.flips += not retained
    return dev


def _ask(session: Session, client: str, parts: tuple[str, ...] = STATUS_PARTS) -> None:
    for part in parts:
        session.client.publish(f"cmnd/{client}/STATUS", part, qos=1)


def _collect(session: Session, devices: dict[str, FleetDevice], since: int, wait: float) -> None:
    """Read the answers until every online device gave all three, or ``wait`` passes; a device
    that connects meanwhile (a new one, or one of two sharing a client id) is asked too."""
    want = {(d.client, p) for d in devices.values() if d.online for p in STATUS_PARTS}
    got: set[tuple[str, str]] = set()
    deadline = time.monotonic() + wait
    seen = since
    while True:
        for topic, payload, retained in session.messages[seen:]:
            parts = topic.split("/")
            if len(parts) == 3 and parts[0] == "stat" and parts[1] in devices and parts[2].startswith("STATUS"):
                _apply(devices[parts[1]], parts[2][6:], payload)
                got.add((parts[1], parts[2][6:]))
            elif not retained and (dev := _note_connected(devices, topic, payload, retained)) and dev.online:
                want.update((dev.client, p) for p in STATUS_PARTS)
                _ask(session, dev.client, ("5",) if dev.answered else STATUS_PARTS)
        seen = len(session.messages)
        flapping = any(d.flips >= 2 for d in devices.values())  # a shared client id: listen the whole time
        if (want <= got and not flapping) or time.monotonic() >= deadline:
            answered = {client for client, _ in got}
            for dev in devices.values():
                dev.online = dev.online or dev.client in answered
            return
        session.wait_for(
            lambda t, p: t.startswith("stat/") or t.endswith("/connected"),
            min(0.2, max(0.0, deadline - time.monotonic())),
            since=seen,
        )


def _apply(dev: FleetDevice, part: str, payload: bytes) -> None:
    try:
        data = json.loads(payload)
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    if part == "2" and isinstance(data.get("StatusFWR"), dict):
        fwr = data["StatusFWR"]
        dev.build, dev.built, dev.chip = (
            version_of(str(fwr.get("Version", ""))),
            str(fwr.get("BuildDateTime", "")),
            str(fwr.get("Hardware", "")),
        )
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


def version_of(reported: str) -> str:
    """The firmware's version from StatusFWR's Version, which is DEVICENAME_PREFIX_FULL "_"
    USER_SW_VER (json_interface.c): ``OpenBK7231N_1.17.551`` -> ``1.17.551``."""
    prefix, sep, version = reported.partition("_")
    return version if sep and prefix.startswith("Open") else reported


def _count_discovery(messages: list[tuple[str, bytes, bool]], devices: dict[str, FleetDevice]) -> None:
    """Retained discovery configs by the device topic they name ("~", or the state topic's start)."""
    configs: dict[str, bytes] = {}
    for dev in devices.values():
        dev.config_topics.clear()
    for topic, payload, retained in messages:
        if topic.startswith("homeassistant/") and topic.endswith("/config") and retained:
            configs[topic] = payload  # the newest copy of each topic
    for topic, payload in configs.items():
        try:
            data = json.loads(payload) if payload else None
        except ValueError:
            continue
        if isinstance(data, dict):
            base = str(data.get("~") or str(data.get("stat_t", "")).split("/", 1)[0])
            if base in devices:
                devices[base].discovery += 1
                devices[base].config_topics.append(topic)
                block = data.get("dev")
                block = block if isinstance(block, dict) else {}
                ids = block.get("ids", [])
                devices[base].names.update(f"id:{i}" for i in (ids if isinstance(ids, list) else [ids]))
                if block.get("cu"):
                    devices[base].names.add(f"cu:{block['cu']}")


def _find_ghosts(devices: dict[str, FleetDevice], seen: dict[str, dict[str, str]]) -> None:
    """An offline id is a ghost (left by a rename: its will stays retained forever) when the MAC
    or address it answered with in an earlier listing (``seen``) belongs to a live device under
    another id, or when its discovery names a live device (same identifiers, or its address)."""
    live = [d for d in devices.values() if d.online and d.answered]
    for dev in devices.values():
        if dev.online:
            continue
        was = seen.get(dev.client, {})
        for other in live:
            theirs = other.names | ({f"cu:http://{other.ip}/index"} if other.ip else set())
            same_mac = bool(was.get("mac")) and was.get("mac") == other.mac
            same_ip = bool(was.get("ip")) and was.get("ip") == other.ip
            if same_mac or same_ip or dev.names & theirs:
                dev.ghost_of = other.client
                break


def remember(devices: dict[str, FleetDevice]) -> dict[str, dict[str, str]]:
    """What each client id answered (MAC, address) in this and earlier listings, kept in
    freebeken's data folder: after a rename, only this memory ties the old id to its device."""
    from ..storage import atomic_write, data_dir

    path = data_dir() / "fleet" / "seen.json"
    try:
        seen = json.loads(path.read_text())
        seen = seen if isinstance(seen, dict) else {}
    except (OSError, ValueError):
        seen = {}
    for dev in devices.values():
        if dev.online and dev.mac and not dev.shared_client_id:
            seen[dev.client] = {"mac": dev.mac, "ip": dev.ip}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(seen, indent=1, sort_keys=True).encode())
    except OSError:
        pass  # a listing does not fail for its memory
    return seen


def merge_lan(devices: list[FleetDevice], found: list) -> list[FleetDevice]:
    """Add what a LAN scan (``device.discover.scan``) found: a device the broker knows is matched
    by MAC and gains its address; one the broker does not know is listed from its HTTP answer."""
    by_mac = {d.mac: d for d in devices if d.mac}
    out = list(devices)
    for item in found:
        known = by_mac.get(item.mac)
        if known is not None:
            known.ip = known.ip or item.address
            continue
        build = item.build.rpartition("version ")[2] if "version " in item.build else item.build
        out.append(
            FleetDevice(client="", online=True, name=item.name, ip=item.address, mac=item.mac, chip=item.chipset, build=build)
        )
    return out


def prune(session: Session, ghosts: list[FleetDevice]) -> list[str]:
    """Clear what ghosts left on the broker: their retained will and their discovery configs."""
    cleared = []
    for ghost in ghosts:
        forget(ghost.client)
        for topic in [f"{ghost.client}/connected", *ghost.config_topics]:
            session.publish(topic, b"", retain=True)
            cleared.append(topic)
    return cleared


def forget(client: str) -> None:
    from ..storage import atomic_write, data_dir

    path = data_dir() / "fleet" / "seen.json"
    try:
        seen = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(seen, dict) and seen.pop(client, None) is not None:
        atomic_write(path, json.dumps(seen, indent=1, sort_keys=True).encode())
