"""The simulated OpenBeken firmware's state and console commands (reference: openbeken-device-api
§3, §4). Only what freebeken and the web app use, with the firmware's observable behaviour:
short role names only, ``backlog`` ignoring failed sub-commands, Tasmota-style replies."""

from __future__ import annotations

import json
import shlex
import threading
from dataclasses import dataclass, field

from ...templates.roles import ROLE_IDS, ROLE_NAMES
from .board import Board

GPIO = 29
CHANNELS = 64
OUTPUT_ON_HIGH = {"Rel", "LED", "PWM", "BridgeFWD", "BridgeREV", "PWM_ScriptOnly"}
OUTPUT_ON_LOW = {"Rel_n", "LED_n", "PWM_n", "PWM_ScriptOnly_n"}
BUTTONS = {"Btn": (0, True), "Btn_n": (1, True), "Btn_pd": (1, False), "Btn_pd_n": (0, False),
           "Btn_Tgl_All": (0, True), "Btn_Tgl_All_n": (1, True)}  # role -> (active level, pull-up)  # fmt: skip
INPUTS = {"dInput": True, "dInput_n": True, "dInput_NoPullUp": False, "dInput_NoPullUp_n": False,
          "TglChanOnTgl": True, "TglChanOnTgl_pd": False}  # role -> pull-up  # fmt: skip


