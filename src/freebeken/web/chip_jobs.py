"""The page's jobs with the chip on the adapter: parse, then ``Journey``, then JSON. The chip
decides which journey they belong to (its identity)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import events
from ..convert.journey import PAGE_OWN_FILE, Journey, firmware_for, on_adapter
from ..firmware.settings import Settings
from .jobs import Job


def backup(port: str, timeout: float, job: Job) -> dict[str, Any]:
    """Link, back up (or find this chip's backup whose content still matches), read the pins."""
    with on_adapter(port, job, timeout=timeout) as io:
        journey = Journey.of_chip(io, port)
        with journey.lock():
            kept = journey.back_up(io)
            name = Path(kept.path or "").name
            events.info(
                job, f"Backup saved: {name}" if kept.made else f"This chip already has a backup whose content matches it: {name}"
            )
            journey.analyze(job)
            return {"info": io.info.as_dict(), "journey": journey.view()}


def flash(port: str, firmware: str, settings: Settings | None, job: Job) -> dict[str, Any]:
    """Flash safely ("latest": the newest release for the chip on the adapter), with the configuration when given."""
    with on_adapter(port, job) as io:
        journey = Journey.of_chip(io, port)
        with journey.lock():
            path = firmware_for(io, firmware, PAGE_OWN_FILE)
            if firmware == "latest":
                events.info(job, f"Using {path.name}, the newest release for this {io.chip.name}")
            outcome = journey.flash(io, path, settings)
            configured = journey.configured if settings is not None else None
            return {
                **outcome.write.as_dict(),
                "firmware": path.name,
                "backup": str(outcome.backup.path) if outcome.backup and outcome.backup.made else None,
                "configured": {"client_id": configured.client_id, "ssid": configured.ssid, "pins": configured.pins or {}}
                if configured
                else None,
                "journey": journey.view(),
            }


def restore(port: str, path: Path, other_device: bool, job: Job) -> dict[str, Any]:
    """The way back: the backup on the chip, and the journey told that the firmware is gone."""
    with on_adapter(port, job) as io:
        journey = Journey.of_chip(io, port)
        with journey.lock():
            result = journey.restore(io, path, other_device)
            return {**result.as_dict(), "journey": journey.view()}
