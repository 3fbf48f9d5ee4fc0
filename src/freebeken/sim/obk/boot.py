"""Power on a simulated chip's flash image as the OpenBeken firmware would boot it.

What the firmware does at boot (``CFG_InitAndLoad``, ``Main_Init`` in user_main.c) and so what
this does: read the configuration sector; if its ident or checksum is wrong, take the defaults
(names from the MAC, no Wi-Fi); with no Wi-Fi name, open an access point named after the long
name; otherwise join the Wi-Fi, run the startup command and connect to the MQTT broker (which,
with flag 27, announces Home Assistant discovery). Nothing here is told the configuration
another way: a test that passes through this has really written the sector.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...chips import chip_by_name, dump
from ...errors import ConfigSectorError, UsageError
from ...firmware import obkconfig
from .board import Board
from .console import run_command
from .device import ObkDevice
from .server import DeviceServer


@dataclass
class Boot:
    device: ObkDevice
    mode: str  # "station", "access point", or "no Wi-Fi" (it could not join the configured network)
    why: str  # one line for a person

    @property
    def joined(self) -> bool:
        return self.mode == "station"


def boot_image(image: bytes, board: Board, networks: dict[str, str] | None = None) -> Boot:
    """The device the image boots into. ``networks`` (SSID -> password) are the Wi-Fi networks
    in reach; None means any configured network is joined."""
    guess = dump.which_chips(image) if len(image) == dump.FLASH else None
    chip = guess.chips[0] if guess and guess.chips else None  # chips of one layout boot alike
    if chip is None:
        raise UsageError(
            "The image has no Beken RF calibration sector: it is no flash image this chip could boot",
            hint="Power on an image a simulated chip was flashed with (sim://bk7231t?image=FILE).",
        )
    app = chip_by_name(chip).app_start
    if image[app : app + 0x1000] == b"\xff" * 0x1000:
        raise UsageError(
            "The image's application area is empty: there is no firmware to boot",
            hint="Flash OpenBeken onto it first (freebeken flash -p sim://...?image=FILE FIRMWARE).",
        )
    mac = dump.mac(image, chip) or bytes(6)
    at = obkconfig.ADDRESS[chip]
    try:
        cfg = obkconfig.parse(image[at : at + obkconfig.SECTOR], f"The configuration sector at 0x{at:X}")
        problem = ""
    except ConfigSectorError as e:
        cfg, problem = obkconfig.defaults(chip, mac), str(e)
    roles, chans, chans2 = (list(cfg[n]) for n in ("roles", "channels", "channels2"))
    dev = ObkDevice(
        board,
        chipset=chip_by_name(chip).obk_platform,
        mac=mac.hex(),
        short_name=cfg["short_name"],
        long_name=cfg["long_name"],
        roles=roles,
        channels=chans,
        channels2=chans2,
        flags=cfg["flags"],
        startup=cfg["startup"],
        web_password=cfg["web_password"],
    )
    dev.wifi = {"ssid": cfg["wifi_ssid"], "pass": cfg["wifi_pass"]}  # type: ignore[attr-defined]
    mqtt = {
        "host": cfg["mqtt_host"],
        "port": cfg["mqtt_port"],
        "client": cfg["mqtt_client"],
        "group": cfg["mqtt_group"],
        "user": cfg["mqtt_user"],
        "password": cfg["mqtt_pass"],
    }
    ssid = cfg["wifi_ssid"]
    if not ssid:
        mode, why = "access point", f"open access point {cfg['long_name']!r}: " + (problem or "no Wi-Fi is configured")
    elif networks is not None and networks.get(ssid) != cfg["wifi_pass"]:
        mode = "no Wi-Fi"
        why = f"cannot join {ssid!r}: " + ("wrong password" if ssid in networks else "no such network in reach")
    else:
        mode, why = (
            "station",
            f"joined {ssid!r}" + (f", MQTT {mqtt['host']}:{mqtt['port']}" if mqtt["host"] else ", no MQTT broker set"),
        )
    if mode == "station":
        dev.mqtt.update(mqtt)
        with dev.lock:  # the firmware runs the startup command once at boot
            for line in dev.startup.splitlines():
                run_command(dev, "backlog", line)
    return Boot(dev, mode, why)


def power_on(
    image: str | Path,
    board: Board,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    networks: dict[str, str] | None = None,
    advertise_port: bool = False,
) -> tuple[DeviceServer | None, Boot]:
    """Boot the image file and serve the device (web server, MQTT client) until ``stop()``. A
    plug that could not join its Wi-Fi is on no network: nothing is served (server None)."""
    try:
        data = Path(image).read_bytes()
    except OSError as e:
        raise UsageError(f"Cannot read {image}: {e.strerror}") from None
    boot = boot_image(data, board, networks)
    if boot.mode == "no Wi-Fi":
        return None, boot
    try:
        server = DeviceServer(boot.device, host=host, port=port, advertise_port=advertise_port)
    except OSError as e:
        raise UsageError(
            f"Cannot serve the simulated device on {host}:{port}: {e.strerror or e}",
            hint="Another program uses that port: pick another --port, or 0 for any free one.",
        ) from None
    return server.start(), boot