class CommandError(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


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
        default_factory=lambda: {"host": "", "port": 1883, "client": "", "group": "", "user": "homeassistant", "password": "qqqqqqqqqq"}
    )
    web_password: str = ""
    log: list[str] = field(default_factory=list)
    uptime: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)
    _pressed: dict[int, bool] = field(default_factory=dict)
    _armed: set[int] = field(default_factory=set)
    listeners: list = field(default_factory=list)  # called with (event, data) - MQTT hooks in later

    def __post_init__(self) -> None:
        if not self.mqtt["client"]:
            self.mqtt["client"] = self.short_name

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

    def relay_channels(self) -> list[int]:
        return sorted({self.channels[p] for p in range(GPIO) if self.role(p) in ("Rel", "Rel_n")})

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
                    self.set_value(ch, (1 - level) if role.endswith("_n") else level)

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
            handler = _COMMANDS.get(name)
            if handler is None:
                if name.startswith("power") and name[5:].isdigit():
                    return _power(self, rest, int(name[5:]))
                raise CommandError(501, "Unknown command")
            return handler(self, rest.strip())

    def _notify(self, event: str, data: dict) -> None:
        for listener in list(self.listeners):
            listener(event, data)

    # ---- JSON views (shapes as the firmware sends them) ----

    def info_json(self) -> str:
        return json.dumps(
            {
                "uptime_s": self.uptime,
                "build": "Built on Nov 25 2026 00:00:00 version 1.17.999-freebeken-sim",
                "ip": "127.0.0.1",
                "mac": self.mac,
                "flags": str(self.flags),
                "mqtthost": f"{self.mqtt['host']}:{self.mqtt['port']}",
                "mqtttopic": self.mqtt["client"],
                "chipset": self.chipset,
                "webapp": "https://openbekeniot.github.io/webapp/",
                "shortName": self.short_name,
                "startcmd": self.startup,
                "supportsSSDP": 0,
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


def _args(rest: str, need: int) -> list[str]:
    try:
        parts = shlex.split(rest)
    except ValueError:
        parts = rest.split()
    if len(parts) < need:
        raise CommandError(400, "Not enough arguments for this command")
    return parts


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise CommandError(400, "Bad argument") from None


def _backlog(dev: ObkDevice, rest: str) -> object:
    for part in rest.split(";"):
        if part.strip():
            try:
                dev.execute(part.strip())
            except CommandError:
                pass  # the firmware logs it and carries on
    return {}


def _set_pin_role(dev: ObkDevice, rest: str) -> object:
    pin_s, role = _args(rest, 2)[:2]
    pin = _int(pin_s)
    if role.lower() not in ROLE_IDS:
        raise CommandError(400, "Bad argument")
    if 0 <= pin < GPIO:
        dev.set_role(pin, role)
    return {}


def _set_pin_channel(dev: ObkDevice, rest: str) -> object:
    parts = _args(rest, 2)
    pin, ch = _int(parts[0]), _int(parts[1])
    if 0 <= pin < GPIO:
        dev.channels[pin] = ch
        if len(parts) > 2:
            dev.channels2[pin] = _int(parts[2])
        dev._refresh_outputs()
    return {}


def _set_channel(dev: ObkDevice, rest: str) -> object:
    ch, value = (_int(x) for x in _args(rest, 2)[:2])
    dev.set_value(ch, value)
    return value


def _toggle_channel(dev: ObkDevice, rest: str) -> object:
    ch = _int(_args(rest, 1)[0])
    dev.set_value(ch, 0 if dev.value(ch) else 1)
    return dev.value(ch)


def _add_channel(dev: ObkDevice, rest: str) -> object:
    parts = _args(rest, 2)
    ch, delta = _int(parts[0]), _int(parts[1])
    value = dev.value(ch) + delta
    if len(parts) >= 4:
        value = max(_int(parts[2]), min(_int(parts[3]), value))
    dev.set_value(ch, value)
    return value


def _get_channel(dev: ObkDevice, rest: str) -> object:
    return dev.value(_int(_args(rest, 1)[0]))


def _power(dev: ObkDevice, rest: str, index: int | None = None) -> object:
    relays = dev.relay_channels()
    if index is None:
        targets = relays[:1]
    else:
        targets = [index - 1 if 0 in relays else index]
    arg = rest.strip().lower()
    for ch in targets:
        if arg in ("on", "1"):
            dev.set_value(ch, 1)
        elif arg in ("off", "0"):
            dev.set_value(ch, 0)
        elif arg == "toggle":
            dev.set_value(ch, 0 if dev.value(ch) else 1)
        elif arg:
            raise CommandError(400, "Bad argument")
    if len(relays) > 1:
        base = 1 if 0 in relays else 0  # POWERn is channel n-1 when channel 0 has a relay
        return {f"POWER{ch + base}": "ON" if dev.value(ch) else "OFF" for ch in relays}
    if not targets:
        return {"POWER": "ON"}  # what the firmware answers when it has no relay at all
    return {"POWER": "ON" if dev.value(targets[0]) else "OFF"}


def _flags(dev: ObkDevice, rest: str) -> object:
    if rest:
        dev.flags = _int(rest.split()[0])
    return {"Flags": str(dev.flags)}


def _set_flag(dev: ObkDevice, rest: str) -> object:
    bit, on = (_int(x) for x in _args(rest, 2)[:2])
    dev.flags = dev.flags | (1 << bit) if on else dev.flags & ~(1 << bit)
    return {}


def _startup(dev: ObkDevice, rest: str) -> object:
    parts = _args(rest, 1) if rest else [""]
    dev.startup = parts[0].replace("\\r\\n", "\r\n")
    if len(parts) > 1 and parts[1] == "1":
        for line in dev.startup.splitlines():
            _backlog(dev, line)
    return {}


def _clear_io(dev: ObkDevice, rest: str) -> object:
    dev.roles[:] = [0] * GPIO
    dev.channels[:] = [0] * GPIO
    dev.channels2[:] = [0] * GPIO
    dev.channel_types.clear()
    dev._refresh_outputs()
    return {}


def _mqtt_field(key: str, label: str):
    def handler(dev: ObkDevice, rest: str) -> object:
        if rest:
            dev.mqtt[key] = rest.strip().strip('"')
            dev._notify("mqtt", {key: dev.mqtt[key]})
        shown = "****" if key == "password" else dev.mqtt[key]
        return {label: shown}

    return handler


def _set_attr(attr: str):
    def handler(dev: ObkDevice, rest: str) -> object:
        value = _args(rest, 1)[0]
        setattr(dev, attr, value)
        return {}

    return handler


def _driver(start: bool):
    def handler(dev: ObkDevice, rest: str) -> object:
        name = _args(rest, 1)[0]
        if start:
            dev.drivers.add(name)
        elif name == "*":
            dev.drivers.clear()
        else:
            dev.drivers.discard(name)
        return {}

    return handler


def _channel_type(dev: ObkDevice, rest: str) -> object:
    ch, kind = _args(rest, 2)[:2]
    dev.channel_types[_int(ch)] = kind
    return {}


def _channel_label(dev: ObkDevice, rest: str) -> object:
    parts = _args(rest, 2)
    dev.channel_labels[_int(parts[0])] = parts[1]
    return {}


def _schedule_discovery(dev: ObkDevice, rest: str) -> object:
    dev._notify("discovery", {"prefix": "homeassistant"})
    return {}


def _restart(dev: ObkDevice, rest: str) -> object:
    dev._notify("restart", {})
    for line in dev.startup.splitlines():
        _backlog(dev, line)
    return {}


_COMMANDS = {
    "backlog": _backlog,
    "setpinrole": _set_pin_role,
    "setpinchannel": _set_pin_channel,
    "setchannel": _set_channel,
    "togglechannel": _toggle_channel,
    "addchannel": _add_channel,
    "getchannel": _get_channel,
    "power": _power,
    "flags": _flags,
    "setflag": _set_flag,
    "startupcommand": _startup,
    "cleario": _clear_io,
    "lfs_format": lambda dev, rest: {},
    "stopdriver": _driver(False),
    "startdriver": _driver(True),
    "mqtthost": _mqtt_field("host", "MQTTHost"),
    "mqttclient": _mqtt_field("client", "MQTTClient"),
    "mqttuser": _mqtt_field("user", "MQTTUser"),
    "mqttpassword": _mqtt_field("password", "MqttPassword"),
    "mqttgroup": _mqtt_field("group", "MqttGroup"),
    "shortname": _set_attr("short_name"),
    "friendlyname": _set_attr("long_name"),
    "echo": lambda dev, rest: rest,
    "setchanneltype": _channel_type,
    "setchannellabel": _channel_label,
    "schedulehadiscovery": _schedule_discovery,
    "restart": _restart,
    "reboot": _restart,
}
