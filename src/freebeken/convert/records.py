"""What each step of a conversion leaves behind: typed records, stored as JSON in the plug's
journey file (``<data dir>/convert/<chip identity>.json``). Only ``journey.Journey`` reads and
writes them; the field names are the file's keys, so files written by earlier versions load.

Names only, never a password: the file outlives the conversion and may be shared in a report.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, TypeVar


class Step(StrEnum):
    """The steps ``convert`` goes through (the configured path skips ``wifi``; the access-point
    path skips ``configure`` and ``first_boot``)."""

    DETECT = "detect"
    BACKUP = "backup"
    ANALYZE = "analyze"
    FLASH = "flash"
    CONFIGURE = "configure"
    FIRST_BOOT = "first_boot"
    WIFI = "wifi"
    TEMPLATE = "template"
    HOME_ASSISTANT = "home_assistant"


class PageStep(StrEnum):
    """The page's stepper, in order: the page shows these and nothing else."""

    DEVICE = "device"  # what is it? (before the case is opened)
    CONNECT = "connect"  # wire, detect, back up, analyse
    PINS = "pins"
    FLASH = "flash"
    NETWORK = "network"  # first boot on the broker, or the access-point way
    LIVE = "live"  # the template on the running plug, or the pin finder
    HOME_ASSISTANT = "home_assistant"
    DONE = "done"


PAGE_LABELS = {
    PageStep.DEVICE: "what is it",
    PageStep.CONNECT: "wire and back up",
    PageStep.PINS: "the pins",
    PageStep.FLASH: "flash",
    PageStep.NETWORK: "on your Wi-Fi",
    PageStep.LIVE: "pins on the plug",
    PageStep.HOME_ASSISTANT: "Home Assistant",
    PageStep.DONE: "nothing, it is converted",
}


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


R = TypeVar("R", bound="Record")


@dataclass
class Record:
    step: ClassVar[Step]
    at: str = field(default_factory=now, kw_only=True)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls: type[R], data: dict[str, Any]) -> R:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Detected(Record):
    step = Step.DETECT
    chip: str
    mac: str | None = None
    info: dict[str, Any] = field(default_factory=dict)  # the rest of what identification found

    def to_json(self) -> dict[str, Any]:
        return {**self.info, "chip": self.chip, "mac": self.mac, "at": self.at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Detected:
        rest = {k: v for k, v in data.items() if k not in ("chip", "mac", "at")}
        return cls(str(data.get("chip") or "?"), data.get("mac"), rest, at=str(data.get("at") or ""))


@dataclass
class BackedUp(Record):
    step = Step.BACKUP
    path: str | None  # None: skipped at the person's request
    skipped: bool = False
    sha256: str | None = None
    size: int | None = None
    made: bool | None = None  # made in this journey; False: an earlier backup that matches the chip


@dataclass
class Analyzed(Record):
    step = Step.ANALYZE
    template: dict[str, Any] | None  # the pins read from the backup (a devices.json entry), None: none found
    notes: list[str] = field(default_factory=list)
    module: str | None = None
    known_as: str | None = None


@dataclass
class Flashed(Record):
    step = Step.FLASH
    firmware: str
    written: int
    skipped: int
    resumed: bool = False
    verified: bool = True  # recorded only after every sector was proven by the chip's CRC


@dataclass
class Configured(Record):
    step = Step.CONFIGURE
    ssid: str
    client_id: str
    long_name: str
    broker: str  # without its password
    pins: dict[str, Any] | None = None
    changed: list[str] = field(default_factory=list)


@dataclass
class FirstBoot(Record):
    step = Step.FIRST_BOOT
    device: str  # the plug's web address on the home network


@dataclass
class OnWifi(Record):
    step = Step.WIFI
    device: str
    ssid: str | None = None
    mac: str | None = None


@dataclass
class TemplateApplied(Record):
    step = Step.TEMPLATE
    source: str  # "backup", "page", "pin finder", "command line"
    pins: dict[str, Any] = field(default_factory=dict)
    drivers: list[str] = field(default_factory=list)  # the drivers it implies, seen running on the device
    how: list[str] = field(default_factory=list)  # started/stopped/restarted, in words


@dataclass
class HaVerified(Record):
    step = Step.HOME_ASSISTANT
    entities: list[str]
    round_trip: str = ""


@dataclass
class WifiSent(Record):
    """The plug left its access point for the home Wi-Fi (a re-run must not send it again)."""

    step = Step.WIFI
    ssid: str
    mac: str


@dataclass
class Restored(Record):
    """The backup went back on the chip: the firmware's steps are gone."""

    step = Step.FLASH
    path: str


@dataclass
class Simulated(Record):
    """The plug is a simulated chip whose flash is ``image``: unplugged from the adapter it boots
    from that file (``sim.plug``), last served on ``port``."""

    step = Step.DETECT
    image: str
    port: int = 0


RECORDS: dict[Step, type[Record]] = {
    r.step: r for r in (Detected, BackedUp, Analyzed, Flashed, Configured, FirstBoot, OnWifi, TemplateApplied, HaVerified)
}
AFTER_FLASH = (Step.FLASH, Step.CONFIGURE, Step.FIRST_BOOT, Step.WIFI, Step.TEMPLATE, Step.HOME_ASSISTANT)
