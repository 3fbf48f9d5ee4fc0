"""One plug's conversion: the methods that do a step and record it (``progress.JourneyRecord``
holds what was done and what the front ends show).

``freebeken convert`` (``wizard.py``) and the local page (``web/app.py``) both drive this class,
so they continue each other's work: a reload, a closed tab or the command line pick up where the
last one stopped. The record is a crash-safe journal file per chip
(``<data dir>/convert/<chip identity>.json``); nothing outside this class reads its raw dicts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import events
from ..chips import ChipProfile
from ..device.client import ObkClient
from ..device.config import apply_template
from ..errors import UsageError
from ..events import Reporter
from ..firmware.releases import ReleaseError, fetch
from ..firmware.settings import Settings
from ..flasher import operations as flash_ops
from ..flasher.backup import identity
from ..flasher.chipio import ChipIO
from ..flasher.configure import ConfigureResult, configure_new_firmware
from ..flasher.safely import ENSURE, Backup, BackupPolicy, FlashOutcome, ensure_backup, flash_safely
from ..flasher.write import WriteResult
from ..ha.operations import NOTHING_TO_SWITCH, SetupResult
from ..sim import plug as sim_plug
from ..storage import sha256
from ..templates import lists
from ..templates.model import Template, from_entry
from ..tuya.analyze import analyze_bytes
from . import family_plug
from .family_journey import FamilySteps
from .progress import BUSY, folder
from .records import (
    Analyzed,
    BackedUp,
    Configured,
    Detected,
    FirstBoot,
    Flashed,
    HaVerified,
    OnWifi,
    Simulated,
    Step,
    TemplateApplied,
    WifiSent,
)

__all__ = ["BUSY", "Journey", "firmware_for", "folder", "locked", "on_adapter", "verdict"]


def verdict(result: SetupResult) -> str:
    """Green only when Home Assistant got something to use: "nothing to switch" is a warning."""
    if not result.problems:
        return "verified"
    if all(p.startswith(NOTHING_TO_SWITCH) for p in result.problems):
        return "warning"
    return "failed"


class Journey(FamilySteps):
    """A plug's conversion: its record, and the methods that do a step and record it."""

    @classmethod
    def of_chip(cls, io: ChipIO, port: str | None = None) -> Journey:
        """The journey of the chip on the adapter ``port`` (started when it is new); a simulated
        chip's flash file is remembered: it is what the plug boots from once off the adapter."""
        journey = cls.of_identity(identity(io.info))
        if journey.detected is None:
            info = io.info.as_dict()
            mac = info.pop("mac")
            journey._finish(Detected(str(info.pop("chip")), str(mac) if mac else None, info))
        image = sim_plug.image_of(port)
        known = journey.simulated
        if image is not None and (known is None or known.image != str(image)):
            journey._remember("simulated", Simulated(str(image)).to_json())
        return journey

    def forget(self) -> None:
        """Start this plug's journey over: what was done is forgotten (its backups stay where they are)."""
        sim = self.simulated
        if sim is not None:
            family_plug.unplug(Path(sim.image))
        self.path.unlink(missing_ok=True)
        self._data.clear()
        self._data.update({"identity": self.path.stem, "steps": {}})

    # ---- a simulated plug, off the adapter ----
    def power_on(self, reporter: Reporter) -> sim_plug.SimPlug:
        """Power the simulated plug from its flash (on the port it served last, so its address
        stays); when that port was taken, its new address replaces the one it had (an address the
        person gave instead is kept)."""
        sim = self.simulated
        if sim is None:
            raise UsageError("This is a real plug: power it from its socket", hint="Only a simulated plug is powered from here.")
        spec = self.family
        if spec is not None:  # an RTL8720CF/LN882H plug: OpenBeken's access point, from its flash
            self.power_on_family(spec, reporter)
            running = family_plug.running(Path(sim.image))
            assert running is not None
            return running
        plug = sim_plug.power_on(Path(sim.image), sim.port)
        if plug.address is None:
            events.warning(reporter, f"The simulated plug booted but is on no network: {plug.boot.why}")
            return plug
        port = int(plug.address.rsplit(":", 1)[1])
        self._remember("simulated", Simulated(sim.image, port).to_json())
        events.info(
            reporter,
            f"The simulated plug is powered on ({plug.boot.why}) and serves at {plug.address}; it boots from {sim.image}",
        )
        if self.device_address == f"127.0.0.1:{sim.port}" != plug.address:
            self.found(plug.address)
        return plug

    def power_off(self) -> None:
        """Unplug the simulated plug (a real one is unplugged by hand)."""
        sim = self.simulated
        if sim is not None:
            family_plug.unplug(Path(sim.image))

    def powered(self, reporter: Reporter) -> sim_plug.SimPlug | None:
        """The running simulated plug, powered on when it is off (a new run of convert, a restarted page); None: a real plug."""
        sim = self.simulated
        if sim is None:
            return None
        return family_plug.running(Path(sim.image)) or self.power_on(reporter)

    def press(self, number: int = 1) -> int:
        """Press the simulated plug's button ``number`` (the pin finder asks for it); returns its pin."""
        sim = self.simulated
        plug = family_plug.running(Path(sim.image)) if sim else None
        if plug is None:
            raise UsageError("The simulated plug is not powered", hint="Power it on first.")
        return plug.press(number)

    def back_up(self, io: ChipIO) -> BackedUp:
        """This chip's backup (an existing one whose content matches it, else a new one); the pins
        read from an earlier backup are forgotten."""
        kept = ensure_backup(io, ENSURE)
        assert kept is not None  # ENSURE asks nobody and never declines
        self._data["steps"].pop(Step.ANALYZE, None)
        return self._record_backup(kept)

    def skip_backup(self) -> None:
        self._finish(BackedUp(None, skipped=True))

    def _record_backup(self, kept: Backup) -> BackedUp:
        """What a person needs to trust the backup later: where it is, its hash, whether it is new."""
        record = BackedUp(str(kept.path), False, sha256(kept.path.read_bytes()), kept.path.stat().st_size, kept.made)
        self._finish(record)
        return record

    def analyze(self, reporter: Reporter, devices_json: str | None = None) -> Analyzed:
        """The pins and module the backup holds, and the device list's name for those pins."""
        backed_up = self.backed_up
        if backed_up is None or not backed_up.path:
            record = Analyzed(None, ["no backup: pins will be found with the pin finder"])
        else:
            try:
                result = analyze_bytes(Path(backed_up.path).read_bytes(), backed_up.path).as_dict()
            except UsageError:
                if self.family is None:
                    raise
                # analyze knows Tuya's storage, not every family's flash layout: no pins is no failure here
                result = {
                    "template": None,
                    "notes": [],
                    "warnings": ["no Tuya configuration found in the backup"],
                    "module": None,
                }
            template = result["template"] if result["template"] and result["template"]["pins"] else None
            known = lists.best_match(from_entry(template)[0], devices_json, reporter, say_unknown=True) if template else None
            if known is not None:
                events.info(reporter, f"Known as: {known.describe()}")
            notes = result["notes"] + result["warnings"]
            record = Analyzed(template, notes, result["module"], known.describe() if known else None)
        self._finish(record)
        return record

    def flash(
        self, io: ChipIO, firmware: str | Path, settings: Settings | None = None, backup_policy: BackupPolicy = ENSURE
    ) -> FlashOutcome:
        """Flash safely (backup first when the chip has none; the configuration when ``settings``
        are given) and record what was done. The configuration sector is kept otherwise: later steps stand."""
        outcome = flash_safely(io, firmware, backup_policy=backup_policy, settings=settings)
        if outcome.backup is not None and self.backed_up is None:
            self._record_backup(outcome.backup)
        w = outcome.write
        self._finish(Flashed(outcome.firmware.name, w.written, w.skipped, w.resumed))
        if outcome.configured is not None and settings is not None:
            self._record_configured(outcome.configured, settings)
        return outcome

    def configure(self, io: ChipIO, settings: Settings) -> Configured:
        """The configuration alone, for a plug flashed in an earlier run without it."""
        kept = self.backed_up
        done = configure_new_firmware(io, settings, Path(kept.path) if kept and kept.path else None)
        return self._record_configured(done, settings)

    def _record_configured(self, done: ConfigureResult, settings: Settings) -> Configured:
        cfg = done.config  # the names as the chip holds them (the name may have been made safe)
        pins = cfg.as_dict()["pins"]
        record = Configured(
            cfg["wifi_ssid"], cfg["mqtt_client"], cfg["long_name"], str(settings.broker), pins or None, done.changed
        )
        self._finish(record)
        return record

    def restore(self, io: ChipIO, path: Path, other_device: bool) -> WriteResult:
        """The way back: the backup on the chip, and the firmware's steps forgotten."""
        result = flash_ops.restore_backup(io, path, other_device=other_device)
        self._forget_firmware(path)
        return result

    def send_wifi(self, client: ObkClient, ssid: str, password: str) -> WifiSent:
        """The home Wi-Fi sent to the plug's access point; its MAC recognises it on the home network."""
        sent = WifiSent(ssid, client.join_wifi(ssid, password))
        self._remember("wifi_sent", sent.to_json())
        return sent

    def found(self, host: str) -> None:
        """The plug is on the home network at ``host``: the network step is done (the configured
        path's first boot, or the access-point way)."""
        if self.configured is not None:
            self._finish(FirstBoot(host))
        else:
            sent = self.wifi_sent
            self._finish(OnWifi(host, sent.ssid if sent else None, sent.mac if sent else None))

    def apply(self, client: ObkClient, template: Template, source: str) -> TemplateApplied:
        """The template on the live plug, and what it implies running there (DriverNotRunning if not)."""
        outcome = apply_template(client, template)
        record = TemplateApplied(source, template.to_entry()["pins"], sorted(outcome.implied & outcome.running), outcome.lines())
        self._finish(record)
        return record

    def home_assistant(self, result: SetupResult) -> str:
        """Record Home Assistant's verdict; only a verified one finishes the step."""
        said = verdict(result)
        if said == "verified":
            self._finish(HaVerified([e.entity_id for e in result.entities], result.round_trip))
        return said

    def save_template(self, text: str) -> None:
        """The template as the person left it in the box: flashing and applying use it."""
        self._data["pins_reviewed"] = True
        self._remember("template_text", text)

    def skip_home_assistant(self) -> None:
        self._remember("ha_skipped", True)

    def finish_all(self) -> None:
        self._remember("complete", True)


