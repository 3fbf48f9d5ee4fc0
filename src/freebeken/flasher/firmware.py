"""Recognise firmware files as users download them and decide where they go. Pure.

OpenBeken releases: ``_UA_`` files (``OpenBK7231T_UA_<ver>.bin``, U alike) are the application
only, written at 0x11000 on the chips whose bootloader answers UART; ``_QIO_`` files
(``OpenBK7231N_QIO_``, M, BK7238, BK7252N) are whole-flash images (bootloader + application) for
the ROM chips, of which the bootloader part is skipped unless explicitly asked for. ``_UG_``/``.rbl``
files are OTA packages for the device's own update page, not for UART flashing.

What decides is the content (:func:`read_release`); the name is a witness. An OpenBeken UART
image is what the SDK's packager writes (build.sh, config.json): the application encrypted for
address 0x10000 and stored with a CRC-16 after every 32 bytes - from the file's first byte in a UA
file, from 0x11000 in a QIO file, whose first 0x11000 bytes are the bootloader. Its code starts
with ARM exception vectors and names its build (``DEVICENAME_PREFIX_FULL``, "OpenBK7231T"). A
web page saved under a release's name, a text file, an OTA package, a backup, a download cut
short or damaged: each is told by its bytes and refused before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..chips import CHIPS, ChipProfile, appcode, bootloader_by_crc, chip_by_name
from ..chips import dump as tuya_dump
from ..chips.profiles import NOT_FLASHED
from ..errors import SafetyError, UnsupportedError, UsageError

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
        raise UsageError(
            f"{base} is an over-the-air image, not one for UART",
            hint="Send it over the network: `freebeken fleet update --firmware FILE` (or the plug's OTA page); "
            "over UART flash the _UA_ or _QIO_ .bin file of the same release.",
        )
    content = read_release(data)
    if not m:
        named = _chip_of_content(content)
        if named is not None:  # its bytes say which build it is, whatever it is called
            return _judged(base, data, named, content, None)
        raise UsageError(
            f"{base} does not look like an OpenBeken release file"
            + (f" ({content.problem})" if content.problem else " (its code does not name the chip it is built for)"),
            hint=(
                "Use the OpenBeken release file for the chip ("
                + ", ".join(f"{p.firmware_prefix}<version>.bin for {p.name}" for p in CHIPS.values())
                + ") from the OpenBeken releases page, or pass --offset to write a raw image at an address."
            ),
        )
    chip, kind, version = "BK" + m.group(1).upper(), m.group(2).upper(), m.group(3) or None
    if chip.lower() not in CHIPS:
        raise UnsupportedError(
            f"{base} is built for {chip}, which freebeken does not flash: {NOT_FLASHED[chip]}",
            hint="BK7231GUIFlashTool supports more Beken chips.",
        )
    if kind == "UG" or m.group(4).lower() == "rbl":
        raise UsageError(
            f"{base} is an OTA update package",
            hint=f"Flash over UART with the {chip_by_name(chip).firmware_prefix}<version>.bin file; "
            "OTA packages are for the device's web update page.",
        )
    return _judged(base, data, chip_by_name(chip), content, version, "app" if kind == "UA" else "full")


def _chip_of(m: re.Match[str] | None) -> str | None:
    return "BK" + m.group(1).upper() if m else None


#: Units of the stored application: 32 bytes and their CRC-16 (appcode.STORED).
_UNIT, _BLANK = appcode.STORED, b"\xff" * appcode.STORED
#: How a build names itself in its code: DEVICENAME_PREFIX_FULL, alone or before a MAC suffix's format
#: ("OpenBK7231N_%02X..."); the OTA address "OpenBK7231T_App" that every build holds is not a name.
_BUILD_NAME = re.compile(rb"Open(BK72[0-9]{2}[A-Z]?)(?=\x00|_%)")
_KEYS = {"tuya": appcode.TUYA_KEY, "zero": appcode.ZERO_KEY}


NO_APP = "no Beken-stored application (32-byte blocks each with a CRC-16, starting with ARM code) at its start or at 0x11000"


@dataclass(frozen=True)
class ReleaseContent:
    """What a file's bytes say about it as an OpenBeken UART image."""

    kind: str | None  # "app": the stored application from byte 0 (UA); "full": from 0x11000 (QIO); None: not told
    key: str | None  # the key under which its code starts with ARM vectors ("tuya", "zero"); None: neither
    builds: frozenset[str]  # the platforms its code names itself after ("BK7231N")
    problem: str = ""  # why it is no OpenBeken UART image ("" when its structure holds)


