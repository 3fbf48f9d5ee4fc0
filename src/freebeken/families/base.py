"""The chip-family seam: what every family gives the safe operations, so the rules (never write what
the UART cannot restore, content-checked restore, journaled resumable writes, never-overwritten backups,
exit 0 = proven bytes) are applied once, above every family.

A family's link speaks its own ROM/loader protocol; above it, everything is addresses, bytes and the
family's integrity primitive:

* ``crc32``  - the chip computes a CRC-32 over a range (Beken's CheckCRC);
* ``sha256`` - the chip computes a SHA-256 over a range (Realtek AmebaZ2's ``hashq``; BL602's eflash
  loader);
* ``readback`` - the chip computes nothing over flash; each transfer carries a checksum (LN882H: a
  CRC-16 per 256-byte read) and writes are proven by reading them back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from ..errors import SafetyError

SECTOR = 0x1000

Integrity = Literal["crc32", "sha256", "readback"]


@dataclass(frozen=True)
class Region:
    """A named stretch of flash and how the safe operations treat it."""

    name: str
    start: int
    size: int
    #: bootloader | table | system | calibration | config | app | ota | data
    kind: str
    #: False: the UART cannot bring it back if a write goes wrong (e.g. BK7231T's bootloader).
    restorable: bool = True
    #: True: device-unique data (RF calibration, keys) that flashing a release image must not replace.
    keep: bool = False

    @property
    def end(self) -> int:
        return self.start + self.size

    def overlaps(self, start: int, length: int) -> bool:
        return start < self.end and self.start < start + length


@dataclass(frozen=True)
class FamilySpec:
    """What a family is, as data: names, the flash map, the integrity primitive, how to enter download
    mode, and OpenBeken's release image for it."""

    name: str  # the chip name used on the command line and in sim:// URLs
    family: str  # the family (ltchiptool's name where it has one)
    integrity: Integrity
    flash_size: int
    regions: tuple[Region, ...]
    obk_platform: str  # OpenBeken's build name: release files are {platform}_{version}.bin
    download_mode: str  # what the person must do before the tool can link
    wiring: tuple[tuple[str, str], ...]  # (adapter pin, chip pin)
    #: what the person does after a flash so the firmware starts (the ROM's download mode is left by a reset)
    start_firmware: str = "Power it off, release the boot pin, then power it on"
    link_baud: int = 115200
    fast_baud: int = 115200

    def region(self, kind: str) -> Region | None:
        return next((r for r in self.regions if r.kind == kind), None)

    def regions_touching(self, start: int, length: int) -> list[Region]:
        return [r for r in self.regions if r.overlaps(start, length)]

    def release_name(self, version: str) -> str:
        return f"{self.obk_platform}_{version}.bin"


@dataclass
class Identity:
    """What the chip says about itself; ``mac`` names the physical device (backups, journals)."""

    spec: FamilySpec
    flash_size: int
    mac: bytes | None
    details: dict[str, str] = field(default_factory=dict)
    #: names the chip when it has no MAC: a fingerprint of its own content (many plugs share a
    #: bootloader, so a constant would mix them up). Beken: ``FP<crc>`` or ``BL<crc>``.
    fallback_tag: str | None = None
    #: the chip's name in keys and file names, when not ``spec.name`` (Beken: ``BK7231N``)
    chip_name: str | None = None
    #: what a backup file's name starts with, when not ``key`` (Beken: chip, flash part, tag)
    stem: str | None = None
    #: the backup sidecar's description of the chip, when the family has a richer one than
    #: :meth:`label` (Beken: ChipInfo.as_dict(), which content.py and `info` read)
    facts: dict[str, object] | None = None

    @property
    def tag(self) -> str:
        return self.mac.hex().upper() if self.mac else (self.fallback_tag or "NOMAC")

    @property
    def key(self) -> str:
        """A stable name for one physical chip: chip name and MAC (or content fingerprint)."""
        return f"{self.chip_name or self.spec.name}-{self.tag}"

    @property
    def file_stem(self) -> str:
        return self.stem or self.key

    def label(self) -> dict[str, object]:
        """The chip as a backup's sidecar records it."""
        if self.facts is not None:
            return dict(self.facts)
        mac = self.mac.hex(":").upper() if self.mac else None
        return {"chip": self.spec.name, "family": self.spec.family, "mac": mac, "size": self.flash_size, **self.details}


@dataclass(frozen=True)
class LinkStats:
    """How the line is doing, for the operations that adapt to it and for results."""

    baudrate: int = 0
    retries: int = 0  # retries used since the link was made


@runtime_checkable
class ChipFamily(Protocol):
    """One linked chip of a family. Addresses are flash offsets; every method raises a
    :class:`freebeken.errors.FreebekenError` subclass on failure."""

    spec: FamilySpec

    def identify(self) -> Identity:
        """Who the chip is (links first if needed)."""
        ...

    def read(self, address: int, length: int) -> bytes:
        """Bytes proven by the family's integrity primitive (a SHA-256, CRC or per-block checksum)."""
        ...

    def digest(self, address: int, length: int) -> bytes | None:
        """The chip's own digest of a range (see :func:`local_digest`), None where the family has none
        (``readback``): then only :meth:`read` can prove content."""
        ...

    def write(self, address: int, data: bytes) -> None:
        """Erase and write whole sectors (``address`` and ``len(data)`` are multiples of 4 KiB)."""
        ...

    def close(self) -> None:
        """Leave download mode when the family can, and free the port."""
        ...


