"""A simulated RTL8720CF or LN882H plug after the adapter is removed: its flash file boots as OpenBeken
would, served by the same simulated OpenBeken device as a Beken plug (``sim.obk``), presenting as
OpenBeken's build for that chip (``RTL87X0C``, ``LN882H``).

What freebeken's simulators can and cannot say here, and so what this does:

* Whether the flash runs OpenBeken is decided by its bytes: every sector of the release image the
  journey flashed (outside the device's calibration, which flashing keeps) must be on the flash. A
  flash that still holds the stock Tuya firmware does not boot into OpenBeken.
* OpenBeken keeps its configuration on these chips in its own flash key-value store, whose layout
  freebeken does not write (the "configure while flashing" step is Beken-only). So a flashed plug
  boots as a new OpenBeken does on every platform: an access point, configured over HTTP
  (``/cfg_wifi_set``), which the device simulator serves.
* The board (relays, LEDs, buttons) is wired as the stock Tuya configuration still in the flash says
  (``sim.plug.board_of``); with none, the board has nothing on it and the pin finder finds nothing.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..errors import UsageError
from ..families.base import FamilySpec
from ..sim import plug as sim_plug
from ..sim.obk.board import Board
from ..sim.obk.boot import Boot
from ..sim.obk.device import ObkDevice
from ..sim.obk.server import DeviceServer

_RUNNING: dict[Path, sim_plug.SimPlug] = {}
_LOCK = threading.Lock()
SECTOR = 0x1000


def image_of(port: str | None) -> Path | None:
    """The flash file behind a ``sim://rtl8720cf?image=FILE`` port (None: a real port, or no file)."""
    if not port or not port.startswith("sim://"):
        return None
    from ..sim.families import FamilySimConfig

    image = FamilySimConfig.from_url(port).image
    return image.resolve() if image is not None else None


def runs_openbeken(flash: bytes, firmware: bytes, spec: FamilySpec) -> bool:
    """Does the flash hold ``firmware`` (a whole-flash release image) wherever flashing writes it?"""
    keep = {s for r in spec.regions if r.keep for s in range(r.start, r.end, SECTOR)}
    for start in range(0, len(firmware), SECTOR):
        if start in keep:
            continue
        want = firmware[start : start + SECTOR]
        if flash[start : start + len(want)] != want:
            return False
    return True


def _board(flash: bytes) -> Board:
    try:
        return sim_plug.board_of(flash)
    except UsageError:  # no stock pin configuration left in the flash: an empty board
        return Board("simulated plug: nothing wired that the stock configuration names", [])


def power_on(image: Path, spec: FamilySpec, firmware: Path, mac: str | None, port: int = 0) -> sim_plug.SimPlug:
    """Boot the plug's flash file (``port`` 0: any free one; a busy one: any free one too)."""
    image = image.resolve()
    try:
        flash = image.read_bytes()
        release = firmware.read_bytes()
    except OSError as e:
        raise UsageError(f"Cannot read {e.filename}: {e.strerror}", hint="Flash the simulated chip first.") from None
    if not runs_openbeken(flash, release, spec):
        raise UsageError(
            f"The simulated {spec.name.upper()} plug's flash does not hold {firmware.name}: it would boot its stock firmware",
            hint="Flash OpenBeken onto it first.",
        )
    unplug(image)
    tail = (mac or "000000000000").replace(":", "").upper()[-6:]
    platform = spec.obk_platform.removeprefix("Open")
    device = ObkDevice(
        _board(flash),
        chipset=platform,
        mac=(mac or "").replace(":", "").lower(),
        short_name=f"obk{tail}",
        long_name=f"{spec.obk_platform}_{tail}",
    )
    device.wifi = {"ssid": "", "pass": ""}  # type: ignore[attr-defined]  # a new OpenBeken: no Wi-Fi yet
    boot = Boot(device, "access point", f"open access point {device.long_name!r}: a new OpenBeken has no Wi-Fi configured")
    try:
        server = DeviceServer(device, port=port, advertise_port=True)
    except OSError:  # the port it had last time is taken: it gets another, as DHCP may give
        server = DeviceServer(device, port=0, advertise_port=True)
    server.start()
    plug = sim_plug.SimPlug(image, boot, server)
    with _LOCK:
        _RUNNING[image] = plug
    return plug


def running(image: Path | None) -> sim_plug.SimPlug | None:
    """The plug booted from ``image``, whichever family it is."""
    if image is None:
        return None
    with _LOCK:
        plug = _RUNNING.get(image.resolve())
    if plug is not None and plug.server is not None:
        return plug
    return sim_plug.running(image)


def unplug(image: Path | None) -> bool:
    """Switch off the plug booted from ``image`` (it goes to the adapter). True when one ran."""
    if image is None:
        return False
    with _LOCK:
        plug = _RUNNING.pop(image.resolve(), None)
    if plug is not None:
        plug.stop()
    return sim_plug.unplug(image) or plug is not None


def unplug_under(folder: Path) -> int:
    """Switch off every family plug booted from an image in ``folder`` (the page's, when it stops)."""
    folder = folder.resolve()
    with _LOCK:
        images = [image for image in _RUNNING if image.is_relative_to(folder)]
    return sum(unplug(image) for image in images)