def _stored(unit: bytes) -> bool:
    return len(unit) == _UNIT and appcode.crc16_cms(unit[: appcode.BLOCK]) == int.from_bytes(unit[appcode.BLOCK :], "big")


def _not_firmware(data: bytes) -> str:
    """What ``data`` evidently is instead of firmware ("" when nothing says so)."""
    head = data[:512]
    if data[:4] == b"\x55\xaa\x55\xaa" and data[0x1C:0x20] == b"\xaa\x55\xaa\x55":
        return "a Tuya OTA package (UG), for the device's update page"
    if data[:4] == b"RBL\x00":
        return "an OTA image (RBL), for the device's update page"
    if data[:4] == b"PK\x03\x04" or data[:2] == b"\x1f\x8b":
        return "a compressed archive: unpack it first"
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
    if head and printable >= 0.95 * len(head):
        text = head[:40].decode("ascii", "replace").split("\n")[0].strip()
        page = b"<html" in head.lower() or b"<!doctype" in head.lower()
        what = "a web page" if page else "a text file"
        return f"{what} ({len(data)} bytes, starting {text!r})" + (
            ": a download link that went wrong saves the server's page under the file's name" if page else ""
        )
    return ""


def read_release(data: bytes, kind_hint: str | None = None) -> ReleaseContent:
    """Judge ``data`` as an OpenBeken UART image by its bytes alone. ``kind_hint`` ("app"/"full",
    from the name) decides only where the code's key is unknown, so its start cannot be told."""
    if not data:
        return ReleaseContent(None, None, frozenset(), "the file is empty")
    if len(data) == tuya_dump.FLASH and tuya_dump.which_chips(data) is not None:
        return ReleaseContent(
            None, None, frozenset(), "it is a whole-flash backup of a chip, not a release: put it back with `freebeken restore`"
        )
    found: tuple[str, str | None] | None = None
    for kind, start in (("full", appcode.APP_FLASH), ("app", 0)):
        key = appcode.stored_key(data[start : start + _UNIT]) if len(data) >= start + _UNIT else None
        if key is not None:
            found = (kind, key)
            break
    if found is None and kind_hint and _stored(data[_start(kind_hint) : _start(kind_hint) + _UNIT]):
        found = (kind_hint, None)  # Beken-stored, under a key freebeken does not know (BK7238, BK7252N)
    if found is None:
        other = _not_firmware(data)
        return ReleaseContent(None, None, frozenset(), f"it is {other}" if other else NO_APP)
    kind, key = found
    stored = data[_start(kind) :]
    damaged, units = _damaged_units(stored)
    builds = _builds(stored, key) if key else frozenset()
    if damaged:
        cut = len(stored) % _UNIT and stored[-(len(stored) % _UNIT) :].strip(b"\xff")
        why = "it ends in the middle of a block: the download stopped early" if cut else "the file is damaged"
        fail = "fails its" if damaged == 1 else "fail their"
        return ReleaseContent(kind, key, builds, f"{damaged} of its {units} stored blocks {fail} CRC-16: {why}")
    return ReleaseContent(kind, key, builds)


def _start(kind: str) -> int:
    return appcode.APP_FLASH if kind == "full" else 0


