"""The page's jobs with an RTL8720CF (WBR2/WBR3) or LN882H on the adapter: the same calls as
``chip_jobs`` makes for a Beken, through ``FamilySteps`` (``families.ops`` underneath). The family
comes from the port (``sim://rtl8720cf``) or the person's choice on the page: these chips answer
only with their boot pin held, so nothing can be asked before linking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import events
from ..convert.family_journey import family_firmware, on_family_adapter
from ..convert.journey import PAGE_OWN_FILE, Journey
from ..errors import UsageError
from ..families.base import FamilySpec, device_identity
from ..families.ops import FamilyResult
from .jobs import Job


def _outcome(result: FamilyResult) -> dict[str, Any]:
    """The numbers the page shows, in the Beken write result's names where they mean the same."""
    return {
        "written": result.written,
        "skipped": result.skipped,
        "kept": result.kept,
        "resumed": result.resumed,
        "proven_by": result.proven_by,
        "seconds": result.seconds,
        "readback_seconds": result.readback_seconds,
    }


def backup(spec: FamilySpec, port: str, timeout: float, job: Job) -> dict[str, Any]:
    with on_family_adapter(spec, port, job, timeout=timeout) as fam:
        ident = device_identity(fam)
        journey = Journey.of_family(ident, port)
        with journey.lock():
            kept = journey.back_up_family(fam, job)
            name = Path(kept.path or "").name
            events.info(
                job,
                f"Backup saved: {name}" if kept.made else f"This chip already has a backup of this device: {name}",
            )
            journey.analyze(job)
            mac = ident.mac.hex(":").upper() if ident.mac else None
            info = {"chip": spec.name.upper(), "family": spec.family, "mac": mac, "flash_size": ident.flash_size}
            return {"info": info, "journey": journey.view()}


def flash(spec: FamilySpec, port: str, firmware: str, job: Job) -> dict[str, Any]:
    """The family's release ("latest": downloaded; a file: the person's), refused by its bytes
    before the chip is linked when it is not an image for this chip."""
    path = family_firmware(spec, firmware, PAGE_OWN_FILE)
    if firmware == "latest":
        events.info(job, f"Using {path.name}, the newest release for the {spec.name.upper()}")
    with on_family_adapter(spec, port, job) as fam:
        journey = Journey.of_family(device_identity(fam), port)
        with journey.lock():
            result = journey.flash_family(fam, path, job)
            return {
                **_outcome(result),
                "firmware": path.name,
                "backup": result.backup,
                "configured": None,
                "restart": spec.start_firmware,
                "journey": journey.view(),
            }


def resume(spec: FamilySpec, port: str, job: Job) -> dict[str, Any]:
    with on_family_adapter(spec, port, job) as fam:
        journey = Journey.of_family(device_identity(fam), port)
        with journey.lock():
            result = journey.resume_family(fam, job)
            return {**(_outcome(result) if result else {}), "pending": result is not None, "journey": journey.view()}


def verify(spec: FamilySpec, port: str, given: Path | None, job: Job) -> dict[str, Any]:
    """Does the chip hold ``given`` (a backup), or else the release flashed on this plug?"""
    with on_family_adapter(spec, port, job) as fam:
        journey = Journey.of_family(device_identity(fam), port)
        path = given or journey.flashed_file
        if path is None:
            raise UsageError("Nothing to verify against yet", hint="Flash OpenBeken first, or choose a backup.")
        result = journey.verify_family(fam, path, job)
        return {**_outcome(result), "file": path.name, "size": result.size, "journey": journey.view()}


def restore(spec: FamilySpec, port: str, path: Path, other_device: bool, job: Job) -> dict[str, Any]:
    with on_family_adapter(spec, port, job) as fam:
        journey = Journey.of_family(device_identity(fam), port)
        with journey.lock():
            result = journey.restore_family(fam, path, job, other_device)
            return {**_outcome(result), "journey": journey.view()}
