"""The simulated OpenBeken firmware's state: pins, channels, flags, names, buttons and outputs on
its virtual board (reference: openbeken-device-api §3, §4). Console commands are in console.py."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field

from ...device import drivers as drv
from ...templates.chips import GPIO_COUNT as GPIO
from ...templates.roles import RELAY_ROLES, ROLE_IDS, ROLE_NAMES
from .board import Board
from .console import run_command

OUTPUT_ON_HIGH = {"Rel", "LED", "PWM", "BridgeFWD", "BridgeREV", "PWM_ScriptOnly"}
OUTPUT_ON_LOW = {"Rel_n", "LED_n", "PWM_n", "PWM_ScriptOnly_n"}
BUTTONS = {
    "Btn": (0, True),
    "Btn_n": (1, True),
    "Btn_pd": (1, False),
    "Btn_pd_n": (0, False),
    "Btn_Tgl_All": (0, True),
    "Btn_Tgl_All_n": (1, True),
}  # role -> (active level, pull-up)
INPUTS = {
    "dInput": True,
    "dInput_n": True,
    "dInput_NoPullUp": False,
    "dInput_NoPullUp_n": False,
    "TglChanOnTgl": True,
    "TglChanOnTgl_pd": False,
    "DoorSnsrWSleep": True,
    "DoorSnsrWSleep_nPup": False,
    "DoorSnsrWSleep_pd": False,
}  # role -> pull-up
DOOR_INVERT_FLAG = 42  # OBK_FLAG_DOORSENSOR_INVERT_STATE: inverts every DoorSnsrWSleep input


@dataclass
class ObkDevice:
    board: Board
    chipset: str = "BK7231T"
    mac: str = "c8478c43f310"
    short_name: str = "obk43F310"
    long_name: str = "OpenBK7231T_43F310"
    roles: list[int] = field(default_factory=lambda: [0] * GPIO)
    channels: list[int] = field(default_factory=lambda: [0] * GPIO)
    channels2: list[int] = field(default_factory=lambda: [0] * GPIO)
    values: dict[int, int] = field(default_factory=dict)
    channel_types: dict[int, str] = field(default_factory=dict)
    channel_labels: dict[int, str] = field(default_factory=dict)
    flags: int = 1024
    startup: str = ""
    drivers: set[str] = field(default_factory=set)
    mqtt: dict[str, object] = field(
        default_factory=lambda: {
            "host": "",
            "port": 1883,
            "client": "",
            "group": "",
            "user": "homeassistant",
            "password": "qqqqqqqqqq",
        }
    )
    web_password: str = ""
    ip: str = "127.0.0.1"  # where the simulated device's web server listens
    log: list[str] = field(default_factory=list)
    boot_time: float = field(default_factory=time.monotonic)  # uptime counts from here, in firmware seconds
    lock: threading.RLock = field(default_factory=threading.RLock)
    _pressed: dict[int, bool] = field(default_factory=dict)
    _armed: set[int] = field(default_factory=set)
    listeners: list = field(default_factory=list)  # called with (event, data) - MQTT hooks in later
    #: seconds per firmware second (its MQTT pacing): 1 = as slow as a plug, tests set less
    time_scale: float = field(default_factory=lambda: float(os.environ.get("FREEBEKEN_SIM_TIME_SCALE", "1")))
    light_on: int = 0  # led_enableAll: the light drivers' on/off
    dimmer: int = 100  # led_dimmer
    base_color: str = "FFFFFF"  # led_basecolor_rgb
    temperature: int = 250  # led_temperature (mireds)
    version: str = "1.17.999-sim"  # the firmware's version (an OTA image's RBL version once installed)
    pending_ota: bytes | None = None  # what POST /api/ota wrote; judged by the bootloader at the next boot
    #: "die": the plug loses power in the middle of an OTA upload and comes back on the old build
    ota_fault: str = ""
    reboot_seconds: float = 5.0  # from restart to connected again, in firmware seconds (time_scale)

    def __post_init__(self) -> None:
        if not self.mqtt["client"]:
            self.mqtt["client"] = self.short_name
        self.drivers |= drv.from_pins(self.role_names(), self.flags)  # powered on: the boot's autostart

    @property
    def uptime(self) -> int:
        return int((time.monotonic() - self.boot_time) / max(self.time_scale, 1e-6))

    @uptime.setter
    def uptime(self, seconds: int) -> None:
        self.boot_time = time.monotonic() - seconds * self.time_scale

    def role_names(self) -> list[str]:
        return [ROLE_NAMES[r] for r in self.roles]

    def boot(self) -> None:
        """What the firmware does at every boot (user_main.c): drivers start from the pin roles (the
        only time it does), then the startup command runs; uptime starts again."""
        with self.lock:
            self.drivers = drv.from_pins(self.role_names(), self.flags)
            self.uptime = 0
            for line in self.startup.splitlines():
                run_command(self, "backlog", line)
            self._refresh_outputs()

    def start_driver(self, name: str) -> None:
        """``startDriver``: a driver this firmware knows starts (once); any other name does nothing."""
        known = drv.canonical(name)
        if known is not None and known not in self.drivers:
            self.drivers.add(known)
            self._notify("driver", {"name": known})

    # ---- pins and channels ----

    def role(self, pin: int) -> str:
        return ROLE_NAMES[self.roles[pin]]

    def value(self, ch: int) -> int:
        return self.values.get(ch, 0)

    def set_value(self, ch: int, value: int) -> None:
        old = self.value(ch)
        self.values[ch] = value
        self._refresh_outputs()
        if old != value:
            self._notify("channel", {"channel": ch, "value": value})

    def _refresh_outputs(self) -> None:
        for pin in range(GPIO):
            role = self.role(pin)
            if role in OUTPUT_ON_HIGH or role in OUTPUT_ON_LOW:
                on = self.value(self.channels[pin]) != 0
                self.board.drive(pin, int(on) if role in OUTPUT_ON_HIGH else int(not on))
            elif role in ("WifiLED", "WifiLED_n"):
                self.board.drive(pin, 1 if role == "WifiLED" else 0)  # connected: the status LED is on
            elif role in ("AlwaysHigh", "AlwaysLow"):
                self.board.drive(pin, 1 if role == "AlwaysHigh" else 0)
            else:
                self.board.release(pin)

    def set_role(self, pin: int, role: str) -> None:
        self.roles[pin] = ROLE_IDS[role.lower()]
        self._armed.discard(pin)
        self._refresh_outputs()

    def states(self) -> list[int]:
        return [self.value(self.channels[p]) for p in range(GPIO)]

    def is_light(self) -> bool:
        """A light driver runs, or PWM pins make one (what the led_* state is published for)."""
        return bool(drv.LED_CHIPS & self.drivers) or any(self.role(p) in ("PWM", "PWM_n") for p in range(GPIO))

    def relay_channels(self) -> list[int]:
        return sorted({self.channels[p] for p in range(GPIO) if self.role(p) in RELAY_ROLES})

    # ---- the physical world: buttons ----

    def press(self, pin: int, pressed: bool = True) -> None:
        """A finger on the board's button (or an input signal) at ``pin``."""
        with self.lock:
            self._pressed[pin] = pressed
            role = self.role(pin)
            if role in BUTTONS:
                active_level, pull_up = BUTTONS[role]
                active = self.board.input_level(pin, pressed, pull_up) == active_level
                if active:
                    self._armed.add(pin)  # a fresh press; a click completes on release
                elif pin in self._armed:
                    self._armed.discard(pin)
                    if role.startswith("Btn_Tgl_All"):
                        any_on = any(self.value(ch) for ch in self.relay_channels())
                        for ch in self.relay_channels():
                            self.set_value(ch, 0 if any_on else 1)
                    else:
                        ch = self.channels[pin]
                        self.set_value(ch, 0 if self.value(ch) else 1)
            elif role in INPUTS:
                level = self.board.input_level(pin, pressed, INPUTS[role])
                ch = self.channels[pin]
                if role.startswith("TglChanOnTgl"):
                    self.set_value(ch, 0 if self.value(ch) else 1)
                else:
                    inverted = role.endswith("_n") or (role.startswith("DoorSnsr") and self.flags >> DOOR_INVERT_FLAG & 1)
                    self.set_value(ch, (1 - level) if inverted else level)

    def click(self, pin: int) -> None:
        self.press(pin, True)
        self.press(pin, False)

    # ---- console ----

    def execute(self, line: str) -> object:
        """Run one console command. Returns the Tasmota-style reply (dict, int, str) or raises
        ``CommandError`` (501 unknown command, 400 bad/missing argument)."""
        with self.lock:
            self.log.append(line)
            word, _, rest = line.strip().partition(" ")
            name = word.lower()
            return run_command(self, name, rest.strip())

    def _notify(self, event: str, data: dict) -> None:
        for listener in list(self.listeners):
            listener(event, data)

    # ---- JSON views (shapes as the firmware sends them) ----

    def info_json(self) -> str:
        return json.dumps(
            {
                "uptime_s": self.uptime,
                "build": f"Built on Nov 25 2026 00:00:00 version {self.version}",
                "ip": self.ip,
                "mac": self.mac,
                "flags": str(self.flags),
                "mqtthost": f"{self.mqtt['host']}:{self.mqtt['port']}",
                "mqtttopic": self.mqtt["client"],
                "chipset": self.chipset,
                "webapp": "https://openbekeniot.github.io/webapp/",
                "shortName": self.short_name,
                "startcmd": self.startup,
                "supportsSSDP": int("SSDP" in self.drivers),  # rest_interface.c: DRV_IsRunning("SSDP")
                "supportsClientDeviceDB": True,
            },
            separators=(",", ":"),
        )

    def pins_json(self) -> str:
        data: dict[str, object] = {
            "rolenames": [" "] + list(ROLE_NAMES[1:]),
            "roles": self.roles,
            "channels": self.channels,
        }
        if any(self.channels2):
            last = max(i for i, v in enumerate(self.channels2) if v)
            data["channels2"] = self.channels2[: last + 1]
        data["states"] = self.states()
        return json.dumps(data, separators=(",", ":"))

    def channels_json(self) -> str:
        """One entry per configured pin - keys repeat, as the firmware sends them."""
        items = [f'"{self.channels[p]}":{self.value(self.channels[p])}' for p in range(GPIO) if self.roles[p]]
        return "{" + ",".join(items) + "}"
