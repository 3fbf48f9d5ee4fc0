"""The pin finder: pulse each GPIO and ask what happened, then find buttons by their presses.

1. Save the device's configuration (it is put back at the end, and on abort or Ctrl-C).
2. Outputs: each candidate GPIO becomes a relay on a scratch channel and is pulsed; the person
   says "relay clicked", "LED flashed", "the light lit" or "nothing". For LEDs and lights the
   output is then held on to learn the active level (LED vs LED_n, PWM vs PWM_n).
3. Buttons: the remaining GPIOs become buttons on separate scratch channels; the person presses
   a button; the toggled channel names the pin (first as Btn, active low; if nothing moved, as
   Btn_n for active-high buttons).
4. The result is a template (roles + channels), proposed for applying.

The ``Asker`` interface is the person: the CLI asks on the terminal, ``--answers`` reads a file,
and tests use a virtual person who watches the simulated board.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from .. import events
from ..events import NullReporter, Reporter
from ..templates import chips as gpio
from ..templates.model import PinRole, Template
from ..templates.roles import RELAY_ROLES
from .client import ObkClient
from .config import DeviceConfig, restore_config, save_config

SCRATCH = 60  # channel used to pulse outputs
BUTTON_BASE = 30  # first of the channels used to watch button candidates
COLOURS = "rgbcw"


class Asker(Protocol):
    def what_happened(self, pin: int) -> str:
        """After pulsing ``pin``: "relay", "led", "light" or "nothing"."""

    def is_on(self, pin: int, part: str) -> bool:
        """``pin`` is held high now: is the LED lit / the light on / the relay on?"""

    def colour(self, pin: int) -> str:
        """For a light: which colour lit - r, g, b, c (cold white) or w (warm white)."""

    def press_button(self, number: int, again: bool) -> bool:
        """Ask the person to press (and release) button ``number``; False = no more buttons."""


@dataclass
class Finding:
    pin: int
    part: str  # relay | led | light | button
    active_high: bool
    colour: str = ""


@dataclass
class PinFinderResult:
    template: Template
    findings: list[Finding]
    saved: DeviceConfig
    notes: list[str] = field(default_factory=list)


def candidates(info_startup: str, skip: set[int], known: set[int]) -> list[int]:
    """GPIOs worth testing: bonded out, not given as known or skipped, and not a UART a driver uses."""
    busy = set(skip) | set(known)
    if any(d in info_startup for d in ("TuyaMCU", "BL0942", "tuyaMcu")):
        busy |= set(gpio.UART1)
    return [p for p in sorted(gpio.EXISTING) if p not in busy]


class PinFinder:
    def __init__(
        self, client: ObkClient, asker: Asker, reporter: Reporter | None = None, pulse: float = 0.4, pulses: int = 3
    ) -> None:
        self.client = client
        self.asker = asker
        self.reporter = reporter or NullReporter()
        self.pulse = pulse
        self.pulses = pulses

    def run(self, skip: frozenset[int] | set[int] = frozenset(), known: dict[int, PinRole] | None = None) -> PinFinderResult:
        known = dict(known or {})
        saved = save_config(self.client)
        events.info(self.reporter, "Saved the current configuration; it is restored if you stop")
        try:
            self.client.cmd("ClearIO")
            pins = candidates(saved.startup, set(skip), set(known))
            findings = self._outputs(pins)
            rest = [p for p in pins if p not in {f.pin for f in findings}]
            findings += self._buttons(rest)
        finally:
            restore_config(self.client, saved)  # as found; the caller applies the proposal
        template, notes = propose(findings, known)
        return PinFinderResult(template, findings, saved, notes)

    # ---- outputs ----

    def _outputs(self, pins: list[int]) -> list[Finding]:
        found: list[Finding] = []
        events.phase(self.reporter, "Pulsing each pin: watch and listen", total=len(pins), unit="pins")
        for i, pin in enumerate(pins):
            self.client.cmd(f"SetChannel {SCRATCH} 0")
            self.client.cmd(f"backlog setPinRole {pin} Rel; setPinChannel {pin} {SCRATCH}")
            for _ in range(self.pulses):
                self.client.cmd(f"SetChannel {SCRATCH} 1")
                time.sleep(self.pulse)
                self.client.cmd(f"SetChannel {SCRATCH} 0")
                time.sleep(self.pulse)
            answer = self.asker.what_happened(pin)
            if answer in ("relay", "led", "light"):
                self.client.cmd(f"SetChannel {SCRATCH} 1")
                on = self.asker.is_on(pin, answer)
                colour = self.asker.colour(pin) if answer == "light" else ""
                self.client.cmd(f"SetChannel {SCRATCH} 0")
                found.append(Finding(pin, answer, on, colour))
                events.info(self.reporter, f"P{pin}: {answer} (active {'high' if on else 'low'})")
            self.client.cmd(f"setPinRole {pin} None")
            events.progress(self.reporter, i + 1, len(pins))
        return found

    # ---- buttons ----

    def _buttons(self, pins: list[int]) -> list[Finding]:
        found: list[Finding] = []
        remaining = list(pins)
        number = 1
        while remaining:
            hit = None
            for role, active_high in (("Btn", False), ("Btn_n", True)):
                self._watch(remaining, role)
                if not self.asker.press_button(number, again=role == "Btn_n"):
                    return found
                hit = self._toggled(remaining)
                if hit is not None:
                    found.append(Finding(hit, "button", active_high))
                    events.info(self.reporter, f"P{hit}: button (active {'high' if active_high else 'low'})")
                    break
            if hit is None:
                events.warning(self.reporter, "No pin reacted to that press; the button may use an ADC or a TuyaMCU")
                return found
            remaining.remove(hit)
            number += 1
        return found

    def _watch(self, pins: list[int], role: str) -> None:
        for i, pin in enumerate(pins):
            channel = BUTTON_BASE + i
            self.client.cmd(f"backlog setPinRole {pin} {role}; setPinChannel {pin} {channel}; SetChannel {channel} 0")

    def _toggled(self, pins: list[int]) -> int | None:
        states = self.client.pins()
        for pin in pins:
            if states.roles[pin] != "None" and states.states[pin]:
                return pin
        return None


def propose(findings: list[Finding], known: dict[int, PinRole] | None = None) -> tuple[Template, list[str]]:
    """Roles and channels from what was found: relays get channels 1..n in pin order, buttons
    follow them in the order pressed, LEDs follow the relays when there is one LED per relay
    (the seed's plug), otherwise they are status (Wi-Fi) LEDs; lights get PWM channels in
    R, G, B, C, W order."""
    pins: dict[int, PinRole] = dict(known or {})
    notes: list[str] = []
    relay_of = {p: r.channel or 0 for p, r in pins.items() if r.role in RELAY_ROLES}
    free = (n for n in range(1, 64) if n not in relay_of.values())
    for f in sorted((f for f in findings if f.part == "relay"), key=lambda f: f.pin):
        relay_of[f.pin] = next(free)
        pins[f.pin] = PinRole("Rel" if f.active_high else "Rel_n", relay_of[f.pin])
    relays = sorted(relay_of, key=lambda p: relay_of[p])
    leds = [f for f in findings if f.part == "led"]
    for i, f in enumerate(sorted(leds, key=lambda f: f.pin)):
        suffix = "" if f.active_high else "_n"
        if relays and len(leds) == len(relays):
            pins[f.pin] = PinRole("LED" + suffix, relay_of[relays[i]])
        else:
            pins[f.pin] = PinRole("WifiLED" + suffix, 0)
            notes.append(f"P{f.pin}: LED proposed as the Wi-Fi status LED (give --known {f.pin}=LED;1 to tie it to a relay)")
    lights = sorted((f for f in findings if f.part == "light"), key=lambda f: COLOURS.find(f.colour or "w"))
    for n, f in enumerate(lights, start=1):
        pins[f.pin] = PinRole("PWM" if f.active_high else "PWM_n", n)
        if f.pin not in gpio.PWM_CAPABLE:
            notes.append(f"P{f.pin} lit a light but cannot do PWM; check the answer")
    buttons = [f for f in findings if f.part == "button"]
    for n, f in enumerate(buttons, start=1):
        # the n-th button toggles the n-th relay; extra buttons the first relay
        channel = relay_of[relays[n - 1] if n <= len(relays) else relays[0]] if relays else 1
        pins[f.pin] = PinRole("Btn_n" if f.active_high else "Btn", channel)
    if not findings and not known:
        notes.append("Nothing was found: the device may be TuyaMCU-based (see `freebeken analyze` of its backup)")
    return Template(pins=pins), notes
