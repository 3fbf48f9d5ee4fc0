"""A virtual person for the pin finder: watches the simulated board (through the simulator-only
``/sim/*`` endpoints) and presses its buttons, answering only what a person could observe."""

from __future__ import annotations

import json

from ...device.http import SocketTransport
from ...errors import UsageError

COLOUR_OF = {"red": "r", "green": "g", "blue": "b", "cold": "c", "warm": "w"}


class VirtualPerson:
    def __init__(self, address: str, password: str | None = None) -> None:
        self.transport = SocketTransport(address, password)
        self.last_seen: int | None = None  # the thing that reacted last (a person knows which)

    def _get(self, path: str):
        response = self.transport.request("GET", path)
        try:
            data = json.loads(response.body)
        except ValueError:
            data = None
        if response.status != 200 or not isinstance(data, (dict, list)):
            raise UsageError(
                "--answers sim needs a simulated device (freebeken sim device): this device has no "
                "virtual board to watch (/sim/ endpoints), so nobody can say what it did",
                hint="On a real plug, answer the questions yourself (leave out --answers) or give a JSON file of answers.",
            )
        return data

    def check(self) -> None:
        """Refuse before anything on the device changes when it is no simulated device."""
        self._get("/sim/state")

    def what_happened(self, pin: int) -> str:
        """A person notices something that clicked or flashed repeatedly while the pin pulsed
        (a single change left over from the previous step is not a flash)."""
        events = self._get("/sim/events")
        wires = {w["pin"]: w for w in self._get("/sim/state")["wires"]}
        counts: dict[int, int] = {}
        for _part, wired_pin, _ in events:
            counts[wired_pin] = counts.get(wired_pin, 0) + 1
        flashing = [p for p, n in counts.items() if n >= 2]
        if not flashing:
            return "nothing"
        self.last_seen = flashing[0]
        part = wires[self.last_seen]["part"]
        return {"relay": "relay", "pwm": "light"}.get(part, "led")

    def is_on(self, pin: int, part: str) -> bool:
        self._get("/sim/events")
        wires = {w["pin"]: w for w in self._get("/sim/state")["wires"]}
        return bool(self.last_seen is not None and wires[self.last_seen]["on"])

    def colour(self, pin: int) -> str:
        wires = {w["pin"]: w for w in self._get("/sim/state")["wires"]}
        name = wires[self.last_seen]["name"] if self.last_seen in wires else ""
        return COLOUR_OF.get(name, "w")

    def press_button(self, number: int, again: bool) -> bool:
        response = self.transport.request("GET", f"/sim/press?button={number}")
        return response.status == 200
