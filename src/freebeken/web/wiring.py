"""Pictures for the page, as SVG text made from data: where the adapter's wires go on a module
(from ``chips.modules``), and what a template drives. Pure functions: data in, markup out."""

from __future__ import annotations

from html import escape

from ..chips.modules import MODULES, NEEDED, Module  # noqa: F401  (MODULES re-exported for the app)
from ..templates.model import Template
from .family_modules import FAMILY_MODULES, FamilyModule

PAD_W, PAD_GAP = 46, 6
WIRE_COLOUR = {
    "GND": "#222222",
    "TX": "#1565c0",
    "RX": "#2e7d32",
    "RTS": "#6a1b9a",
    "3V3": "#c62828",
    "3V3 (boot)": "#ef6c00",  # the boot pin's wire: held at reset, taken off before the first boot
    "GND (boot)": "#ef6c00",
}


def _text(
    x: float, y: float, text: str, size: int = 12, weight: str = "normal", anchor: str = "middle", fill: str = "#1d2327"
) -> str:
    return (
        f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" font-weight="{weight}" text-anchor="{anchor}" '
        f'fill="{fill}" font-family="sans-serif">{escape(text)}</text>'
    )


def _row(pads: list[tuple[str, str]], x0: float, y: float, needed: dict[str, str]) -> tuple[list[str], dict[str, float]]:
    """Pads side by side; returns the markup and each pad's centre x."""
    out, centre = [], {}
    for i, (pad, name) in enumerate(pads):
        x = x0 + i * (PAD_W + PAD_GAP)
        on = name in needed
        out.append(
            f'<rect x="{x}" y="{y}" width="{PAD_W}" height="34" rx="3" fill="{"#ffd54f" if on else "#e0e0e0"}" '
            f'stroke="{"#5d4300" if on else "#9e9e9e"}" stroke-width="{2 if on else 1}"/>'
        )
        out.append(_text(x + PAD_W / 2, y + 14, pad, 11, "bold" if on else "normal"))
        out.append(_text(x + PAD_W / 2, y + 28, needed.get(name, name) if on else name, 11, "bold" if on else "normal"))
        centre[pad] = x + PAD_W / 2
    return out, centre


def wiring_svg(module: Module | FamilyModule) -> str:
    """The module's pads (front, and the back's test points beside them) above the adapter, one
    coloured wire per connection; the same in words in the picture's description. A family module
    (RTL8720CF, LN882H) has a fifth wire to its boot pin instead of the optional reset wire."""
    family = isinstance(module, FamilyModule)
    needed = module.needed if isinstance(module, FamilyModule) else NEEDED
    numbered = not isinstance(module, FamilyModule) or module.numbered
    if not numbered:  # the pads are named by their signal: show the chip pin under it
        needed = {signal: signal for signal in needed}
    back_pad = module.is_back if isinstance(module, FamilyModule) else (lambda pad: pad.startswith("T"))
    front = [(p, n) for p, n in module.pads if not back_pad(p)]
    back = [(p, n) for p, n in module.pads if back_pad(p)]
    wires = module.wires()
    step = PAD_W + PAD_GAP
    front_w = len(front) * step + 14
    parts = [
        f'<rect x="10" y="30" width="{front_w + 10}" height="90" rx="8" fill="#f5f7fa" stroke="#455a64"/>',
        _text(20, 52, f"{module.name} ({module.chip}): " + ("front pads" if numbered else _UNNUMBERED), 14, "bold", "start"),
    ]
    row, centres = _row(front, 20, 70, needed)
    parts += row
    width = front_w + 40
    if back:  # beside the front, so no wire crosses a row of pads
        x0 = front_w + 40
        back_w = max(len(back) * step + 24, 150)  # room for its title beside a single test point
        parts += [
            f'<rect x="{x0 - 10}" y="30" width="{back_w}" height="90" rx="8" fill="#fdf6e3" stroke="#455a64"/>',
            _text(x0, 52, "back: test points", 14, "bold", "start"),
        ]
        row, more = _row(back, x0, 70, needed)
        parts += row
        centres.update(more)
        width = x0 + back_w + 6
    adapter_y = 300
    step_x, box = (110, 84) if family else (100, 60)  # "3V3 (boot)" needs a wider box
    width = max(width, len(wires) * step_x + 60)
    parts.append(
        f'<rect x="10" y="{adapter_y - 10}" width="{len(wires) * step_x + 20}" height="80" rx="8" fill="#eceff1" stroke="#455a64"/>'
    )
    parts.append(_text(20, adapter_y + 60, "USB-serial adapter set to 3.3 V", 13, "bold", "start"))
    for i, (pin, pad_text, _why) in enumerate(wires):
        x = 40 + i * step_x
        pad = pad_text.split()[1]
        mid = 140 + i * 24  # each wire runs across at its own height
        dash = ' stroke-dasharray="6 4"' if pin == "RTS" else ""
        parts.append(
            f'<polyline points="{centres[pad]:.0f},104 {centres[pad]:.0f},{mid} {x + box / 2:.0f},{mid} {x + box / 2:.0f},{adapter_y}" '
            f'fill="none" stroke="{WIRE_COLOUR[pin]}" stroke-width="2.5"{dash}/>'
        )
        parts.append(
            f'<rect x="{x}" y="{adapter_y}" width="{box}" height="30" rx="3" fill="white" stroke="{WIRE_COLOUR[pin]}" stroke-width="2"/>'
        )
        parts.append(_text(x + box / 2, adapter_y + 20, pin, 13, "bold"))
    words = "; ".join(f"adapter {pin} to {pad}" for pin, pad, _ in wires)
    height = adapter_y + 80
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="t d"><title id="t">Wiring a {escape(module.name)} for flashing</title>'
        f'<desc id="d">{escape(words)}</desc>'
        + _text(
            10,
            20,
            f"Wiring {module.name} to the adapter " + (_BOOT_NOTE if family else "(dashed: optional)"),
            15,
            "bold",
            "start",
        )
        + "".join(parts)
        + "</svg>"
    )


