"""The page's operations, each written into the plug's journey: the state file ``convert`` keeps,
so the page and the command continue each other's work. The chip decides which journey a chip
step belongs to (its identity); the steps after the adapter name their journey."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .. import events
from ..convert import journey
from ..convert.first_boot import record_configure
from ..convert.wizard import Options, State, analyze_step, record_backup, record_flash
from ..firmware.releases import fetch
from ..firmware.settings import Settings
from ..flasher import operations as ops
from ..flasher.backup import identity
from ..flasher.configure import configure_new_firmware
from ..ha.operations import NOTHING_TO_SWITCH, SetupResult
from ..locks import hold
from ..templates.model import Template
from .jobs import Job

BUSY = "this plug's conversion (a `freebeken convert` or another page is running it)"


def chip_journey(io) -> State:
    """The journey of the chip on the adapter (started when it is new)."""
    state = State.load(identity(io.info))
    if not state.done("detect"):
        state.finish("detect", **io.info.as_dict())
    return state


def backup(port: str, timeout: float, job: Job) -> dict[str, Any]:
    """Link, back up (or find this chip's backup whose content still matches), read the pins."""
    with ops.open_chip(port, job, timeout=timeout) as io:
        state = chip_journey(io)
        with hold(state.path, BUSY):
            path, made = ops.ensure_backup(io)
            assert path is not None  # no consent asked: a backup is made when none matches
            events.info(job, f"Backup saved: {path.name}" if made else f"This chip already has a backup whose content matches it: {path.name}")
            record_backup(state, path, made)
            state.data["steps"].pop("analyze", None)  # the pins of this backup, not an earlier one's
            analyze_step(state, Options(), job)
            return {"info": io.info.as_dict(), "journey": journey.view(state)}


def flash(port: str, firmware: str, settings: Settings | None, job: Job) -> dict[str, Any]:
    with ops.open_chip(port, job) as io:
        state = chip_journey(io)
        with hold(state.path, BUSY):
            if firmware == "latest":  # the right release for the chip on the adapter, cached and checked
                firmware = str(fetch(io.info.chip.name.lower()))
                events.info(job, f"Using {Path(firmware).name}, the newest release for this {io.chip.name}")
            made: list[tuple] = []
            result = ops.flash_firmware(io, firmware, before_write=lambda: made.append(ops.ensure_backup(io)))
            if made and made[0][0] is not None and not state.done("backup"):
                record_backup(state, made[0][0], made[0][1])
            record_flash(state, firmware, result)  # the configuration sector is kept: later steps stand
            configured = None
            if settings is not None:
                known = state.get("backup").get("path") or (made[0][0] if made else None)
                if known is None:  # nothing was written (the same image): the stock pins still need a backup
                    path, new = ops.ensure_backup(io)
                    assert path is not None
                    record_backup(state, path, new)
                    known = path
                done = configure_new_firmware(io, settings, Path(known))
                assert settings.broker is not None  # the page's settings always carry one (_settings)
                pins = record_configure(state, done, settings.broker)
                configured = {"client_id": done.config["mqtt_client"], "ssid": done.config["wifi_ssid"], "pins": pins}
    return {**result.as_dict(), "firmware": Path(firmware).name, "backup": str(made[0][0]) if made and made[0][1] else None,
            "configured": configured, "journey": journey.view(state)}  # fmt: skip


def restore(port: str, path: Path, other_device: bool, job: Job) -> dict[str, Any]:
    """The way back: the backup on the chip, and the journey told that the firmware is gone."""
    with ops.open_chip(port, job) as io:
        result = ops.restore_backup(io, path, other_device=other_device)
        state = chip_journey(io)
        with hold(state.path, BUSY):
            for step in ("flash", "configure", "first_boot", "wifi", "template", "home_assistant"):
                state.data["steps"].pop(step, None)
            state.data.pop("wifi_sent", None)
            state.remember("restored", {"path": str(path), "at": time.strftime("%Y-%m-%d %H:%M:%S")})
        return {**result.as_dict(), "journey": journey.view(state)}


def found(name: str | None, host: str, how: str, **record: Any) -> dict[str, Any] | None:
    """The plug is on the home network at ``host``: the network step of its journey is done."""
    if not name:
        return None
    state = journey.load(name)
    with hold(state.path, BUSY):
        step = "first_boot" if how == "first_boot" else "wifi"
        sent = state.data.get("wifi_sent") or {}
        extra = {"ssid": sent.get("ssid"), "mac": sent.get("mac")} if step == "wifi" else {}
        state.finish(step, device=host, **extra, **record)
    return journey.view(state)


def wifi_sent(name: str | None, ssid: str, mac: str) -> None:
    if name:
        state = journey.load(name)
        with hold(state.path, BUSY):
            state.remember("wifi_sent", {"ssid": ssid, "mac": mac})


def applied(name: str | None, template: Template, source: str) -> dict[str, Any] | None:
    if not name:
        return None
    state = journey.load(name)
    with hold(state.path, BUSY):
        state.finish("template", source=source, pins=template.to_entry()["pins"])
    return journey.view(state)


def verdict(result: SetupResult) -> str:
    """Green only when Home Assistant got something to use: "nothing to switch" is a warning."""
    if not result.problems:
        return "verified"
    if all(p.startswith(NOTHING_TO_SWITCH) for p in result.problems):
        return "warning"
    return "failed"


def home_assistant(name: str | None, result: SetupResult) -> dict[str, Any] | None:
    if not name:
        return None
    state = journey.load(name)
    with hold(state.path, BUSY):
        if verdict(result) == "verified":
            state.finish("home_assistant", entities=[e.entity_id for e in result.entities], round_trip=result.round_trip)
    return journey.view(state)