# ---- optional capabilities ----
# A family may offer more than the protocol above; the operations use it where present:
#   local_digest(data) -> bytes          its digest computed here, when not the integrity's standard one
#                                        (Beken's CheckCRC is not zlib's CRC-32)
#   read_expecting(address, length, digest) -> bytes
#                                        a read proven against a digest already asked (saves a round trip)
#   link_stats() -> LinkStats            baud rate and retries so far
#   round_trip() -> float                seconds a short command costs beyond its wire time
#   backup_unit: int                     the range a backup asks one digest for (blank ones are not read)
#   read_piece: int                      the range a readback family's backup reads at once


def local_digest(integrity: Integrity, data: bytes) -> bytes | None:
    """What the chip's :meth:`ChipFamily.digest` returns for ``data``, computed here (the standard
    function of the primitive; a family whose chip computes a variant offers ``local_digest``)."""
    if integrity == "sha256":
        return hashlib.sha256(data).digest()
    if integrity == "crc32":
        import zlib

        return zlib.crc32(data).to_bytes(4, "little")
    return None


def unrestorable(spec: FamilySpec, address: int, length: int) -> Region | None:
    """The first region of ``address..+length`` that the UART cannot bring back (None: all can)."""
    return next((r for r in spec.regions if not r.restorable and r.overlaps(address, length)), None)


def check_writable(
    spec: FamilySpec, size: int, address: int, length: int, *, lowest: int = 0, chip: str | None = None, hint: str | None = None
) -> None:
    """The last line of defence, before every erase and write of every family: nothing past the flash
    (it would wrap around), nothing below ``lowest`` (what this operation was permitted: Beken's
    bootloader on the ROM chips only with --include-bootloader), and never a region the UART cannot
    restore (``Region.restorable``: BK7231T's flash bootloader). ``chip``/``hint``: the family's words."""
    if length > 0 and 0 <= lowest <= address and address + length <= size and unrestorable(spec, address, length) is None:
        return
    name = chip or spec.name.upper()
    if hint is None:
        region = unrestorable(spec, address, length)
        hint = (
            f"The {name} {region.name} (0x{region.start:X}..0x{region.end:X}) cannot be rewritten over UART without "
            "bricking the device."
            if region
            else f"Only 0x{lowest:X}..0x{size:X} may be written by this operation."
        )
    raise SafetyError(f"Refusing to modify 0x{address:06X}..0x{address + length:06X} on {name}", hint=hint)


def family_digest(fam: ChipFamily, data: bytes) -> bytes | None:
    """What ``fam.digest`` returns for ``data``: the family's own function where it has one."""
    own = getattr(fam, "local_digest", None)
    return own(data) if own is not None else local_digest(fam.spec.integrity, data)


def holds(fam: ChipFamily, address: int, want: bytes) -> bool:
    """Does the chip hold ``want`` at ``address``? The one proof every operation of every family uses
    (a sector skipped, a journal's "done" believed, a write counted as done): the chip's digest of the
    range against ours - one round trip, no transfer; on a readback family, reading it back (its first
    sector first: a range that differs there costs 1/16 of a 64 KiB read)."""
    digest = fam.digest(address, len(want))
    if digest is not None:
        return digest == family_digest(fam, want)
    if fam.read(address, min(SECTOR, len(want))) != want[:SECTOR]:
        return False
    return len(want) <= SECTOR or fam.read(address + SECTOR, len(want) - SECTOR) == want[SECTOR:]


_blank: dict[tuple[type, str, int], bytes | None] = {}


def blank_digest(fam: ChipFamily, length: int) -> bytes | None:
    """The digest of ``length`` erased bytes on this family (cached: asked once per unit)."""
    key = (type(fam), fam.spec.integrity, length)
    if key not in _blank:
        _blank[key] = family_digest(fam, b"\xff" * length)
    return _blank[key]


def device_identity(fam: ChipFamily) -> Identity:
    """``fam.identify()``, named by a fingerprint of its own device-unique data when the chip has no MAC
    (as Beken names such a chip): without one, every MAC-less chip of a family would share its backups'
    lookup and its journals. The fingerprint covers the ``Region.keep`` regions (RF calibration), which
    no flash replaces; when they are blank too the chip stays ``NOMAC``."""
    ident = fam.identify()
    if ident.mac is not None or ident.fallback_tag is not None:
        return ident
    kept = [r for r in ident.spec.regions if r.keep and r.end <= ident.flash_size]
    parts: list[bytes] = []
    for region in kept:
        digest = fam.digest(region.start, region.size)
        if digest is None:
            digest = hashlib.sha256(fam.read(region.start, region.size)).digest()
        if digest != blank_digest(fam, region.size) and digest != hashlib.sha256(b"\xff" * region.size).digest():
            parts.append(digest)
    if parts:
        ident.fallback_tag = "FP" + hashlib.sha256(b"".join(parts)).hexdigest()[:8].upper()
    return ident


def link_stats(fam: ChipFamily) -> LinkStats:
    stats = getattr(fam, "link_stats", None)
    if stats is not None:
        return stats()
    return LinkStats(int(getattr(fam, "baudrate", 0) or 0), 0)
