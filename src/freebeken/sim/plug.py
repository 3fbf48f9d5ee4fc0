"""The simulated plug after the adapter is removed: the flash image a ``sim://CHIP?image=FILE``
chip was written through boots as OpenBeken would (``sim.obk.boot``), on a board wired as the
plug's own stock configuration says, and serves on 127.0.0.1.

A real plug is at ``host:80``; many simulated plugs share 127.0.0.1, so each one says the address
it really serves (``host:port``) wherever the firmware says its IP: ``/api/info`` and its
``<client>/ip`` on the broker. A plug is either on the adapter or powered: opening the chip of an
image switches off the plug booted from it (``unplug``), as taking a real plug to the bench does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..tuya.analyze import analyze_bytes
from .config import SimConfig
from .obk.board import Board, Wire
from .obk.boot import Boot, boot_image
from .obk.server import DeviceServer

_PARTS = {"Rel": "relay", "LED": "led", "WifiLED": "led", "Btn": "button", "PWM": "pwm"}


def image_of(port: str | None) -> Path | None:
    """The flash image file behind a simulated adapter port (None: a real port, or no ``image=``)."""
    if not port or not port.startswith("sim://"):
        return None
    image = SimConfig.from_url(port).image
    return image.resolve() if image is not None else None


def board_of(image: bytes) -> Board:
    """The plug's circuit, from the stock configuration its flash still holds (the Tuya settings
    stay where OpenBeken does not write): relays, LEDs, buttons and PWM outputs on their pins."""
    template = analyze_bytes(image, "simulated plug").as_dict()["template"] or {}
    wires = []
    for pin, value in sorted((template.get("pins") or {}).items(), key=lambda kv: int(kv[0])):
        role = str(value).split(";")[0]
        base, low = (role[:-2], True) if role.endswith("_n") else (role, False)
        part = _PARTS.get(base)
        if part is None:
            continue
        # a button to GND (Btn) reads low when pressed; Btn_n is pressed high
        active_high = low if part == "button" else not low
        wires.append(Wire(int(pin), part, active_high, f"{part} P{pin}"))
    if not wires:
        raise UsageError(
            "The simulated plug's flash holds no stock pin configuration: there is no board to wire",
            hint="Use an image a sim:// chip made (sim://bk7231t?image=FILE with a new FILE).",
        )
    return Board("simulated plug: " + ", ".join(w.name for w in wires), wires)


@dataclass
class SimPlug:
    image: Path
    boot: Boot
    server: DeviceServer | None  # None: it could not join its Wi-Fi, so it is on no network

    @property
    def address(self) -> str | None:
        return self.server.address if self.server else None

    def buttons(self) -> list[int]:
        return [w.pin for w in self.boot.device.board.wires if w.part == "button"]

    def press(self, number: int = 1) -> int:
        """Press and release the plug's ``number``-th button (what a finger does); returns its pin."""
        pins = self.buttons()
        if not 1 <= number <= len(pins):
            raise UsageError(f"The simulated plug has {len(pins)} button(s), not a button {number}")
        self.boot.device.click(pins[number - 1])
        return pins[number - 1]

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


_RUNNING: dict[Path, SimPlug] = {}
_LOCK = threading.Lock()


def power_on(image: Path, port: int = 0) -> SimPlug:
    """Boot the image and serve it (``port`` 0: any free one; a busy one: any free one too). A plug
    already running from this image is switched off first: one plug, one power socket."""
    image = image.resolve()
    try:
        data = image.read_bytes()
    except OSError as e:
        raise UsageError(
            f"Cannot read the simulated plug's flash {image}: {e.strerror}",
            hint="Back it up and flash it on the simulated adapter first.",
        ) from None
    unplug(image)
    boot = boot_image(data, board_of(data))
    server = None
    if boot.joined or boot.mode == "access point":
        try:
            server = DeviceServer(boot.device, port=port, advertise_port=True)
        except OSError:  # the port it had last time is taken: it gets another, as DHCP may give
            server = DeviceServer(boot.device, port=0, advertise_port=True)
        server.start()
    plug = SimPlug(image, boot, server)
    with _LOCK:
        _RUNNING[image] = plug
    return plug


def running(image: Path | None) -> SimPlug | None:
    if image is None:
        return None
    with _LOCK:
        plug = _RUNNING.get(image.resolve())
    return plug if plug is not None and plug.server is not None else None


def unplug_under(folder: Path) -> int:
    """Switch off every plug booted from an image in ``folder`` (the page's simulated chips, when it stops)."""
    folder = folder.resolve()
    with _LOCK:
        images = [image for image in _RUNNING if image.is_relative_to(folder)]
    return sum(unplug(image) for image in images)


def unplug(image: Path | None) -> bool:
    """Switch off the plug booted from ``image`` (it goes to the adapter). True when one ran."""
    if image is None:
        return False
    with _LOCK:
        plug = _RUNNING.pop(image.resolve(), None)
    if plug is None:
        return False
    plug.stop()
    return True
