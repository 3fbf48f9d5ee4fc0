"""Families by chip name, and which family a port string means.

A port is ``sim://CHIP?...`` (the simulator: the chip is in the URL) or a real port, for which the chip
is given (``--chip``) or, absent, is a Beken (the only family that identifies itself before anything
else is known: Beken's LinkCheck answers at power-on; the others need a boot pin held, so the person
knows which family they hold).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import UsageError
from .base import FamilySpec
from .specs import LN882H, RTL8720CF

#: Non-Beken families by chip name (and the aliases people and OpenBeken use).
FAMILIES: dict[str, FamilySpec] = {
    "rtl8720cf": RTL8720CF,
    "rtl87x0c": RTL8720CF,
    "wbr3": RTL8720CF,
    "wbr2": RTL8720CF,
    "ln882h": LN882H,
    "ln882hki": LN882H,
}

BEKEN = "beken"


def spec_by_chip(name: str) -> FamilySpec | None:
    """The family of a chip name; None for a Beken chip (or anything the Beken path knows)."""
    return FAMILIES.get(name.lower())


def family_of(port: str, chip: str | None = None) -> FamilySpec | None:
    """The non-Beken family a command on ``port`` must go through; None: the Beken path."""
    if chip:
        spec = spec_by_chip(chip)
        if spec is not None:
            return spec
        from ..chips import chip_by_name

        chip_by_name(chip)  # raises a UsageError naming the supported chips when it is no Beken either
        return None
    parts = urlsplit(port)
    if parts.scheme == "sim" and parts.netloc:
        return spec_by_chip(parts.netloc)
    return None


def require(name: str) -> FamilySpec:
    spec = spec_by_chip(name)
    if spec is None:
        known = ", ".join(sorted({s.name for s in FAMILIES.values()}))
        raise UsageError(f"{name!r} is not a non-Beken chip family freebeken knows", hint=f"Known: {known}.")
    return spec
