"""The record of one plug's conversion, as both front ends read it: typed step records from the
plug's journey file (``<data dir>/convert/<chip identity>.json``), what comes next, and what the
page and ``convert``'s report show. ``journey.Journey`` adds the methods that do a step."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Generic, TypeVar

from ..errors import UsageError
from ..flasher.journal import Journal
from ..locks import Held, hold
from ..storage import data_dir
from ..templates.model import Template, TemplateSyntaxError, from_entry
from ..templates.model import load as load_templates
from .family_plug import running
from .records import (
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
    Simulated,
    Step,
    TemplateApplied,
    WifiSent,
)

BUSY = "this plug's conversion (a `freebeken convert` or another page is running it)"
_IDENTITY = re.compile(r"[A-Za-z0-9]+-[A-Za-z0-9]+")
R = TypeVar("R", bound=Record)
J = TypeVar("J", bound="JourneyRecord")


def folder() -> Path:
    return data_dir() / "convert"


def _by_age() -> list[Path]:
    return sorted(folder().glob("*.json"), key=lambda p: p.stat().st_mtime) if folder().exists() else []


class _Recorded(Generic[R]):
    """A step's record, typed, read from the journey file (None until the step is done). ``key``:
    a record kept beside the steps rather than as one of them."""

    def __init__(self, kind: type[R], key: str | None = None) -> None:
        self.kind, self.key = kind, key

    def __get__(self, journey: JourneyRecord | None, owner: type | None = None) -> R | None:
        if journey is None:
            return None  # looked up on the class, not on a journey
        raw = journey._data.get(self.key) if self.key else journey._data["steps"].get(self.kind.step)
        return self.kind.from_json(raw) if isinstance(raw, dict) else None


class JourneyRecord:
    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._data = journal.record
        self._data.setdefault("steps", {})

    # ---- which journey ----
    @classmethod
    def of_identity(cls: type[J], ident: str) -> J:
        """The journey of the chip called ``ident`` (a new one when there is none)."""
        path = folder() / f"{ident}.json"
        return cls(Journal.load(path) or Journal(path, {"identity": ident, "steps": {}}))

    @classmethod
    def load(cls: type[J], ident: str) -> J:
        """An existing journey by its chip identity; a name that is not one is refused (it becomes a path)."""
        if not _IDENTITY.fullmatch(ident or "") or not (folder() / f"{ident}.json").is_file():
            raise UsageError(
                f"There is no conversion of a plug called {ident!r} on this computer",
                hint="Pick one of the plugs listed, or start with the adapter connected.",
            )
        return cls.of_identity(ident)

    @classmethod
    def pending_after_flash(cls: type[J]) -> J | None:
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

    def lock(self) -> Held:
        """Held while a front end changes this journey: the other one is refused in words."""
        return hold(self.path, BUSY)

    # ---- what was done ----
    def done(self, step: Step) -> bool:
        return step in self._data["steps"]

    detected = _Recorded(Detected)
    backed_up = _Recorded(BackedUp)
    analyzed = _Recorded(Analyzed)
    flashed = _Recorded(Flashed)
    configured = _Recorded(Configured)
    first_boot = _Recorded(FirstBoot)
    on_wifi = _Recorded(OnWifi)
    template_applied = _Recorded(TemplateApplied)
    ha_verified = _Recorded(HaVerified)
    wifi_sent = _Recorded(WifiSent, "wifi_sent")  # progress inside the network step, kept at the top
    restored = _Recorded(Restored, "restored")

    @property
    def simulated(self) -> Simulated | None:
        raw = self._data.get("simulated")
        return Simulated.from_json(raw) if isinstance(raw, dict) else None

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
            "family": (detected.info.get("family") if detected else None) or "beken",
            "mac": detected.mac if detected else None,
            "order": [s.value for s in PageStep],
            "steps": self._data["steps"],
            "next": self.next_step().value,
            "device": self.device_address,
            "template_text": self.template_text(),
            "wifi_sent": sent.to_json() if sent else None,
            "ha_skipped": self.ha_skipped,
            "restored": restored.to_json() if restored else None,
            "simulated": self._simulated_view(),
            "updated": time.strftime("%Y-%m-%d %H:%M", time.localtime(self.path.stat().st_mtime)),
            "report": self.report(),
            "summary": self.summary(),
        }

    def _simulated_view(self) -> dict[str, Any] | None:
        """A simulated plug: the flash it boots from, whether it is powered and where it serves."""
        sim = self.simulated
        if sim is None:
            return None
        plug = running(Path(sim.image))  # a Beken plug or a family one
        return {
            "image": sim.image,
            "powered": plug is not None,
            "address": plug.address if plug else None,
            "buttons": len(plug.buttons()) if plug else 0,
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
            (
                "Way back",
                f"the page's “Way back” step puts the backup back on the chip ({r['restore']} on the command line)"
                if backed_up and backed_up.path
                else r["restore"],
            ),
        ]

    def _chip_option(self) -> str:
        """A chip that cannot be asked before linking is named on the command line (``--chip``)."""
        family = self.detected.info.get("family") if self.detected else None
        return f" --chip {family}" if family else ""

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
            "restore": f"freebeken restore -p PORT{self._chip_option()} {backup}" if backup else "no backup was made",
            "template": (applied.pins if applied else None) or (self.configured.pins if self.configured else None),
            "path": "configured while flashing" if configured else "access point",
            "device": self.device_address,
            "known_as": self.analyzed.known_as if self.analyzed else None,
            "entities": ha.entities if ha else [],
            "ha_skipped": self.ha_skipped,
            "state_file": str(self.path),
        }
