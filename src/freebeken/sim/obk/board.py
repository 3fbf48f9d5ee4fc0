"""The virtual circuit board behind a simulated OBK device: what is wired to which GPIO.

It answers the physical questions the pin finder asks a person: did a relay click, did an LED
light, and lets a test press a button.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Wire:
    pin: int
    part: str  # relay | led | button | pwm
    active_high: bool = True
    name: str = ""


@dataclass
class Board:
    name: str
    wires: list[Wire]
    events: list[tuple[str, int, str]] = field(default_factory=list)  # (part, pin, what)
    _levels: dict[int, int] = field(default_factory=dict)

    def wire(self, pin: int) -> Wire | None:
        return next((w for w in self.wires if w.pin == pin), None)

    # ---- outputs driven by the firmware ----

    def drive(self, pin: int, level: int) -> None:
        old = self._levels.get(pin)
        self._levels[pin] = level
        w = self.wire(pin)
        if w is None or old == level or old is None and level == (0 if w.active_high else 1):
            return  # nothing wired, no change, or an initial inactive level
        on = bool(level) == w.active_high
        if w.part == "relay":
            self.events.append(("relay", pin, "click on" if on else "click off"))
        elif w.part in ("led", "pwm"):
            self.events.append(("led", pin, "lit" if on else "dark"))

    def release(self, pin: int) -> None:
        """The firmware stops driving the pin (role changed to an input or none)."""
        self._levels.pop(pin, None)

    def is_on(self, pin: int) -> bool:
        w = self.wire(pin)
        return w is not None and pin in self._levels and bool(self._levels[pin]) == w.active_high

    # ---- inputs ----

    def input_level(self, pin: int, pressed: bool, pull_up: bool) -> int:
        """Level the chip reads: a button to GND pulls low when pressed; to VCC (with an external
        pull-down) pulls high; an unconnected pin floats to its pull."""
        w = self.wire(pin)
        if w is None or w.part != "button":
            return 1 if pull_up else 0
        idle = 0 if w.active_high else 1
        return (1 - idle) if pressed else idle

    def take_events(self) -> list[tuple[str, int, str]]:
        out, self.events = self.events, []
        return out


def board(name: str) -> Board:
    """A fresh copy of a named board: u3 (the seed's plug), strip, bulb."""
    makers = {
        "u3": lambda: Board(
            "Aoycocr U3 plug (seed): relay P7, LED_n P1, button P8",
            [Wire(7, "relay", True, "relay"), Wire(1, "led", False, "blue LED"), Wire(8, "button", False, "button")],
        ),
        "strip": lambda: Board(
            "two-relay power strip: relays P6/P24, buttons P7/P9 to GND, Wi-Fi LED_n P26",
            [
                Wire(6, "relay", True, "socket 1"),
                Wire(24, "relay", True, "socket 2"),
                Wire(7, "button", False, "button 1"),
                Wire(9, "button", False, "button 2"),
                Wire(26, "led", False, "wifi LED"),
            ],
        ),
        "bulb": lambda: Board(
            "RGBCW bulb: PWM R P26, G P24, B P6, C P8, W P7",
            [Wire(p, "pwm", True, c) for p, c in ((26, "red"), (24, "green"), (6, "blue"), (8, "cold"), (7, "warm"))],
        ),
    }
    if name not in makers:
        from ...errors import UsageError

        raise UsageError(f"Unknown simulated board {name!r}", hint=f"Boards: {', '.join(makers)}")
    return makers[name]()
