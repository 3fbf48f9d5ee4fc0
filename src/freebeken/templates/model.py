"""One model for an OpenBeken device template, its validation, and its renderings.

A template is what devices.json holds for a device: vendor, name, model, chip, board, flags,
startup command and pins ``{"7": "Rel;1"}``. Everything here is pure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..chips import CHIPS
from ..errors import UsageError
from ..families.registry import FAMILIES, spec_by_chip
from . import chips as gpio
from .roles import CHANNEL_UNUSED, MISSPELLINGS, OUTPUT_ROLES, PWM_ROLES, canonical

TOGGLING_BUTTONS = {"Btn", "Btn_n", "Btn_pd", "Btn_pd_n"}

ENTRY_FIELDS = ("vendor", "name", "model", "chip", "board", "flags", "command", "pins", "keywords", "image", "wiki")
KNOWN_CHIPS = {chip.name for chip in CHIPS.values()}


@dataclass(frozen=True)
class PinRole:
    role: str
    channel: int | None = None
    channel2: int | None = None

    @classmethod
    def parse(cls, text: str) -> PinRole | None:
        """``"Role;channel[;channel2]"`` as written (the role is not checked); None if malformed."""
        m = _PIN_TEXT.match(text)
        if not m or not m.group(1):
            return None
        ch, ch2 = m.group(2), m.group(3)
        return cls(m.group(1), int(ch) if ch is not None else None, int(ch2) if ch2 is not None else None)

    def text(self) -> str:
        parts = [self.role, str(self.channel if self.channel is not None else 0)]
        if self.channel2 is not None:
            parts.append(str(self.channel2))
        return ";".join(parts)


@dataclass(frozen=True)
class Problem:
    severity: str  # "error" (the firmware or the web app would reject it) or "warning"
    where: str
    message: str

    def __post_init__(self) -> None:
        # quoted input can carry lone surrogates, which no terminal, file or web page can show
        for name in ("where", "message"):
            text = getattr(self, name)
            object.__setattr__(self, name, text.encode("utf-8", "backslashreplace").decode("utf-8"))

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.message}"


@dataclass
class Template:
    vendor: str = ""
    name: str = ""
    model: str = ""
    chip: str = ""
    board: str = ""
    flags: int | None = None
    command: str = ""
    pins: dict[int, PinRole] = field(default_factory=dict)
    keywords: list[str] = field(default_factory=list)
    image: str = ""
    wiki: str = ""

    # ---- renderings ----

    def to_entry(self) -> dict[str, Any]:
        """The devices.json entry (fields in the web app's order, empty ones left out)."""
        entry: dict[str, Any] = {}
        for key in ("vendor", "name", "model", "chip", "board"):
            value = getattr(self, key)
            if value:
                entry[key] = value
        if self.flags is not None:
            entry["flags"] = str(self.flags)
        if self.command:
            entry["command"] = self.command
        entry["keywords"] = list(self.keywords)
        entry["pins"] = {str(pin): role.text() for pin, role in sorted(self.pins.items())}
        for key in ("image", "wiki"):
            if getattr(self, key):
                entry[key] = getattr(self, key)
        return entry

    def backlog(self, wipe: bool = True) -> list[str]:
        """Console commands, in the order the OBK web app sends them when importing a template."""
        lines = ["ClearIO", "lfs_format", 'StartupCommand ""', "stopDriver *"] if wipe else []
        for pin, role in sorted(self.pins.items()):
            channels = " ".join(str(c) for c in (role.channel or 0, role.channel2) if c is not None)
            lines.append(f"backlog setPinRole {pin} {role.role}; setPinChannel {pin} {channels}")
        if self.flags is not None:
            lines.append(f"Flags {self.flags}")
        if self.command:
            lines.append(f'StartupCommand "{self.command}"')
        return lines


class TemplateSyntaxError(UsageError):
    """Invalid JSON, with the position a person can find in their editor."""

    def __init__(self, message: str, line: int, column: int, source: str = "") -> None:
        where = f"{source}:" if source else ""
        super().__init__(
            f"{where}{line}:{column}: {message}",
            hint="Fix the JSON at that position (a text editor shows line and column) and check again.",
        )
        self.line = line
        self.column = column


class _Object(dict):
    """A JSON object that remembers keys given more than once (json.loads keeps only the last)."""

    duplicates: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    obj.duplicates = []
    for key, value in pairs:
        if key in obj:
            obj.duplicates.append(key)
        obj[key] = value
    return obj


def parse_json(text: str, source: str = "") -> Any:
    """json.loads with errors that say where and what, including the classic trailing comma."""
    try:
        return json.loads(text, object_pairs_hook=_pairs)
    except json.JSONDecodeError as e:
        before = text[: e.pos].rstrip()
        if before.endswith(",") and e.pos < len(text) and text[e.pos] in "}]":
            comma = len(before) - 1
            line = text.count("\n", 0, comma) + 1
            column = comma - (text.rfind("\n", 0, comma) + 1) + 1
            closing = text[e.pos]
            raise TemplateSyntaxError(
                f"trailing comma before '{closing}' - JSON does not allow it; remove the comma", line, column, source
            ) from None
        raise TemplateSyntaxError(e.msg, e.lineno, e.colno, source) from None
    except RecursionError:
        raise UsageError(f"{source or 'The template'} is nested too deeply to be a template", hint=NOT_A_TEMPLATE) from None
    except ValueError as e:  # a number with more digits than Python converts
        raise UsageError(f"{source or 'The template'} holds a number that is far too long ({e})", hint=NOT_A_TEMPLATE) from None


NOT_A_TEMPLATE = 'A template is a small JSON object like {"name": "...", "pins": {"7": "Rel;1"}}.'


_PIN_TEXT = re.compile(r"^\s*([^;]*?)\s*(?:;\s*(-?[0-9]{1,6})\s*)?(?:;\s*(-?[0-9]{1,6})\s*)?$", re.ASCII)


def from_entry(entry: Any, where: str = "") -> tuple[Template, list[Problem]]:
    """Read a devices.json entry, normalising what the web app normalises, and report problems."""
    problems: list[Problem] = []
    prefix = f"{where}." if where else ""
    if not isinstance(entry, dict):
        return Template(), [Problem("error", where or "entry", "a template must be a JSON object {...}")]
    for key in entry:
        if key not in ENTRY_FIELDS and key != "bDetailed":
            problems.append(Problem("warning", f"{prefix}{key}", "unknown field (devices.json does not use it)"))
    text = {k: str(entry.get(k) or "") for k in ("vendor", "name", "model", "chip", "board", "command", "image", "wiki")}
    t = Template(
        vendor=text["vendor"],
        name=text["name"],
        model=text["model"],
        chip=text["chip"],
        board=text["board"],
        command=text["command"],
        image=text["image"],
        wiki=text["wiki"],
    )
    for key in ("vendor", "name", "model", "chip", "board", "command", "image", "wiki", "keywords", "pins"):
        if not _encodable(entry.get(key)):
            problems.append(
                Problem("error", f"{prefix}{key}", "contains a character that cannot be stored (a lone \\ud800-style escape)")
            )
    flags = entry.get("flags")
    if flags not in (None, ""):
        try:
            if isinstance(flags, float) and not flags.is_integer():
                raise ValueError("not a whole number")
            t.flags = int(str(flags).strip(), 10) if not isinstance(flags, (int, float)) else int(flags)
            if -(1 << 31) <= t.flags < 0:  # JavaScript's bitwise operators give signed 32-bit numbers
                problems.append(Problem("warning", f"{prefix}flags", f"{t.flags} read as the 32-bit value {t.flags + (1 << 32)}"))
                t.flags += 1 << 32
            if not 0 <= t.flags < 1 << 64:
                raise ValueError("out of range")
        except (TypeError, ValueError, OverflowError):
            t.flags = None
            shown = str(flags) if len(str(flags)) <= 40 else str(flags)[:40] + "..."
            problems.append(Problem("error", f"{prefix}flags", f"{shown} is not a number from 0 to 2^64-1"))
    keywords = entry.get("keywords", [])
    t.keywords = [str(k) for k in keywords] if isinstance(keywords, list) else []
    pins = entry.get("pins", {})
    if not isinstance(pins, dict):
        problems.append(Problem("error", f"{prefix}pins", 'must be an object like {"7": "Rel;1"}'))
        pins = {}
    for key in getattr(pins, "duplicates", []):
        problems.append(Problem("error", f"{prefix}pins.{key}", f"GPIO {key} is listed twice; only the last one would be used"))
    for key, value in pins.items():
        here = f"{prefix}pins.{key}"
        try:
            pin = int(str(key).strip().lstrip("Pp"))
        except ValueError:
            problems.append(Problem("error", here, f"{key!r} is not a GPIO number"))
            continue
        if pin in t.pins:
            problems.append(Problem("error", here, f"GPIO {pin} is listed twice"))
            continue
        written = PinRole.parse(str(value))
        if written is None:
            problems.append(Problem("error", here, f'{value!r} is not "Role;channel[;channel2]"'))
            continue
        raw_role = written.role
        role = canonical(raw_role)
        if role is None:
            fix = MISSPELLINGS.get(raw_role.lower())
            hint = f" (did you mean {fix}?)" if fix else " (see freebeken template roles)"
            problems.append(Problem("error", here, f"role {raw_role!r} is not accepted by the firmware{hint}"))
            continue
        if role != raw_role:
            problems.append(Problem("warning", here, f"role {raw_role!r} written as {role!r}"))
        t.pins[pin] = PinRole(role, written.channel, written.channel2)
    return t, problems + validate(t, where)


def _encodable(value: Any) -> bool:
    """JSON allows escapes of lone surrogates (\ud800); no file or web page can hold them."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError, RecursionError):
        return False
    return True


def validate(t: Template, where: str = "") -> list[Problem]:
    prefix = f"{where}." if where else ""
    problems: list[Problem] = []
    rules = gpio.rules_for(t.chip)
    if t.chip and t.chip.upper() not in KNOWN_CHIPS and spec_by_chip(t.chip.strip()) is None:
        unchecked = "" if rules else "; its pins were not checked (freebeken has no pin facts for it), only its roles"
        flashes = sorted(KNOWN_CHIPS) + sorted({s.obk_platform.removeprefix("Open") for s in FAMILIES.values()})
        problems.append(
            Problem(
                "warning",
                f"{prefix}chip",
                f"{t.chip!r}: freebeken does not flash this chip (it flashes {', '.join(flashes)}){unchecked}",
            )
        )
    if not t.name:
        problems.append(Problem("warning", f"{prefix}name", "a name helps others find the template"))
    for pin, role in sorted(t.pins.items()):
        here = f"{prefix}pins.{pin}"
        if rules is not None and not _pin_ok(rules, t.chip.strip().upper() or "BK7231T/N", pin, role, here, problems):
            continue
        for ch in (role.channel, role.channel2):
            if ch is not None and not 0 <= ch <= 63:
                problems.append(Problem("error", here, f"channel {ch} is outside 0..63"))
        if role.role not in CHANNEL_UNUSED and role.role != "None" and role.channel is None:
            problems.append(Problem("warning", here, f"{role.role} without a channel uses channel 0"))
        if rules is not None and pin in rules.uart1 and role.role not in CHANNEL_UNUSED:
            problems.append(Problem("warning", here, f"P{pin} is the flashing UART (RX1/TX1); check the pin"))
    outputs = {r.channel for r in t.pins.values() if r.role in OUTPUT_ROLES}
    for pin, role in sorted(t.pins.items()):
        if role.role in TOGGLING_BUTTONS and outputs and role.channel not in outputs:
            problems.append(
                Problem("warning", f"{prefix}pins.{pin}", f"button toggles channel {role.channel}, which no output uses")
            )
    return problems


def _pin_ok(rules: gpio.PinRules, chip: str, pin: int, role: PinRole, here: str, problems: list[Problem]) -> bool:
    """The chip's pin facts; False when the pin does not exist at all (nothing more to say)."""
    if not 0 <= pin < rules.gpio_count:
        problems.append(Problem("error", here, f"GPIO {pin} does not exist on {chip} (0..{rules.gpio_count - 1})"))
        return False
    if rules.bonded is not None and pin not in rules.bonded:
        problems.append(Problem("error", here, f"P{pin} is not bonded out on {chip} packages"))
    if role.role in PWM_ROLES and pin not in rules.pwm:
        capable = ", ".join(str(p) for p in sorted(rules.pwm))
        problems.append(Problem("error", here, f"P{pin} cannot do PWM on {chip} (only {capable})"))
    if role.role in ("ADC", "BAT_ADC") and pin not in rules.adc:
        problems.append(Problem("warning", here, f"P{pin} is not an ADC pin on {chip} ({rules.adc_names})"))
    return True


def load(text: str, source: str = "") -> list[tuple[Template, list[Problem]]]:
    """A single entry, a list of entries, or a whole devices.json ({"devices": [...]})."""
    data = parse_json(text, source)
    if isinstance(data, dict) and isinstance(data.get("devices"), list):
        data = data["devices"]
    if isinstance(data, list):
        return [from_entry(item, f"devices[{i}]") for i, item in enumerate(data)]
    return [from_entry(data)]
