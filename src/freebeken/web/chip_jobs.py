"""The page's jobs with the chip on the adapter: parse, then ``Journey``, then JSON. The chip
decides which journey they belong to (its identity). An RTL8720CF or LN882H (named by the port or
the page's family choice) goes to ``family_jobs``: the same journey, through the families' operations."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import events
from ..convert.family_journey import family_for
from ..convert.journey import PAGE_OWN_FILE, Journey, firmware_for, on_adapter
from ..errors import UsageError
from ..families.base import FamilySpec
from ..families.registry import FAMILIES
from ..firmware.settings import Settings
from . import family_jobs
from .jobs import Job


def family_of_request(port: str, chip: object) -> FamilySpec | None:
    """The family a request names (its port, or the page's family choice; "beken" or none: Beken).
    A simulated port names its chip: a family chosen otherwise is a mistake said in words."""
    named = str(chip or "")
    chosen = family_for(port, None if named in ("", "beken") else named)
    if port.startswith("sim://"):
        by_port = family_for(port)
        if named and (chosen.name if chosen else "beken") != (by_port.name if by_port else "beken"):
            simulated = urlsplit(port).netloc.upper()
            raise UsageError(
                f"The simulated adapter holds a {simulated}, but the page's chip family is {named.upper()}",
                hint="Choose the family of the chip on the adapter (the simulated ports say theirs).",
            )
        return by_port
    return chosen


def refuse_settings(port: str, chip: str | None, settings: Settings | None) -> None:
    """Before linking: the configuration cannot go with the firmware onto these chips."""
    spec = family_of_request(port, chip)
    if spec is not None and settings is not None:
        raise UsageError(
            f"Setting it up while flashing is not available for the {spec.name.upper()}: OpenBeken keeps its settings "
            "there in a store freebeken does not write",
            hint="Untick “set it up while flashing”: after the flash the plug's access point takes your Wi-Fi.",
        )


def family_sim_ports(workdir: Path) -> list[dict[str, str]]:
    """The simulated RTL8720CF and LN882H plugs the page offers (each named with its family)."""
    out = []
    for spec in dict.fromkeys(FAMILIES.values()):
        image = workdir / f"{spec.name}.bin"
        out.append(
            {
                "port": f"sim://{spec.name}?time_scale=0.02&image={image}",
                "label": f"Simulated {spec.name.upper()} plug",
                "family": spec.name,
            }
        )
    return out


def backup(port: str, timeout: float, job: Job, chip: str | None = None) -> dict[str, Any]:
    """Link, back up (or find this chip's backup whose content still matches), read the pins."""
    spec = family_of_request(port, chip)
    if spec is not None:
        return family_jobs.backup(spec, port, timeout, job)
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


def flash(port: str, firmware: str, settings: Settings | None, job: Job, chip: str | None = None) -> dict[str, Any]:
    """Flash safely ("latest": the newest release for the chip on the adapter), with the configuration when given."""
    spec = family_of_request(port, chip)
    if spec is not None:
        refuse_settings(port, chip, settings)
        return family_jobs.flash(spec, port, firmware, job)
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


def restore(port: str, path: Path, other_device: bool, job: Job, chip: str | None = None) -> dict[str, Any]:
    """The way back: the backup on the chip, and the journey told that the firmware is gone."""
    spec = family_of_request(port, chip)
    if spec is not None:
        return family_jobs.restore(spec, port, path, other_device, job)
    with on_adapter(port, job) as io:
        journey = Journey.of_chip(io, port)
        with journey.lock():
            result = journey.restore(io, path, other_device)
            return {**result.as_dict(), "journey": journey.view()}
