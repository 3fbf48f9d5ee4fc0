"""Which chip a Tuya configuration is for: module names to chip families as data, and the other
witnesses (a firmware profile's chip, a ``chip`` key, the flash layout of a dump), weighed.

Each family names its sources; where sources disagree the table says so. Sources:

- LT: LibreTiny's board definitions (``boards/*.json``, libretiny-eu/libretiny @ 6514b26), which
  transcribe Tuya's module datasheets (``build.mcu``).
- GFT: BK7231GUIFlashTool ``BK7231Flasher/TuyaModules.cs`` (openshwprojects/BK7231GUIFlashTool
  @ 90f2284): W* -> BK7231T unless the third letter is R (RTL87X0C), CB* BK7231N, CR* RTL87X0C,
  T34 BK7231N, T1..T5 by digit, X* XR809.
- OBK: OpenBeken's device list (devices.json @ 6052028), the boards its human templates name with
  their chip; OpenBeken's README ("T34 is based on BK7231N", "BK7231N (CB2S, CB2L, WB2L_M1)").
- TUYA: Tuya's module datasheets on developer.tuya.com.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Family:
    prefix: str  # module names starting with it (the longest matching prefix wins)
    chip: str  # the silicon
    sources: str
    disagreement: str = ""  # what a source says otherwise, and why we do not follow it


FAMILIES: tuple[Family, ...] = (
    Family("WBR", "RTL8720CF", "LT wbr1/wbr3/wbru; GFT (W?R -> RTL87X0C); OBK boards WBR1/WBR2/WBR3 as RTL87X0C"),
    Family("WB2L_M1", "BK7231N", "LT wb2l-m1; OBK board WB2L_M1 (2x BK7231N); OBK README", "GFT reads every WB* as BK7231T"),
    Family("WB2L-M1", "BK7231N", "as WB2L_M1 (the same module, written with a dash)"),
    Family(
        "WB",
        "BK7231T",
        "LT wb1s/wb2l/wb2s/wb3l/wb3s/wblc5; GFT; OBK boards WB2S/WB3S/WB2L/WB3L/WBLC5 (BK7231T)",
        "OBK lists one WB3S and one WBLC9 as BK7231N: Tuya reuses configs on CB modules; a firmware profile or the dump "
        "decides then",
    ),
    Family(
        "WR",
        "RTL8710BN",
        "LT wr1/wr1e/wr2/wr2e/wr2l/wr3/wr3e/wr3l/wr3n; OBK boards WR2E/WR3 as RTL8710B",
        "GFT reads WR* as BK7231T (its rule looks only at the third letter)",
    ),
    Family(
        "WL",
        "LN882H",
        "LT wl2h-u/wl2s; OBK board WL2S (7x LN882H)",
        "GFT reads WL* as BK7231T; OBK has one WL2S entry as BK7231T",
    ),
    Family("WA", "BK7231Q", "LT wa2 (bk7231q)", "GFT reads WA* as BK7231T"),
    Family("CBU", "BK7231N", "LT cbu; GFT; OBK board CBU (75x BK7231N)"),
    Family("CB", "BK7231N", "LT cb1s/cb2l/cb2s/cb3l/cb3s/cb3se/cblc5; GFT; OBK boards CB2S/CB3S/CB2L/CBLC5/CBLC9/CB8P"),
    Family("CR", "RTL8720CM", "LT cr3l (mcu rtl8720cm, ic rtl8720cf); GFT (CR -> RTL87X0C)"),
    Family("T34", "BK7231N", "GFT; OBK README; OBK board T34 (7x BK7231N)"),
    Family("T1", "BK7238", "LT t1-2s/t1-3s/t1-m/t1-u; GFT; OBK boards T1-2S-NL/T1-3S/T1-M/T1-U-HL"),
    Family("T2", "BK7231N", "GFT (module and platform name t2); one source only"),
    Family("T3", "BK7236", "GFT (module and platform name T3); Tuya's T3 datasheets name only 'T3': one source"),
    Family("T4", "BK7252N", "GFT; one source only"),
    Family("T5", "BK7258", "GFT (module and platform name T5); one source only"),
    Family("TYWE", "ESP8266", "OBK boards TYWE2L/TYWE2S/TYWE3S (ESP8266; one TYWE3S as ESP8285); TUYA TYWE3S datasheet"),
    Family("XR", "XR809", "GFT (X* -> XR809); OBK board XR3 (2x XR809)"),
)

#: OpenBeken's platform name for a chip (the ``chip`` of its device list and its pin numbering).
OBK_PLATFORM = {"RTL8720CF": "RTL87X0C", "RTL8720CM": "RTL87X0C", "RTL8710BN": "RTL8710B", "RTL8710BX": "RTL8710B"}

#: Chip names as firmware profiles and ``chip`` keys spell them (cloudcutter's ``bk7231s`` is a T).
_SPELLINGS = (
    (r"rtl8720cf|rtl8720c\b|8720cf", "RTL8720CF"),
    (r"rtl8720cm", "RTL8720CM"),
    (r"rtl8710bn|rtlbn|rtl8710b\b", "RTL8710BN"),
    (r"bk7231n|\b7231nl?\b", "BK7231N"),
    (r"bk7231[st]", "BK7231T"),
    (r"bk7231u", "BK7231U"),
    (r"bk7238", "BK7238"),
    (r"bk7252n", "BK7252N"),
    (r"bk7236", "BK7236"),
    (r"bk7258", "BK7258"),
    (r"ln882h", "LN882H"),
    (r"esp8266", "ESP8266"),
    (r"xr809", "XR809"),
    (r"bl602", "BL602"),
)


def family_of(module: str) -> Family | None:
    """The family a Tuya module name belongs to (longest prefix), or None when no source names it."""
    name = module.strip().upper()
    if not name:
        return None
    best: Family | None = None
    for family in FAMILIES:
        if name.startswith(family.prefix) and (best is None or len(family.prefix) > len(best.prefix)):
            rest = name[len(family.prefix) : len(family.prefix) + 1]
            if family.prefix[-1].isdigit() and rest.isdigit():  # T1 is not T12..., T3 not T34
                continue
            best = family
    return best


def chip_of_module(module: str) -> str | None:
    family = family_of(module)
    return family.chip if family else None


def chip_in_name(text: str) -> str | None:
    """The chip a firmware profile name or a ``chip`` key spells (``oem-rtl8720cf-dltj-1.1.1`` -> RTL8720CF)."""
    lowered = text.lower()
    for pattern, chip in _SPELLINGS:
        if re.search(pattern, lowered):
            return chip
    return None


def platform(chip: str | None) -> str:
    """OpenBeken's name for ``chip`` (its device list's ``chip`` field)."""
    return OBK_PLATFORM.get((chip or "").upper(), (chip or "").upper())


@dataclass
class ChipVerdict:
    chip: str | None = None  # the silicon
    evidence: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    @property
    def platform(self) -> str:
        return platform(self.chip)


def same_chip(a: str, b: str) -> bool:
    """BK7231T and BK7231U share one OpenBeken build and layout; RTL8720CF/CM one platform."""
    return a == b or platform(a) == platform(b) or {a, b} <= {"BK7231T", "BK7231U"}


def decide(
    module: str | None = None, profiles: tuple[str, ...] = (), chip_key: str | None = None, layout: str | None = None
) -> ChipVerdict:
    """Weigh the witnesses: the flash layout (bytes) first, then a firmware profile's chip (read
    from the firmware), then a ``chip`` key, then the module name. Every disagreement is said."""
    said: list[tuple[str, str]] = []  # (chip, why), strongest first
    if layout:
        said.append((layout.upper(), "the dump's flash layout"))
    for name in profiles:
        chip = chip_in_name(name)
        if chip:
            said.append((chip, f"firmware profile {name}"))
    if chip_key:
        chip = chip_in_name(chip_key) or chip_key.strip().upper()
        said.append((chip, f"chip key {chip_key!r}"))
    if module:
        family = family_of(module)
        if family:
            said.append((family.chip, f"module {module} ({family.prefix}* modules carry a {family.chip})"))
    v = ChipVerdict()
    if not said:
        return v
    v.chip = said[0][0]
    v.evidence = [why for _chip, why in said]
    for chip, why in said[1:]:
        if not same_chip(chip, v.chip):
            v.conflicts.append(f"{why} says {chip}, but {said[0][1]} says {v.chip}: {v.chip} is used")
    return v
