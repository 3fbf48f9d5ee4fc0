"""tuya-cloudcutter's device and firmware-profile list: which devices can be converted over the
air, without opening them. Pure.

A device entry names the firmware profiles the exploit was built for; a profile names the chip,
the firmware (its name as Tuya reports it), its version and SDK. A match means *likely*: Tuya
patched the hole in later firmware, and a device sold under the same name may ship with a newer
one. So the answer is always said with the firmware version it depends on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError


@dataclass(frozen=True)
class Profile:
    slug: str
    chip: str
    firmware: str
    version: str
    sdk: str

    def describe(self) -> str:
        return f"{self.firmware} {self.version} ({self.chip}, SDK {self.sdk})"


@dataclass
class Device:
    slug: str
    manufacturer: str
    name: str
    profiles: list[Profile] = field(default_factory=list)
    issues: list[int] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.manufacturer} {self.name}".strip()

    def no_solder(self, version: str | None = None, chip: str | None = None) -> str:
        """The honest over-the-air answer for this device (and a firmware version, if known)."""
        mine = [p for p in self.profiles if (chip is None or p.chip.upper() == chip.upper())]
        if not mine:
            return "no over-the-air profile: open it and flash over UART"
        versions = ", ".join(sorted({p.version for p in mine}))
        if version is None:
            return (
                f"likely without opening it, if it still runs firmware {versions} (tuya-cloudcutter has a profile; "
                "the Smart Life app shows the version)"
            )
        if any(p.version == version for p in mine):
            return f"likely without opening it: tuya-cloudcutter has a profile for firmware {version}"
        return f"its profiles are for firmware {versions}, not {version}: newer firmware is usually patched, so UART it is"


@dataclass
class Catalogue:
    devices: list[Device]
    profiles: dict[str, Profile]

    def profiles_for(self, version: str, chip: str | None = None) -> list[Profile]:
        return sorted(
            (p for p in self.profiles.values() if p.version == version and (chip is None or p.chip.upper() == chip.upper())),
            key=lambda p: p.slug,
        )


def _profile(slug: str, data: dict[str, Any]) -> Profile:
    fw = data.get("firmware") or {}
    return Profile(
        slug,
        str(fw.get("chip") or data.get("chip") or "?"),
        str(fw.get("name") or data.get("sub_name") or "?"),
        str(fw.get("version") or data.get("version") or "?"),
        str(fw.get("sdk") or data.get("sdk") or "?"),
    )


def parse(data: Any, profiles_data: Any = None) -> Catalogue:
    """The snapshot format ({"devices": {slug: ...}, "profiles": {slug: ...}}) or the public API's
    two lists (devices.json and profiles.json, each a list of objects with a "slug")."""
    if isinstance(data, dict) and isinstance(data.get("devices"), dict):
        raw_devices, raw_profiles = data["devices"], data.get("profiles") or {}
    elif isinstance(data, list):
        raw_devices = {str(d.get("slug")): d for d in data if isinstance(d, dict)}
        raw_profiles = {str(p.get("slug")): p for p in profiles_data or [] if isinstance(p, dict)}
    else:
        raise UsageError(
            "This is not tuya-cloudcutter's device list",
            hint="Give the snapshot file, or let freebeken download the list (omit --cloudcutter).",
        )
    profiles = {slug: _profile(slug, p) for slug, p in raw_profiles.items() if isinstance(p, dict)}
    devices = []
    for slug, d in raw_devices.items():
        if not isinstance(d, dict):
            continue
        refs = [r.get("slug") if isinstance(r, dict) else r for r in d.get("profiles") or []]
        devices.append(
            Device(
                slug,
                str(d.get("manufacturer") or ""),
                str(d.get("name") or slug),
                [profiles[r] for r in refs if r in profiles],
                [int(i) for i in d.get("github_issues") or [] if str(i).isdigit()],
            )
        )
    return Catalogue(devices, profiles)
