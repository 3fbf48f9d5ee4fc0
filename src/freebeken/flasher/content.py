"""Judge a whole-flash image by what its bytes say, before any of it is written. Pure.

A backup's file name and its ``.json`` sidecar are labels: a copied, renamed or downloaded file
may have lost them or carry the wrong ones. What decides is the content - the same facts
``analyze`` reads: is this a Beken flash dump at all, of which chip family (RF calibration TLV
position, known bootloader, OpenBeken config position), and of which device (the MAC in the TLV,
the RF calibration sector itself, and on BK7231T the bootloader that UART can never change).
The sidecar, when it describes this very file (same sha256), is one more witness.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..chips import ChipProfile
from ..chips import dump as d
from ..errors import SafetyError
from ..protocol import beken_crc
from ..protocol.crc import BLANK_SECTOR_CRC
from .plan import SECTOR


@dataclass(frozen=True)
class ChipFacts:
    """What the connected chip says about itself (read over UART before judging)."""

    chip: ChipProfile
    flash_size: int
    mac: bytes | None
    tlv_crc: int | None  # Beken CRC of its RF/MAC TLV sector
    bootloader_crc: int | None  # Beken CRC of its bootloader region (chips where it is never written)


@dataclass
class Verdict:
    image: bytes  # what may be written: the file, un-rotated if it was an older tool's rotated dump
    chip: str | None = None
    mac: bytes | None = None
    warnings: list[str] = field(default_factory=list)
    refusal: str | None = None  # never to be written to this chip
    hint: str = ""
    other_device: list[str] = field(default_factory=list)  # why it looks like another device's dump

    def enforce(self, name: str, allow_other_device: bool) -> None:
        """Raise unless this image may be written (another device's only with consent)."""
        if self.refusal:
            raise SafetyError(f"{name}: {self.refusal}", hint=self.hint)
        if self.other_device and not allow_other_device:
            raise SafetyError(
                f"{name} looks like a dump of another device: " + "; ".join(self.other_device),
                hint="Writing it gives this plug that device's MAC address, RF calibration and cloud keys. "
                "Use this plug's own backup (freebeken keeps them in its backups folder), or pass "
                "--other-device if you really mean to clone that device.",
            )


def _mac_text(mac: bytes) -> str:
    return mac.hex(":").upper()


def judge_image(data: bytes, facts: ChipFacts, sidecar: dict | None = None) -> Verdict:
    """May ``data`` (meant for flash address 0, the whole flash) be written to this chip?"""
    chip = facts.chip
    verdict = Verdict(data)
    if len(data) != facts.flash_size:
        kind = "truncated or partial" if len(data) < facts.flash_size else "larger than this chip's flash"
        verdict.refusal = (
            f"it holds {len(data)} bytes ({len(data) // 1024} KiB) but this chip's flash holds "
            f"{facts.flash_size // 1024} KiB: the file is {kind}, not a whole-flash backup of this chip"
        )
        verdict.hint = "Restore needs a complete backup of the whole flash, as `freebeken backup` makes."
        return verdict
    image = data
    if len(data) == d.FLASH:
        shape = d.normalise(data)
        if shape.kind == "rotated":
            image = shape.image
            verdict.warnings.append(
                "the file starts at flash address 0x11000 (an older tool's dump): it is put back in flash order before writing"
            )
    verdict.image = image
    guess = d.which_chips(image)
    if guess is None:
        verdict.refusal = (
            "this is not a Beken flash dump freebeken can recognise: no RF calibration sector at "
            + " or ".join(f"0x{a:X}" for a in sorted(set(d.TLV.values())))
            + ", no known bootloader, no OpenBeken configuration"
        )
        verdict.hint = "Check the file with `freebeken analyze FILE`; restore only backups made of this chip."
        return verdict
    if guess.conflict:
        verdict.refusal = guess.conflict
        verdict.hint = "The file is damaged or was pieced together; use another backup."
        return verdict
    verdict.chip = chip.name if chip.name in guess.chips else guess.chips[0]
    if chip.name not in guess.chips:
        verdict.refusal = f"this file is a {guess.name} dump ({', '.join(guess.evidence)}); this chip is a {chip.name}"
        verdict.hint = f"Write it only to the {guess.name} it came from. For this chip use a backup made of it."
        return verdict
    if sidecar is not None:
        _hear_sidecar(verdict, data, sidecar, facts)
        if verdict.refusal:
            return verdict
    _which_device(verdict, facts)
    return verdict


def _hear_sidecar(verdict: Verdict, data: bytes, sidecar: dict, facts: ChipFacts) -> None:
    if sidecar.get("sha256") != hashlib.sha256(data).hexdigest():
        verdict.warnings.append("the .json sidecar next to the file describes other content (sha256 differs); ignored")
        return
    if sidecar.get("chip") and str(sidecar["chip"]).upper() != facts.chip.name:
        verdict.refusal = f"its sidecar says it is a {sidecar['chip']} backup; this chip is a {facts.chip.name}"
        verdict.hint = "The file and its label disagree with this chip: use a backup made of this chip."
        return
    label = sidecar.get("mac")
    if label and facts.mac and str(label).upper() != _mac_text(facts.mac):
        verdict.other_device.append(f"its sidecar names the device {label}")


def _which_device(verdict: Verdict, facts: ChipFacts) -> None:
    chip, image = facts.chip, verdict.image
    tlv = image[chip.mac_tlv : chip.mac_tlv + SECTOR]
    verdict.mac = d.mac(image, chip.name)  # OpenBeken's place or the stock one (a Tuya T1's 0x1E3000)
    rf_at = d.rf_sector(image, chip.name)
    if rf_at is not None and rf_at != chip.mac_tlv:
        verdict.warnings.append(
            f"it keeps the RF calibration and MAC at 0x{rf_at:X} (the stock Tuya layout) and 0x{chip.mac_tlv:X} "
            "erased: written back, the chip gets that layout again, which its stock firmware reads"
        )
    if verdict.mac and facts.mac:
        if verdict.mac != facts.mac:
            verdict.other_device.insert(
                0, f"it carries the MAC {_mac_text(verdict.mac)}; this chip's MAC is {_mac_text(facts.mac)}"
            )
    elif facts.tlv_crc is not None and facts.tlv_crc != BLANK_SECTOR_CRC:
        if beken_crc(tlv) != facts.tlv_crc:
            verdict.other_device.append(
                f"its RF calibration sector (0x{chip.mac_tlv:X}) differs from this chip's, and no MAC settles it"
            )
    else:
        verdict.warnings.append(
            "this chip's RF calibration sector is blank or unreadable: freebeken cannot tell from the content "
            "whether the dump was taken from it"
        )
    if facts.bootloader_crc is not None and beken_crc(image[: chip.app_start]) != facts.bootloader_crc:
        # UART can never change this bootloader: a different one means another device or an edited file
        name, _ = d.bootloader(image)
        verdict.other_device.append(
            f"its bootloader ({name or 'unknown'}) differs from this chip's, which UART flashing never changes"
        )
