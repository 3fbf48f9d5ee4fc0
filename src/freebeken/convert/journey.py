"""One plug's conversion: what was done, and the methods that do a step and record it.

``freebeken convert`` (``wizard.py``) and the local page (``web/app.py``) both drive this class,
so they continue each other's work: a reload, a closed tab or the command line pick up where the
last one stopped. The record is a crash-safe journal file per chip
(``<data dir>/convert/<chip identity>.json``); nothing outside this class reads its raw dicts.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from .. import events
from ..device.client import ObkClient
from ..device.config import apply_template
from ..errors import UsageError
from ..firmware.releases import ReleaseError, fetch
from ..firmware.settings import Settings
from ..flasher import operations as flash_ops
from ..flasher.backup import identity
from ..flasher.chipio import ChipIO
from ..flasher.configure import ConfigureResult, configure_new_firmware
from ..flasher.journal import Journal
from ..flasher.safely import ENSURE, Backup, BackupPolicy, FlashOutcome, ensure_backup, flash_safely
from ..flasher.write import WriteResult
from ..ha.operations import NOTHING_TO_SWITCH, SetupResult
from ..locks import hold
from ..events import Reporter
from ..storage import data_dir, sha256
from ..templates import lists
from ..templates.model import Template, TemplateSyntaxError, from_entry
from ..templates.model import load as load_templates
from ..tuya.analyze import analyze_bytes
from .records import (
    AFTER_FLASH,
    Analyzed,
    BackedUp,
    Configured,
    Detected,
    FirstBoot,
    Flashed,
    HaVerified,
    OnWifi,
    PageStep,
    Record,
    Restored,
    Step,
    TemplateApplied,
    WifiSent,
)

BUSY = "this plug's conversion (a `freebeken convert` or another page is running it)"
_IDENTITY = re.compile(r"[A-Za-z0-9]+-[A-Za-z0-9]+")
R = TypeVar("R", bound=Record)


def folder() -> Path:
    return data_dir() / "convert"


def verdict(result: SetupResult) -> str:
    """Green only when Home Assistant got something to use: "nothing to switch" is a warning."""
    if not result.problems:
        return "verified"
    if all(p.startswith(NOTHING_TO_SWITCH) for p in result.problems):
        return "warning"
    return "failed"


class Journey:
    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._data = journal.record
        self._data.setdefault("steps", {})

    # ---- which journey ----
    @classmethod
    def of_identity(cls, ident: str) -> Journey:
        """The journey of the chip called ``ident`` (a new one when there is none)."""
        path = folder() / f"{ident}.json"
        return cls(Journal.load(path) or Journal(path, {"identity": ident, "steps": {}}))

    @classmethod
    def load(cls, ident: str) -> Journey:
        """An existing journey by its chip identity; a name that is not one is refused (it becomes a path)."""
        if not _IDENTITY.fullmatch(ident or "") or not (folder() / f"{ident}.json").is_file():
            raise UsageError(
                f"There is no conversion of a plug called {ident!r} on this computer",
                hint="Pick one of the plugs listed, or start with the adapter connected.",
            )
        return cls.of_identity(ident)

    @classmethod
    def of_chip(cls, io: ChipIO) -> Journey:
        """The journey of the chip on the adapter (started when it is new)."""
        journey = cls.of_identity(identity(io.info))
        if journey.detected is None:
            info = io.info.as_dict()
            mac = info.pop("mac")
            journey._finish(Detected(str(info.pop("chip")), str(mac) if mac else None, info))
        return journey

    @classmethod
    def pending_after_flash(cls) -> Journey | None:
        """The most recent conversion whose chip steps are done but which did not finish."""
        for path in reversed(_by_age()):
            journal = Journal.load(path)
            if journal and Step.FLASH in journal.record.get("steps", {}) and not journal.record.get("complete"):
                return cls(journal)
        return None

    @classmethod
    def summaries(cls) -> list[dict[str, Any]]:
        """Every plug this computer has started converting, the most recently touched first."""
        out = []
        for path in reversed(_by_age()):
            if _IDENTITY.fullmatch(path.stem):
                v = cls.of_identity(path.stem).view()
                out.append({k: v[k] for k in ("identity", "chip", "mac", "next", "updated")})
        return out

    @property
    def identity(self) -> str:
        return str(self._data["identity"])

    @property
    def path(self) -> Path:
        return self._journal.path

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Held while a front end changes this journey: the other one is refused in words."""
        return hold(self.path, BUSY)

    # ---- what was done ----
    def _get(self, kind: type[R]) -> R | None:
        raw = self._data["steps"].get(kind.step)
        return kind.from_json(raw) if isinstance(raw, dict) else None

    def done(self, step: Step) -> bool:
        return step in self._data["steps"]

    @property
    def detected(self) -> Detected | None:
        return self._get(Detected)

    @property
    def backed_up(self) -> BackedUp | None:
        return self._get(BackedUp)

    @property
    def analyzed(self) -> Analyzed | None:
        return self._get(Analyzed)

    @property
    def flashed(self) -> Flashed | None:
        return self._get(Flashed)

    @property
    def configured(self) -> Configured | None:
        return self._get(Configured)

    @property
    def first_boot(self) -> FirstBoot | None:
        return self._get(FirstBoot)

    @property
    def on_wifi(self) -> OnWifi | None:
        return self._get(OnWifi)

    @property
    def template_applied(self) -> TemplateApplied | None:
        return self._get(TemplateApplied)

    @property
    def ha_verified(self) -> HaVerified | None:
        return self._get(HaVerified)

    @property
    def wifi_sent(self) -> WifiSent | None:
        raw = self._data.get("wifi_sent")
        return WifiSent.from_json(raw) if isinstance(raw, dict) else None

    @property
    def restored(self) -> Restored | None:
        raw = self._data.get("restored")
        return Restored.from_json(raw) if isinstance(raw, dict) else None

    @property
    def ha_skipped(self) -> bool:
        return bool(self._data.get("ha_skipped"))

    @property
    def complete(self) -> bool:
        return bool(self._data.get("complete"))

    @property
    def device_address(self) -> str | None:
        """The plug's address on the home network, however it was found."""
        found = self.first_boot or self.on_wifi
        return found.device if found else None

    @property
    def pins_written(self) -> bool:
        """The pins went to the chip with the configuration: nothing to apply on the live plug."""
        return bool(self.configured and self.configured.pins)

    def chosen_template(self, given: Template | None = None) -> Template | None:
        """The pins to use: ``given`` (the command line), else as the person left them on the page
        (when the firmware accepts them), else as read from the backup."""
        if given is not None:
            return given
        page = self._page_template()
        if page is not None:
            return page
        analyzed = self.analyzed
        return from_entry(analyzed.template)[0] if analyzed and analyzed.template else None

    def template_source(self, given: Template | None = None) -> str:
        """Where ``chosen_template`` takes the pins from, in words for the record."""
        if given is not None:
            return "command line"
        return "page" if self._page_template() is not None else "backup"

    def _page_template(self) -> Template | None:
        text = self._data.get("template_text")
        if not text:
            return None
        try:
            found = load_templates(text)
        except TemplateSyntaxError:
            return None  # the page said so when it was saved; the backup's pins stand
        if not found or any(p.severity == "error" for p in found[0][1]):
            return None
        return found[0][0]

    # ---- do a step and record it ----
    def _finish(self, record: Record) -> None:
        self._data["steps"][record.step] = record.to_json()
        self._journal.save()

    def _remember(self, key: str, value: Any) -> None:
        self._data[key] = value
        self._journal.save()

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
            result = analyze_bytes(Path(backed_up.path).read_bytes(), backed_up.path).as_dict()
            template = result["template"] if result["template"] and result["template"]["pins"] else None
            known = lists.best_match(from_entry(template)[0], devices_json, reporter, say_unknown=True) if template else None
            if known is not None:
                events.info(reporter, f"Known as: {known.describe()}")
            record = Analyzed(template, result["notes"] + result["warnings"], result["module"],
                              known.describe() if known else None)  # fmt: skip
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
        record = Configured(cfg["wifi_ssid"], cfg["mqtt_client"], cfg["long_name"], str(settings.broker), pins or None, done.changed)
        self._finish(record)
        return record

    def restore(self, io: ChipIO, path: Path, other_device: bool) -> WriteResult:
        """The way back: the backup on the chip, and the firmware's steps forgotten."""
        result = flash_ops.restore_backup(io, path, other_device=other_device)
        for step in AFTER_FLASH:
            self._data["steps"].pop(step, None)
        self._data.pop("wifi_sent", None)
        self._data["complete"] = False
        self._remember("restored", Restored(str(path)).to_json())
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
        apply_template(client, template)
        record = TemplateApplied(source, template.to_entry()["pins"])
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

    # ---- what the front ends show ----
    def next_step(self) -> PageStep:
        if not (self.done(Step.BACKUP) and self.done(Step.ANALYZE)):
            return PageStep.CONNECT
        if not self.done(Step.FLASH):
            return PageStep.FLASH if self._data.get("pins_reviewed") else PageStep.PINS
        if self.device_address is None:
            return PageStep.NETWORK
        if not (self.done(Step.TEMPLATE) or self.pins_written):
            return PageStep.LIVE
        if not (self.done(Step.HOME_ASSISTANT) or self.ha_skipped):
            return PageStep.HOME_ASSISTANT
        return PageStep.DONE

    def template_text(self) -> str:
        """What the page's template box holds: the person's text, else the backup's pins."""
        text = self._data.get("template_text")
        if text:
            return str(text)
        analyzed = self.analyzed
        return json.dumps(analyzed.template, indent=2) if analyzed and analyzed.template else ""

    def view(self) -> dict[str, Any]:
        """Everything the page shows for one plug: each step's record, where to go on, the way back."""
        detected = self.detected
        sent = self.wifi_sent
        restored = self.restored
        return {
            "identity": self.identity,
            "chip": detected.chip if detected else None,
            "mac": detected.mac if detected else None,
            "order": [s.value for s in PageStep],
            "steps": self._data["steps"],
            "next": self.next_step().value,
            "device": self.device_address,
            "template_text": self.template_text(),
            "wifi_sent": sent.to_json() if sent else None,
            "ha_skipped": self.ha_skipped,
            "restored": restored.to_json() if restored else None,
            "updated": time.strftime("%Y-%m-%d %H:%M", time.localtime(self.path.stat().st_mtime)),
            "report": self.report(),
            "summary": self.summary(),
        }

    def summary(self) -> list[tuple[str, str]]:
        """The Done step's table, row by row, in words."""
        r, detected, backed_up, ha = self.report(), self.detected, self.backed_up, self.ha_verified
        backup = f"{backed_up.path} (SHA-256 {backed_up.sha256 or '?'})" if backed_up and backed_up.path else "none"
        home_assistant = ", ".join(ha.entities) if ha else "skipped" if self.ha_skipped else "not verified"
        return [
            ("Chip", f"{r['chip']}, MAC {(detected.mac if detected else None) or '?'}"),
            ("Backup", backup),
            ("Firmware", f"{r['firmware']}, verified" if r["firmware"] else "not flashed"),
            ("Set up", r["path"]),
            ("Address", r["device"] or "?"),
            ("Pins", json.dumps(r["template"] or {})),
            ("Home Assistant", home_assistant),
            ("Way back", r["restore"]),
        ]

    def report(self) -> dict[str, Any]:
        """What was done, where the backup is and how to go back: convert's last words and the page's Done step."""
        configured = self.configured is not None
        skip = {Step.WIFI} if configured else {Step.CONFIGURE, Step.FIRST_BOOT}
        backed_up, flashed, ha = self.backed_up, self.flashed, self.ha_verified
        backup = backed_up.path if backed_up else None
        applied = self.template_applied
        detected = self.detected
        return {
            "identity": self.identity,
            "chip": detected.chip if detected else None,
            "firmware": flashed.firmware if flashed else None,
            "steps": {s.value: self.done(s) or (s is Step.TEMPLATE and self.pins_written) for s in Step if s not in skip},
            "backup": backup,
            "backup_sha256": backed_up.sha256 if backed_up else None,
            "restore": f"freebeken restore -p PORT {backup}" if backup else "no backup was made",
            "template": (applied.pins if applied else None) or (self.configured.pins if self.configured else None),
            "path": "configured while flashing" if configured else "access point",
            "device": self.device_address,
            "known_as": self.analyzed.known_as if self.analyzed else None,
            "entities": ha.entities if ha else [],
            "ha_skipped": self.ha_skipped,
            "state_file": str(self.path),
        }


def firmware_for(io: ChipIO, requested: str | None) -> Path:
    """The release to flash: the person's file, else ("latest" or none) the newest for the chip on
    the adapter, downloaded once and checked."""
    if requested and requested != "latest":
        return Path(requested)
    try:
        return fetch(io.info.chip.name.lower())
    except ReleaseError as e:  # offline: the same journey with a file brought from elsewhere
        name = f"{io.info.chip.firmware_prefix}<version>.bin"
        raise ReleaseError(
            str(e),
            hint=f"Without internet here: download {name} from the OpenBeken releases page on another computer, "
            f"copy it over, and choose it as your own file (`freebeken convert --firmware {name}` with the same "
            "options continues where it stopped).",
        ) from None


def _by_age() -> list[Path]:
    return sorted(folder().glob("*.json"), key=lambda p: p.stat().st_mtime) if folder().exists() else []


@contextlib.contextmanager
def locked(ident: str) -> Iterator[Journey]:
    """An existing journey, held for a change (the page's steps after the adapter name their plug)."""
    journey = Journey.load(ident)
    with journey.lock():
        yield journey
