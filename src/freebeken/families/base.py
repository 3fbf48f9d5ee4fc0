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

    @property
    def tag(self) -> str:
        return self.mac.hex().upper() if self.mac else "NOMAC"

    @property
    def key(self) -> str:
        """A stable name for one physical chip: chip name and MAC."""
        return f"{self.spec.name}-{self.tag}"


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


def local_digest(integrity: Integrity, data: bytes) -> bytes | None:
    """What the chip's :meth:`ChipFamily.digest` returns for ``data``, computed here."""
    if integrity == "sha256":
        return hashlib.sha256(data).digest()
    if integrity == "crc32":
        import zlib

        return zlib.crc32(data).to_bytes(4, "little")
    return None
