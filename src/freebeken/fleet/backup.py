"""A configuration backup of every device: what ``device save`` keeps, one file per MAC in a
dated folder, never over an existing file."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .. import events
from ..device.client import ObkClient
from ..device.config import DeviceConfig, save_config
from ..errors import FreebekenError
from ..events import NullReporter, Reporter
from ..storage import create_private, data_dir
from .inventory import FleetDevice


@dataclass
class FleetBackup:
    folder: Path
    saved: dict[str, Path] = field(default_factory=dict)  # client id -> file
    failed: dict[str, str] = field(default_factory=dict)  # client id -> why
    skipped: dict[str, str] = field(default_factory=dict)  # client id -> why (ghosts: no device to save)
    configs: dict[str, DeviceConfig] = field(default_factory=dict)  # client id -> what the file holds

    def as_dict(self) -> dict[str, object]:
        return {
            "folder": str(self.folder),
            "saved": {c: str(p) for c, p in self.saved.items()},
            "failed": self.failed,
            "skipped": self.skipped,
        }


def new_folder(parent: Path | None = None) -> Path:
    """``fleet-YYYYmmdd-HHMMSS`` (a suffix when two start in one second); never an existing one."""
    parent = parent or data_dir() / "fleet-backups"
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        folder = parent / (f"fleet-{stamp}" + (f"-{n}" if n else ""))
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise FreebekenError(f"Cannot make a new backup folder in {parent}")


def backup_fleet(
    devices: list[FleetDevice],
    folder: Path | None = None,
    password: str | None = None,
    parallel: int = 8,
    reporter: Reporter | None = None,
) -> FleetBackup:
    """Save each online device's configuration over HTTP; a device that fails is reported, the
    others go on."""
    reporter = reporter or NullReporter()
    result = FleetBackup(folder or new_folder())
    targets = [d for d in devices if d.online]
    for d in devices:
        if d.ghost_of:
            result.skipped[d.client] = f"a ghost of {d.ghost_of} (an old id a rename left): `freebeken fleet prune` clears it"
        elif not d.online:
            result.failed[d.client] = "offline (its last will is on the broker)"
    events.phase(reporter, f"Saving the configuration of {len(targets)} device(s)", total=len(targets))

    def one(dev: FleetDevice) -> tuple[FleetDevice, DeviceConfig | None, Path | None, str]:
        if not dev.ip:
            return dev, None, None, "it did not say its address (no STATUS 5 answer)"
        try:
            config = save_config(ObkClient(dev.ip, password))
        except FreebekenError as e:
            return dev, None, None, str(e)
        mac = (config.device.get("mac") or dev.mac or dev.client).replace(":", "").lower()
        path = result.folder / f"{mac}.json"
        try:
            create_private(path)
        except FileExistsError:
            return dev, None, None, f"{path.name} exists already (two devices with the MAC {mac}?): not overwritten"
        path.write_text(config.to_json(), encoding="utf-8")
        return dev, config, path, ""

    with ThreadPoolExecutor(max(1, min(parallel, len(targets) or 1))) as pool:
        for done, (dev, config, path, why) in enumerate(pool.map(one, targets), 1):
            if config is not None and path is not None:
                result.saved[dev.client], result.configs[dev.client] = path, config
            else:
                result.failed[dev.client] = why
            events.progress(reporter, done, len(targets))
    return result
