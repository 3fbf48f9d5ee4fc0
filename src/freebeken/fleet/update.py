"""Over-the-air update of a fleet: backup first, one canary, then the rest a few at a time; each
device proven afterwards (back on the broker, on the new build, with the same configuration);
the rollout stops at the first failure.

The firmware's side (see ``firmware/ota.py``): ``POST /api/ota`` with the .rbl image, then
``POST /api/reboot``; the bootloader installs the image at that boot, or keeps the old firmware
when it is not valid - so only the build the device reports afterwards says whether it worked.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .. import events
from ..device.client import ObkClient
from ..device.config import DeviceConfig, save_config
from ..device.http import SocketTransport
from ..errors import FreebekenError
from ..events import NullReporter, Reporter
from ..firmware.ota import OtaImage
from ..ha.broker import Session
from .backup import FleetBackup, backup_fleet
from .inventory import FleetDevice, version_of


@dataclass
class DeviceUpdate:
    client: str
    #: updated | skipped (nothing to do: offline, already there, no image for its chip) | not updated
    #: (it should have been, but cannot be told apart or did not answer) | failed | not started
    outcome: str
    why: str = ""
    before: str = ""
    after: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class FleetUpdate:
    devices: list[DeviceUpdate] = field(default_factory=list)
    backup: FleetBackup | None = None
    stopped_by: str = ""  # the client whose failure stopped the rollout

    @property
    def ok(self) -> bool:
        return not any(d.outcome in ("failed", "not started", "not updated") for d in self.devices)

    def count(self, outcome: str) -> int:
        return sum(d.outcome == outcome for d in self.devices)

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "stopped_by": self.stopped_by,
            "backup": self.backup.as_dict() if self.backup else None,
            "devices": [d.as_dict() for d in self.devices],
            **{k: self.count(k) for k in ("updated", "skipped", "not updated", "failed", "not started")},
        }


def plan(devices: list[FleetDevice], images: dict[str, OtaImage]) -> tuple[list[FleetDevice], list[DeviceUpdate]]:
    """Which devices get an image, and why the others do not (never another chip's image)."""
    targets, skipped = [], []
    for dev in devices:
        outcome, why = _skip_reason(dev, images.get(dev.chip.upper()))
        if why:
            skipped.append(DeviceUpdate(dev.client, outcome, why, before=dev.build))
        else:
            targets.append(dev)
    return targets, skipped


def _skip_reason(dev: FleetDevice, image: OtaImage | None) -> tuple[str, str]:
    """("skipped" | "not updated", why), or ("", "") for a device to update. "not updated" keeps
    the exit code from saying the fleet is done while an online device was left as it was."""
    if dev.ghost_of:
        return "skipped", f"a ghost of {dev.ghost_of} (an old client id left by a rename): `freebeken fleet prune` clears it"
    if not dev.online:
        return "skipped", "offline"
    if not (dev.chip and dev.ip and dev.build):
        return "not updated", "it did not answer STATUS (no build, chip or address known): run the update again"
    if image is None:
        return "skipped", f"no image for its chip {dev.chip}"
    if dev.shared_client_id:
        return "not updated", f"several devices share the client id {dev.client}: give each its own, then update again"
    if dev.build == image.version:
        return "skipped", f"already on {image.version}"
    return "", ""


def update_fleet(
    session: Session,
    devices: list[FleetDevice],
    images: dict[str, OtaImage],
    *,
    password: str | None = None,
    parallel: int = 4,
    canary: str | None = None,
    reboot_wait: float = 120.0,
    reporter: Reporter | None = None,
) -> FleetUpdate:
    reporter = reporter or NullReporter()
    targets, skipped = plan(devices, images)
    report = FleetUpdate(skipped)
    if not targets:
        return report
    session.subscribe("+/connected", "stat/+/STATUS2")  # what proves each device back (again: harmless)
    report.backup = backup_fleet(targets, password=password, reporter=reporter)
    for dev in [d for d in targets if d.client in report.backup.failed]:
        report.devices.append(
            DeviceUpdate(dev.client, "failed", f"no configuration backup: {report.backup.failed[dev.client]}", dev.build)
        )
        targets.remove(dev)
    if report.count("failed"):
        report.stopped_by = report.devices[-1].client
        report.devices += [DeviceUpdate(d.client, "not started", "the rollout stopped before it", d.build) for d in targets]
        return report
    first = next((d for d in targets if d.client == canary), targets[0])
    if canary and first.client != canary:
        events.warning(
            reporter,
            f"{canary} is not among the devices to update (offline, skipped or unknown): {first.client} goes first instead",
        )
    rest = [d for d in targets if d is not first]
    stop = threading.Event()
    lock = threading.Lock()

    def run(dev: FleetDevice) -> DeviceUpdate:
        if stop.is_set():
            return DeviceUpdate(dev.client, "not started", f"the rollout stopped after {report.stopped_by} failed", dev.build)
        before = report.backup.configs[dev.client]  # type: ignore[union-attr]  # what the backup just read
        result = _update_one(session, dev, images[dev.chip.upper()], before, password, reboot_wait, reporter)
        if result.outcome == "failed":
            with lock:
                if not stop.is_set():
                    report.stopped_by = dev.client
                    stop.set()
        return result

    events.phase(
        reporter, f"Updating {first.client} first (the canary), then {len(rest)} more, {parallel} at a time", total=len(targets)
    )
    report.devices.append(run(first))
    events.progress(reporter, 1, len(targets))
    with ThreadPoolExecutor(max(1, parallel)) as pool:
        for done, result in enumerate(pool.map(run, rest), 2):
            report.devices.append(result)
            events.progress(reporter, done, len(targets))
    return report


def _update_one(
    session: Session,
    dev: FleetDevice,
    image: OtaImage,
    before: DeviceConfig,
    password: str | None,
    reboot_wait: float,
    reporter: Reporter,
) -> DeviceUpdate:
    start = time.monotonic()
    result = DeviceUpdate(dev.client, "failed", before=dev.build)
    client = ObkClient(dev.ip, password)
    try:
        mark = len(session.messages)
        upload = SocketTransport(dev.ip, password, timeout=60.0, limit=120.0)
        answer = upload.request("POST", "/api/ota", image.data)
        if answer.status != 200:
            raise FreebekenError(f"the device refused the image (HTTP {answer.status})")
        client.transport.request("POST", "/api/reboot")
    except FreebekenError as e:
        result.why = f"the upload broke off: {e}"
        back = _back_online(session, dev.client, len(session.messages), min(reboot_wait, 30.0))
        result.after = _build(session, dev.client) if back else ""
        if result.after:
            result.why += f" (it is back, on {result.after})"
        result.seconds = time.monotonic() - start
        return result
    if not _back_online(session, dev.client, mark, reboot_wait):
        result.why = f"it did not come back online on the broker within {reboot_wait:.0f} s"
    else:
        result.after = _build(session, dev.client)
        if result.after != image.version:
            result.why = (
                f"it came back on {result.after or 'an unknown build'}, not {image.version}: the bootloader "
                "kept the old firmware (it did not accept the image)"
            )
        else:
            problem = _same_config(session, dev, before, password)
            result.outcome, result.why = ("failed", problem) if problem else ("updated", "")
    result.seconds = time.monotonic() - start
    events.info(reporter, f"{dev.client}: {result.outcome}" + (f" ({result.why})" if result.why else f", now {result.after}"))
    return result


def _back_online(session: Session, client: str, since: int, wait: float) -> bool:
    """A live "online" after ``since``: the device rebooted and reconnected (retained copies do not count)."""
    topic = f"{client}/connected"
    return session.wait_for(lambda t, p: t == topic and p == b"online", wait, since=since, live_only=True) is not None


def _build(session: Session, client: str) -> str:
    mark = len(session.messages)
    session.client.publish(f"cmnd/{client}/STATUS", "2", qos=1)
    found = session.wait_for(lambda t, p: t == f"stat/{client}/STATUS2", 10.0, since=mark)
    try:
        return version_of(str(json.loads(found[1])["StatusFWR"]["Version"])) if found else ""
    except (ValueError, KeyError, TypeError):
        return ""


def _same_config(session: Session, dev: FleetDevice, before: DeviceConfig, password: str | None) -> str:
    """'' when pins, flags, startup command, names and MQTT settings survived the update."""
    try:
        after_client = ObkClient(dev.ip, password)
        after, info = save_config(after_client), after_client.info()
    except FreebekenError as e:
        return f"updated, but its configuration cannot be read back: {e}"
    changed = [
        what
        for what, a, b in (
            ("pins", {p: r.text() for p, r in before.pins.items()}, {p: r.text() for p, r in after.pins.items()}),
            ("flags", before.flags, after.flags),
            ("startup command", before.startup, after.startup),
            ("name", before.device.get("short_name"), after.device.get("short_name")),
            ("MQTT client id", dev.client, info.mqtt_client),
        )
        if a != b
    ]
    return f"updated, but its configuration changed ({', '.join(changed)}): restore it from the backup" if changed else ""
