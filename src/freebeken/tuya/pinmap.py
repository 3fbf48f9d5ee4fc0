"""The state every Tuya key mapping shares: the mapping result, the builder that gives pins their
roles (honouring the chip's pin rules and numbering), and small helpers. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..templates import chips as gpio
from ..templates.model import PinRole, Template
from .upk import Value

NUM = r"(\d*)"


@dataclass
class Mapping:
    template: Template = field(default_factory=Template)
    levels: dict[int, str] = field(default_factory=dict)
    drivers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    module: str | None = None
    chip: str | None = None  # the silicon (RTL8720CF); the template's chip is OpenBeken's platform name (RTL87X0C)
    chip_evidence: list[str] = field(default_factory=list)
    chip_conflicts: list[str] = field(default_factory=list)
    checked: bool = True  # False: no pin facts for the chip, the pins were not checked
    flashable: bool = True  # False: freebeken cannot flash this chip (another tool must)
    tuya_mcu: dict[str, object] | None = None


def as_int(v: Value | None) -> int | None:
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) <= 9:  # not '²', not 5000 digits
        return int(v)
    return None


class Builder:
    def __init__(self, upk: dict[str, Value], rules: gpio.PinRules | None, label: str) -> None:
        self.upk = upk
        self.m = Mapping()
        self.used: set[str] = set()
        self.skipped: set[str] = set()  # keys beyond the config's own count: mapped last, where nothing live is
        self.extra: dict[str, str] = {}  # such a key -> why it is beyond ("above ch_num 2")
        self.owner: dict[int, str] = {}  # pin -> the key that took it
        self.placed: dict[str, int] = {}  # key -> the pin it took
        self.rules = rules  # None: no pin facts, nothing dropped for the pin
        self.label = label  # the chip as said in messages
        self.renumber = gpio.TUYA_TO_OBK.get(label)

    def level(self, key: str, default: int) -> int:
        lv_key = re.sub(r"_pin$", "", key) + "_lv"
        for candidate in (lv_key, key + "_lv"):
            if candidate in self.upk:
                self.used.add(candidate)
                return 1 if as_int(self.upk[candidate]) else 0
        return default

    def pin_of(self, key: str) -> int | None:
        """The key's pin in OpenBeken's numbering for the chip; None (said in unmapped) when it has none."""
        pin = as_int(self.upk.get(key))
        if pin is None:
            self.m.unmapped.append(f"{key}={self.upk.get(key)!r}: not a pin number")
            return None
        if self.renumber is not None:
            if pin not in self.renumber:
                self.m.unmapped.append(f"{key}={pin}: PA{pin} is not in OpenBeken's {self.label} pin table; dropped")
                return None
            pin = self.renumber[pin]
        rules = self.rules
        if rules is not None and not (0 <= pin < rules.gpio_count and (rules.bonded is None or pin in rules.bonded)):
            self.m.unmapped.append(f"{key}={self.upk.get(key)}: P{pin} does not exist on {self.label} (a placeholder); dropped")
            return None
        return pin

    def put(self, key: str, role: str, channel: int | None, level: int | None = None) -> str | None:
        """Give ``key``'s pin the role; returns the key that already holds the pin (then nothing changes)."""
        self.used.add(key)
        pin = self.pin_of(key)
        if pin is None:
            return None
        existing = self.m.template.pins.get(pin)
        if existing is not None:
            winner = self.owner.get(pin, "another key")
            if existing.role != role and key not in self.extra:  # bt_pin and reset_pin naming one button: one pin
                self.m.notes.append(f"P{pin} is named by two keys; kept {winner} ({existing.role}), ignored {key} ({role})")
            return winner
        self.m.template.pins[pin] = PinRole(role, channel if channel is not None else 0)
        self.owner[pin] = key
        self.placed[key] = pin
        if level is not None:
            self.m.levels[pin] = "active high" if level else "active low"
        return None

    def keys(self, pattern: str) -> list[tuple[str, int | None]]:
        """Keys matching ``pattern`` (with one ``(\\d*)`` group), with their number (None if absent)."""
        out = []
        for key in self.upk:
            m = re.fullmatch(pattern, key) if key not in self.skipped else None
            if m:
                out.append((key, int(m.group(1)) if m.group(1) else None))
        return sorted(out, key=lambda kv: (kv[1] or 0, kv[0]))


def free_channel(m: Mapping) -> int:
    """The lowest channel no pin uses yet (never 0, which many roles treat as none)."""
    used = {r.channel for r in m.template.pins.values()} | {r.channel2 for r in m.template.pins.values()}
    return next(ch for ch in range(1, 64) if ch not in used)


def add_command(m: Mapping, line: str) -> None:
    m.template.command = f"{m.template.command}\r\n{line}" if m.template.command else line