CLI_OWN_FILE = "`freebeken convert --firmware {name}` with the same options continues where it stopped"
PAGE_OWN_FILE = "choose “My own file” above, pick it and press Flash: nothing was written yet"


def firmware_for(io: ChipIO, requested: str | None, own_file: str = CLI_OWN_FILE) -> Path:
    """The release to flash: the person's file, else ("latest" or none) the newest for the chip on
    the adapter, downloaded once and checked. Offline, the error says how to bring the file (in
    the words of the front end: ``own_file``), never the download library's own text."""
    if requested and requested != "latest":
        return Path(requested)
    try:
        return fetch(io.info.chip.name.lower())
    except ReleaseError as e:  # offline: the same journey with a file brought from elsewhere
        raise offline(e, io.info.chip, own_file) from None


def offline(e: ReleaseError, chip: ChipProfile, own_file: str) -> ReleaseError:
    """A release that could not be downloaded, in words (never the download library's text), and
    how to bring the file from elsewhere (``own_file``: the front end's way to use it)."""
    cause = e.__cause__ or e.__context__
    if cause is None:  # not a download failure (no such release, a damaged download): its own words
        return e
    name = f"{chip.firmware_prefix}<version>.bin"
    return ReleaseError(
        f"Cannot download OpenBeken for the {chip.name} ({lists.why(cause)})",
        hint=f"Without internet here: download {name} from the OpenBeken releases page "
        f"(github.com/openshwprojects/OpenBK7231T_App/releases) on another computer, copy it over, and "
        + own_file.format(name=name)
        + ".",
    )


@contextlib.contextmanager
def on_adapter(port: str, reporter: Reporter, **kwargs: Any) -> Iterator[ChipIO]:
    """The chip on the adapter. A plug is either there or powered: a simulated plug booted from
    the same flash file is switched off first (its flash is the chip's)."""
    if sim_plug.unplug(sim_plug.image_of(port)):
        events.info(reporter, "The simulated plug was switched off: it is on the adapter now")
    with flash_ops.open_chip(port, reporter, **kwargs) as io:
        yield io


@contextlib.contextmanager
def locked(ident: str) -> Iterator[Journey]:
    """An existing journey, held for a change (the page's steps after the adapter name their plug)."""
    journey = Journey.load(ident)
    with journey.lock():
        yield journey