def _damaged_units(stored: bytes) -> tuple[int, int]:
    """(blocks that fail their CRC, blocks): erased blocks (0xFF) are padding; a trailing part
    block may only be padding too."""
    damaged = units = 0
    whole = len(stored) - len(stored) % _UNIT
    for off in range(0, whole, _UNIT):
        unit = stored[off : off + _UNIT]
        if unit == _BLANK:
            continue
        units += 1
        damaged += not _stored(unit)
    if stored[whole:].strip(b"\xff"):
        damaged, units = damaged + 1, units + 1
    return damaged, units


def _builds(stored: bytes, key: str) -> frozenset[str]:
    code = b"".join(stored[off : off + appcode.BLOCK] for off in range(0, len(stored) - _UNIT + 1, _UNIT))  # CRCs checked apart
    plain = appcode.Cipher(_KEYS[key]).crypt(code[: len(code) // 4 * 4], appcode.APP_MAPPED)
    return frozenset(m.decode() for m in _BUILD_NAME.findall(plain))


def _chip_of_content(content: ReleaseContent) -> ChipProfile | None:
    """The chip a file is for by its bytes alone: one build name, and the key that fits it."""
    if content.problem or len(content.builds) != 1:
        return None
    (build,) = content.builds
    fits = [c for c in CHIPS.values() if c.obk_platform == build and c.code_key in (None, content.key)]
    return fits[0] if len(fits) == 1 else None


def _judged(
    base: str, data: bytes, chip: ChipProfile, content: ReleaseContent, version: str | None, named_kind: str | None = None
) -> FirmwareImage:
    """The image ``data`` is, once its bytes show it is a UART image for ``chip``; else refused."""
    if named_kind and content.problem == NO_APP:
        content = read_release(data, named_kind)  # a key freebeken does not know: the name tells where it starts
    if content.problem:
        raise SafetyError(
            f"{base} is not OpenBeken firmware for UART: {content.problem}",
            hint=f"Nothing was written. Download {chip.firmware_prefix}<version>.bin again from the "
            "OpenBeken releases page (`freebeken firmware fetch` does it and checks it).",
        )
    if content.builds and chip.obk_platform not in content.builds:
        other = sorted(content.builds)[0]
        raise SafetyError(
            f"{base} is built for {other}: its code names itself Open{other}, but the file is for {chip.name}",
            hint=f"Download {chip.firmware_prefix}<version>.bin; whatever a file is called, its code decides "
            "which chip it runs on.",
        )
    kind = content.kind or named_kind or "app"
    offset = chip.app_start if kind == "app" else 0
    if offset + len(data) > chip.mac_tlv:
        raise SafetyError(
            f"{base} reaches 0x{offset + len(data):X}, over the {chip.name}'s RF calibration and MAC sector "
            f"(0x{chip.mac_tlv:X}): no OpenBeken release is that large",
            hint="Nothing was written. Use the release file as downloaded; a file padded to the whole flash "
            "would erase the plug's calibration.",
        )
    return FirmwareImage(data, offset, chip.name, kind, version)


def check_bootloader(image: FirmwareImage, chip: ChipProfile) -> None:
    """Before a QIO file's bootloader part is written (ROM chips, --include-bootloader): it must hold
    a bootloader, and not one known to be another chip's."""
    boot = image.data[: chip.app_start]
    if not boot.strip(b"\xff"):
        raise SafetyError(
            "This file's bootloader part is empty (erased)",
            hint="Leave out --include-bootloader: the chip's own bootloader stays as it is.",
        )
    name, crc = tuya_dump.bootloader(boot)
    known = bootloader_by_crc(crc) if name else None
    if known and known.chip in {c.name for c in CHIPS.values()} and known.chip not in (chip.name, chip.obk_platform):
        raise SafetyError(
            f"This file's bootloader is {known.name}, a {known.chip}'s; the connected chip is a {chip.name}",
            hint="Leave out --include-bootloader, or use the QIO file made for this chip.",
        )


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
    if include_bootloader and image.kind == "full" and image.offset == 0:
        check_bootloader(image, chip)
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
