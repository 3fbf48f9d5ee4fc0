"""Judge a whole-flash Beken image by what its bytes say, before any of it is written. Pure. The
rules and their order are shared by every family (flasher/verdict.py); this is Beken's hook.

A backup's file name and its ``.json`` sidecar are labels: a copied, renamed or downloaded file
may have lost them or carry the wrong ones. What decides is the content - the same facts
``analyze`` reads: is this a Beken flash dump at all, of which chip family (RF calibration TLV
position, known bootloader, OpenBeken config position), and of which device (the MAC in the TLV,
the RF calibration sector itself, and on BK7231T the bootloader that UART can never change).
The sidecar, when it describes this very file (same sha256), is one more witness.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..chips import ChipProfile
from ..chips import dump as d
from ..protocol import beken_crc
from ..protocol.crc import BLANK_SECTOR_CRC
from .plan import SECTOR
from .verdict import Verdict, judge, mac_text

__all__ = ["BekenContent", "ChipFacts", "Verdict", "judge_image"]


@dataclass(frozen=True)
class ChipFacts:
    """What the connected chip says about itself (read over UART before judging)."""

    chip: ChipProfile
    flash_size: int
    mac: bytes | None
    tlv_crc: int | None  # Beken CRC of its RF/MAC TLV sector
    bootloader_crc: int | None  # Beken CRC of its bootloader region (chips where it is never written)


class BekenContent:
    """Beken's hook for the shared rules (flasher/verdict.py): what a Beken dump's bytes say."""

    def __init__(self, facts: ChipFacts) -> None:
        self.facts = facts
        self.chip_name = facts.chip.name
        self.mac = facts.mac

    def recognise(self, verdict: Verdict) -> None:
        chip, data = self.facts.chip, verdict.image
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
            return
        if guess.conflict:
            verdict.refusal = guess.conflict
            verdict.hint = "The file is damaged or was pieced together; use another backup."
            return
        verdict.chip = chip.name if chip.name in guess.chips else guess.chips[0]
        if chip.name not in guess.chips:
            verdict.refusal = f"this file is a {guess.name} dump ({', '.join(guess.evidence)}); this chip is a {chip.name}"
            verdict.hint = f"Write it only to the {guess.name} it came from. For this chip use a backup made of it."

    def same_device(self, verdict: Verdict) -> None:
        _which_device(verdict, self.facts)


def judge_image(data: bytes, facts: ChipFacts, sidecar: dict | None = None) -> Verdict:
    """May ``data`` (meant for flash address 0, the whole flash) be written to this chip?"""
    return judge(data, facts.flash_size, BekenContent(facts), sidecar)


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
                0, f"it carries the MAC {mac_text(verdict.mac)}; this chip's MAC is {mac_text(facts.mac)}"
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