_BOOT_NOTE = "(orange: the boot pin, held at reset only)"
_UNNUMBERED = "pads by the signal printed beside them (pad numbers: the datasheet)"


def module_named(name: str) -> Module | FamilyModule | None:
    """A module the page can draw: a Beken one (``chips.modules``) or a family's (``family_modules``)."""
    return MODULES.get(name) or FAMILY_MODULES.get(name)


def _obk_pin(family: str, gpio: str) -> int | None:
    """OpenBeken's pin number of a chip pin: on RTL87X0C pin n is PAn; on LN882H A0..A15 are 0..15
    and B0..B9 are 16..25 (OpenBeken src/hal/ln882h/hal_pins_ln882h.c, g_pins)."""
    if gpio[:2] not in ("PA", "PB") or not gpio[2:].isdigit():
        return None
    n = int(gpio[2:])
    if family == "rtl8720cf":
        return n if gpio.startswith("PA") else None
    return n if gpio.startswith("PA") else 16 + n


def _chip_pin_pads(module: Module | FamilyModule) -> dict[str, str]:
    """Template pin ("P18") -> the module's pad carrying it."""
    if isinstance(module, FamilyModule):
        found = {}
        for pad, name in reversed(module.pads):
            pin = _obk_pin(module.family, name)
            if pin is not None:
                found[f"P{pin}"] = pad
        return found
    return {name: pad for pad, name in reversed(module.pads)}


ROLE_COLOUR = [
    ("Rel", "#c62828", "relay"),
    ("LED", "#ef6c00", "LED"),
    ("Btn", "#1565c0", "button"),
    ("PWM", "#6a1b9a", "light (PWM)"),
    ("WifiLED", "#ef6c00", "Wi-Fi LED"),
]


def _describe(role: str) -> tuple[str, str]:
    name, _, channel = role.partition(";")
    for prefix, colour, words in sorted(ROLE_COLOUR, key=lambda r: -len(r[0])):
        if name.startswith(prefix):
            inverted = " (inverted)" if name.endswith("_n") else ""
            return colour, f"{words}{inverted}, channel {channel}" if channel else f"{words}{inverted}"
    return "#455a64", f"{name}, channel {channel}" if channel else name


def pins_words(template: Template) -> str:
    """The picture in words (its alternative text)."""
    rows = sorted(template.to_entry().get("pins", {}).items(), key=lambda kv: int(kv[0]))
    return "; ".join(f"P{p}: {_describe(r)[1]}" for p, r in rows) or "no pins"


def pins_picture(template: Template, module_name: str | None = None) -> str:
    """One row per pin the template uses: the chip pin, the module pad when known, what it drives."""
    pins = template.to_entry().get("pins", {})
    module = module_named(module_name or "")
    pad_of = _chip_pin_pads(module) if module else {}
    rows = sorted(pins.items(), key=lambda kv: int(kv[0]))
    height = 40 + 34 * max(len(rows), 1)
    parts = [_text(10, 22, f"What the plug's pins drive{f' ({module.name})' if module else ''}", 15, "bold", "start")]
    for i, (pin, role) in enumerate(rows):
        y = 36 + i * 34
        colour, words = _describe(role)
        parts.append(f'<rect x="10" y="{y}" width="64" height="28" rx="4" fill="{colour}"/>')
        parts.append(_text(42, y + 19, f"P{pin}", 13, "bold", fill="white"))
        pad = pad_of.get(f"P{pin}")
        parts.append(_text(86, y + 19, (f"pad {pad} · " if pad else "") + words, 13, anchor="start"))
    if not rows:
        parts.append(_text(10, 56, "No pins yet", 13, anchor="start"))
    words = pins_words(template)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 420 {height}" width="420" height="{height}" role="img" '
        f'aria-label="{escape(words)}">' + "".join(parts) + "</svg>"
    )
