"""What the community already knows: a template against OpenBeken's devices.json (identical or
close, and exactly what differs), and a typo-tolerant search of that list and tuya-cloudcutter's.
Pure: the lists come in as parsed JSON (``lists.py`` downloads and caches them)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from .model import PinRole, Template, from_entry
from .roles import MISSPELLINGS, canonical

#: Roles that differ only in how the pin is wired or how a press acts: "close", not "different".
FAMILIES = (
    {"Rel", "Rel_n"},
    {"LED", "LED_n"},
    {"WifiLED", "WifiLED_n"},
    {"PWM", "PWM_n"},
    {"Btn", "Btn_n", "Btn_pd", "Btn_pd_n", "Btn_Tgl_All", "Btn_Tgl_All_n"},
    {"dInput", "dInput_n", "dInput_NoPullUp", "dInput_NoPullUp_n"},
)


@dataclass(frozen=True)
class Known:
    index: int  # position in devices.json's list
    template: Template

    @property
    def title(self) -> str:
        t = self.template
        vendor = t.vendor if t.vendor and not t.name.lower().startswith(t.vendor.lower()) else ""
        words = [vendor, t.name] + ([t.model] if t.model and t.model not in t.name else [])
        return " ".join(w for w in words if w).strip() or f"entry {self.index}"


@dataclass
class Match:
    known: Known
    identical: bool
    differences: list[str] = field(default_factory=list)

    def describe(self) -> str:
        how = "identical pins" if self.identical else "close: " + "; ".join(self.differences)
        return f"{self.known.title} ({self.known.template.chip or 'chip not given'}), {how}"


def load_devices(data: Any) -> list[Known]:
    """devices.json as published ({"devices": [...]}) or a bare list. Entries are read leniently
    (a misspelt role or a pin of another chip family stays as written): for matching, what the
    entry says counts, not whether the firmware would accept it."""
    entries = data.get("devices", []) if isinstance(data, dict) else data
    known = []
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict):
            continue
        template = from_entry(entry)[0]
        template.pins = {}  # TuyaMCU devices have none, only a startup command: still searchable
        given = entry.get("pins")
        pins: dict = given if isinstance(given, dict) else {}
        for key, value in pins.items():
            role = PinRole.parse(str(value))
            if role is not None and str(key).strip().isdigit():
                name = canonical(role.role) or MISSPELLINGS.get(role.role.lower(), role.role)
                template.pins[int(key)] = PinRole(name, role.channel, role.channel2)
        known.append(Known(i, template))
    return known


def _pins(t: Template) -> dict[int, PinRole]:
    return {p: PinRole(r.role, r.channel or 0, r.channel2) for p, r in t.pins.items() if r.role != "None"}


def _family(a: str, b: str) -> bool:
    return any(a in f and b in f for f in FAMILIES)


def compare(mine: Template, theirs: Template) -> tuple[bool, list[str]] | None:
    """(identical, differences) when ``theirs`` is the same device or close to it; None otherwise.
    Close: the same pins with other wiring levels, button kinds or channels, or one pin more or
    less - every difference named."""
    a, b = _pins(mine), _pins(theirs)
    diffs: list[str] = []
    if mine.chip and theirs.chip and mine.chip.upper() != theirs.chip.upper():
        diffs.append(f"the list's entry is for {theirs.chip}, this is {mine.chip}")
    only_mine, only_theirs = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if len(only_mine) + len(only_theirs) > 1 or not set(a) & set(b):
        return None
    diffs += [f"P{p} {a[p].text()} is not in the entry" for p in only_mine]
    diffs += [f"the entry also has P{p} {b[p].text()}" for p in only_theirs]
    for pin in sorted(set(a) & set(b)):
        x, y = a[pin], b[pin]
        if x.role != y.role:
            if not _family(x.role, y.role):
                return None
            diffs.append(f"P{pin} is {x.role} here, {y.role} in the entry")
        if (x.channel, x.channel2) != (y.channel, y.channel2):
            diffs.append(f"P{pin} uses channel {x.text().split(';', 1)[1]} here, {y.text().split(';', 1)[1]} in the entry")
    return not diffs, diffs


def match(mine: Template, known: list[Known]) -> list[Match]:
    """Identical entries first, then close ones by fewest differences."""
    found = []
    for k in known:
        verdict = compare(mine, k.template)
        if verdict is not None:
            found.append(Match(k, verdict[0], verdict[1]))
    return sorted(found, key=lambda m: (not m.identical, len(m.differences), m.known.index))


# ---- search by words ----


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def score(query: list[str], candidate: list[str]) -> float:
    """Every query word must be found (a typo, a prefix or a compound like 'smartplug' allowed);
    0 when one is missing, else the mean closeness."""
    if not query or not candidate:
        return 0.0
    joined = "".join(candidate)
    total = 0.0
    for q in query:
        best = max(difflib.SequenceMatcher(None, q, c).ratio() for c in candidate)
        if any(c.startswith(q) for c in candidate) or (len(q) >= 4 and q in joined):
            best = max(best, 0.95)
        if best < 0.8:
            return 0.0
        total += best
    return total / len(query)


def search(query: str, items: list[tuple[Any, str]], limit: int = 20) -> list[tuple[float, Any]]:
    """``items`` are (thing, its searchable text); the best ``limit`` hits, best first."""
    q = words(query)
    hits = [(score(q, words(text)), thing) for thing, text in items]
    return sorted((h for h in hits if h[0] > 0), key=lambda h: -h[0])[:limit]
