"""May a whole-flash file be written to this chip as its backup? The rules and their order, once for
every family; what a family's bytes say is its hook (Beken: flasher/content.py; Realtek and LN882H:
families/images.py). Pure: the chip's facts are read before judging.

1. The file holds the whole flash of this chip (a truncated or larger file is refused).
2. Its bytes are recognised as this chip family's flash (names are witnesses only): else refused.
3. Its label - the ``.json`` sidecar, heard only when it describes these very bytes (same sha256) -
   must not name another chip (refused) and, naming another device, counts as evidence of one.
4. Its content is compared with the chip's device-unique data (Beken: MAC, RF calibration, a
   bootloader UART never changes; others: the calibration regions ``Region.keep``): a difference
   says "another device's backup".
5. A copy made for sharing (its Tuya secrets replaced by stand-ins, tuya/share.py) is not a backup to
   restore: written only with the same consent.
6. Another device's backup is written only with consent (``--other-device``), with a warning.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from .. import events
from ..errors import SafetyError


@dataclass
class Verdict:
    image: bytes  # what may be written: the file, un-rotated if it was an older tool's rotated dump
    chip: str | None = None
    mac: bytes | None = None
    warnings: list[str] = field(default_factory=list)
    refusal: str | None = None  # never to be written to this chip
    hint: str = ""
    other_device: list[str] = field(default_factory=list)  # why it looks like another device's dump
    shared: str | None = None  # why it is a copy made for sharing (its secrets replaced)

    def enforce(self, name: str, allow_other_device: bool) -> None:
        """Raise unless this image may be written (another device's only with consent)."""
        if self.refusal:
            raise SafetyError(f"{name}: {self.refusal}", hint=self.hint)
        if self.shared and not allow_other_device:
            raise SafetyError(
                f"{name} is not a backup to restore: {self.shared}",
                hint="Writing it leaves this plug without its Tuya keys and Wi-Fi settings. Restore the original "
                "backup (the file the shared copy was made from), or pass --other-device to write it anyway "
                "(e.g. to bring back a bricked plug of the same model for OpenBeken).",
            )
        if self.other_device and not allow_other_device:
            raise SafetyError(
                f"{name} looks like a dump of another device: " + "; ".join(self.other_device),
                hint="Writing it gives this plug that device's MAC address, RF calibration and cloud keys. "
                "Use this plug's own backup (freebeken keeps them in its backups folder), or pass "
                "--other-device if you really mean to clone that device.",
            )


class ContentHook(Protocol):
    """What a family's bytes say (rules 2 and 4); the rules' order and refusals are :func:`judge`'s."""

    chip_name: str  # this chip, as labels and messages name it
    mac: bytes | None  # this chip's MAC (what a label is compared with)

    def recognise(self, verdict: Verdict) -> None:
        """Rule 2: set ``verdict.image`` (what to write) and ``verdict.chip``, or ``verdict.refusal``."""
        ...

    def same_device(self, verdict: Verdict) -> None:
        """Rule 4: add to ``verdict.other_device`` what the content says against this device."""
        ...


def judge(data: bytes, flash_size: int, hook: ContentHook, sidecar: dict | None = None) -> Verdict:
    """May ``data`` (meant for flash address 0, the whole flash) be written to this chip?"""
    verdict = Verdict(data)
    if len(data) != flash_size:
        kind = "truncated or partial" if len(data) < flash_size else "larger than this chip's flash"
        verdict.refusal = (
            f"it holds {len(data)} bytes ({len(data) // 1024} KiB) but this chip's flash holds "
            f"{flash_size // 1024} KiB: the file is {kind}, not a whole-flash backup of this chip"
        )
        verdict.hint = "Restore needs a complete backup of the whole flash, as `freebeken backup` makes."
        return verdict
    hook.recognise(verdict)
    if verdict.refusal:
        return verdict
    if sidecar is not None:
        _hear_label(verdict, data, sidecar, hook)
        if verdict.refusal:
            return verdict
    hook.same_device(verdict)
    from ..tuya.share import shared_copy  # here: the Tuya storage reader is not needed to import the rules

    verdict.shared = shared_copy(verdict.image)
    return verdict


def mac_text(mac: bytes) -> str:
    return mac.hex(":").upper()


def _hear_label(verdict: Verdict, data: bytes, sidecar: dict, hook: ContentHook) -> None:
    if sidecar.get("sha256") != hashlib.sha256(data).hexdigest():
        verdict.warnings.append("the .json sidecar next to the file describes other content (sha256 differs); ignored")
        return
    if sidecar.get("chip") and str(sidecar["chip"]).upper() != hook.chip_name.upper():
        verdict.refusal = f"its sidecar says it is a {sidecar['chip']} backup; this chip is a {hook.chip_name}"
        verdict.hint = "The file and its label disagree with this chip: use a backup made of this chip."
        return
    label = sidecar.get("mac")
    if label and hook.mac and str(label).replace("-", ":").upper() != mac_text(hook.mac):
        verdict.other_device.append(f"its sidecar names the device {label}")


def admit(verdict: Verdict, name: str, other_device: bool, reporter: events.Reporter) -> bytes:
    """Rule 5: raise unless the file may be written; say what the person should know. Returns the bytes
    to write."""
    verdict.enforce(name, other_device)
    for warning in verdict.warnings:
        events.warning(reporter, f"{name}: {warning}")
    if verdict.other_device:
        events.warning(reporter, f"{name} is another device's dump ({'; '.join(verdict.other_device)}): writing it as asked")
    if verdict.shared:
        events.warning(reporter, f"{name}: {verdict.shared}: writing it as asked")
    return verdict.image
