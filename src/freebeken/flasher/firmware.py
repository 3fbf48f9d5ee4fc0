"""Recognise firmware files as users download them and decide where they go. Pure.

OpenBeken releases: ``_UA_`` files (``OpenBK7231T_UA_<ver>.bin``, U alike) are the application
only, written at 0x11000 on the chips whose bootloader answers UART; ``_QIO_`` files
(``OpenBK7231N_QIO_``, M, BK7238, BK7252N) are whole-flash images (bootloader + application) for
the ROM chips, of which the bootloader part is skipped unless explicitly asked for. ``_UG_``/``.rbl``
files are OTA packages for the device's own update page, not for UART flashing. A file's name is
one witness; the key its code is stored under (``appcode.stored_key``) is another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..chips import CHIPS, ChipProfile, chip_by_name
from ..chips.profiles import NOT_FLASHED
from ..errors import SafetyError, UnsupportedError, UsageError
from ..chips import appcode

_NAME = re.compile(r"OpenBK(7231[TNUMQ]|7238|7252N?)_(?:ALT_|Tuya_)?(UA|QIO|UG|ALL)_?(.*?)\.(bin|rbl|img)$", re.IGNORECASE)


@dataclass(frozen=True)
class FirmwareImage:
    data: bytes
    offset: int  # flash address of data[0]
    chip: str | None  # chip the file is built for, None if unknown
    kind: str  # "app" (UA), "full" (QIO), "raw"
    version: str | None = None

    @property
    def end(self) -> int:
        return self.offset + len(self.data)

    def code_key(self) -> str | None:
        """The key the application in this file is stored under, by its content (None: not told)."""
        start = appcode.APP_FLASH - self.offset
        return appcode.stored_key(self.data[start:]) if 0 <= start < len(self.data) else None


def classify(name: str, data: bytes, offset: int | None = None) -> FirmwareImage:
    """Work out what ``name`` is. ``offset`` forces a raw image at that address."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    m = _NAME.search(base)
    if offset is not None:
        return FirmwareImage(data, offset, _chip_of(m), "raw", m.group(3) if m else None)
    if base.lower().endswith(".rbl"):
        raise UsageError(f"{base} is an over-the-air image, not one for UART",
                         hint="Send it over the network: `freebeken fleet update --firmware FILE` (or the plug's OTA page); "
                         "over UART flash the _UA_ or _QIO_ .bin file of the same release.")  # fmt: skip
    if not m:
        raise UsageError(
            f"{base} does not look like an OpenBeken release file",
            hint=(
                "Use the OpenBeken release file for the chip ("
                + ", ".join(f"{p.firmware_prefix}<version>.bin for {p.name}" for p in CHIPS.values())
                + ") from the OpenBeken releases page, or pass --offset to write a raw image at an address."
            ),
        )
    chip, kind, version = "BK" + m.group(1).upper(), m.group(2).upper(), m.group(3) or None
    if chip.lower() not in CHIPS:
        raise UnsupportedError(f"{base} is built for {chip}, which freebeken does not flash: {NOT_FLASHED[chip]}",
                               hint="BK7231GUIFlashTool supports more Beken chips.")  # fmt: skip
    if kind == "UG" or m.group(4).lower() == "rbl":
        raise UsageError(
            f"{base} is an OTA update package",
            hint=f"Flash over UART with the {chip_by_name(chip).firmware_prefix}<version>.bin file; "
            "OTA packages are for the device's web update page.",
        )
    if kind == "UA":
        return FirmwareImage(data, chip_by_name(chip).app_start, chip, "app", version)
    return FirmwareImage(data, 0, chip, "full", version)


def _chip_of(m: re.Match[str] | None) -> str | None:
    return "BK" + m.group(1).upper() if m else None


def fit_to_chip(image: FirmwareImage, chip: ChipProfile, flash_size: int, include_bootloader: bool) -> FirmwareImage:
    """Refuse images for another chip; drop the bootloader part unless asked (and allowed)."""
    if image.chip and image.chip != chip.name:
        raise SafetyError(
            f"This firmware is built for {image.chip}, but the connected chip is a {chip.name}",
            hint=f"Download {chip.firmware_prefix}<version>.bin instead. Flashing the wrong one leaves the plug unbootable.",
        )
    key = image.code_key()
    if key and chip.code_key and key != chip.code_key and image.kind != "raw":
        said = {"tuya": "encrypted with Tuya's key", "zero": "in clear (no key)"}
        raise SafetyError(
            f"This firmware's code is stored {said[key]}, but a {chip.name} runs code stored {said[chip.code_key]}: "
            "it would not start",
            hint=f"Download {chip.firmware_prefix}<version>.bin; whatever the file is called, its content is for another chip.",
        )
    if include_bootloader and not chip.bootloader_writable:
        raise SafetyError(
            f"--include-bootloader is not possible on {chip.name}",
            hint="Its UART download code lives in that bootloader; rewriting it would brick the plug.",
        )
    if image.end > flash_size:
        raise UsageError(
            f"The image ends at 0x{image.end:X}, beyond the {flash_size // 1024} KiB flash",
            hint="Check that this is the right file (and --offset, if given).",
        )
    if not image.data:
        raise UsageError("The firmware file is empty")
    low = 0 if include_bootloader else chip.app_start
    if image.offset < low:
        if image.kind == "raw" and not chip.bootloader_writable:
            raise SafetyError(
                f"Refusing to write below 0x{chip.app_start:X} on {chip.name}",
                hint="That region holds the bootloader; freebeken never modifies it on this chip.",
            )
        cut = low - image.offset
        if image.kind == "raw" and not include_bootloader:
            raise SafetyError(
                f"The image starts at 0x{image.offset:X}, inside the bootloader region",
                hint="Pass --include-bootloader to write it (chips with a ROM loader only), or a higher --offset.",
            )
        return FirmwareImage(image.data[cut:], low, image.chip, image.kind, image.version)
    return image
