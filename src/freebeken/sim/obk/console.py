"""Console commands of the simulated OpenBeken firmware: only what freebeken and the web app use,
with the firmware's observable behaviour (short role names only, ``backlog`` ignoring failed
sub-commands, Tasmota-style replies, 501/400 result codes)."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from ...templates.chips import GPIO_COUNT as GPIO
from ...templates.roles import ROLE_IDS
from .status import status

if TYPE_CHECKING:
    from .device import ObkDevice


class CommandError(Exception):
    def __init__(self, code: int, msg: str, res: object = None) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.res = res if res is not None else {}  # the firmware still appends its JSON reply


def run_command(dev: ObkDevice, name: str, rest: str) -> object:
    handler = _COMMANDS.get(name)
    if handler is None:
        if name.startswith("power") and name[5:].isdigit():
            return _power(dev, rest, int(name[5:]))
        raise CommandError(501, "Unknown command")
    return handler(dev, rest)


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
    if dev.is_light() and not relays:  # json_interface.c: a light's POWER is its led_enableAll
        arg = rest.strip().lower()
        if arg:
            _led_enable_all(dev, {"on": "1", "1": "1", "off": "0", "0": "0"}.get(arg, arg))
        return {"POWER": "ON" if dev.light_on else "OFF"}
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


def _led_enable_all(dev: ObkDevice, rest: str) -> object:
    word = rest.strip().lower()
    dev.light_on = (0 if dev.light_on else 1) if word == "toggle" else _int(word) if word else dev.light_on
    dev._notify("led", {"led_enableAll": dev.light_on})  # the firmware publishes <client>/led_enableAll/get
    return {}


def _led_dimmer(dev: ObkDevice, rest: str) -> object:
    if rest.strip():
        dev.dimmer = max(0, min(100, _int(rest.split()[0])))
        dev._notify("led", {"led_dimmer": dev.dimmer})
    return {}


def _led_basecolor_rgb(dev: ObkDevice, rest: str) -> object:
    text = rest.strip().lstrip("#")[:6]
    if text:
        try:
            int(text, 16)
        except ValueError:
            raise CommandError(400, "Bad argument") from None
        dev.base_color = text.upper().ljust(6, "0")
        dev._notify("led", {"led_basecolor_rgb": dev.base_color})
    return {"led_basecolor_rgb": dev.base_color}  # json_interface.c replies with the colour


def _led_temperature(dev: ObkDevice, rest: str) -> object:
    if rest.strip():
        dev.temperature = max(154, min(500, _int(rest.split()[0])))
        dev._notify("led", {"led_temperature": dev.temperature})
    return {}


def _flags(dev: ObkDevice, rest: str) -> object:
    if not rest:  # captured: 400 "Not enough arguments", and the value all the same
        raise CommandError(400, "Not enough arguments for this command", {"Flags": str(dev.flags)})
    dev.flags = _int(rest.split()[0])
    return {"Flags": str(dev.flags)}


def _set_flag(dev: ObkDevice, rest: str) -> object:
    bit, on = (_int(x) for x in _args(rest, 2)[:2])
    dev.flags = dev.flags | (1 << bit) if on else dev.flags & ~(1 << bit)
    return {}


def firmware_tokens(rest: str) -> list[str]:
    """The firmware's tokenizer with TOKENIZER_ALLOW_QUOTES: words split at blanks; a word that
    starts with '"' runs to the next '"' - there is no escaping, so 'a "b \\"c\\" d"' breaks."""
    out, i, n = [], 0, len(rest)
    while i < n:
        if rest[i] in " \t":
            i += 1
        elif rest[i] == '"':
            end = rest.find('"', i + 1)
            end = n if end < 0 else end
            out.append(rest[i + 1 : end])
            i = end + 1
            while i < n and rest[i] not in " \t":  # glued to the closing quote: no argument of its own
                i += 1
        else:
            end = i
            while end < n and rest[end] not in " \t":
                end += 1
            out.append(rest[i:end])
            i = end
    return out


def _startup(dev: ObkDevice, rest: str) -> object:
    parts = firmware_tokens(rest)
    if not parts:  # captured: 400 without an argument
        raise CommandError(400, "Not enough arguments for this command")
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
        words = firmware_tokens(rest)
        if words:  # without an argument it only logs the name (captured: 200)
            setattr(dev, attr, words[0])
        return {}

    return handler


def _driver(start: bool):
    def handler(dev: ObkDevice, rest: str) -> object:
        name = _args(rest, 1)[0]
        if start:
            dev.start_driver(name)  # an unknown name: logged by the firmware, nothing starts, still 200 {}
        elif name == "*":
            dev.drivers.clear()
        else:
            dev.drivers = {d for d in dev.drivers if d.lower() != name.lower()}
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
    """CMD_ScheduleHADiscovery (cmd_main.c): in N seconds (default 5) once MQTT is up - flag 27 or not."""
    seconds = _int(rest.split()[0]) if rest.strip() else 5
    dev._notify("schedule-discovery", {"seconds": seconds})
    return {}


def _restart(dev: ObkDevice, rest: str) -> object:
    """The device restarts: with a network agent listening, it boots when the reboot is over (its
    MQTT agent times that); a device without one boots at once."""
    if getattr(dev, "mqtt_agent", None) is not None:
        dev._notify("restart", {})
    else:
        dev.boot()
    return {}


def _ssid1(dev: ObkDevice, rest: str) -> object:
    wifi = getattr(dev, "wifi", None) or {"ssid": "", "pass": ""}
    if rest.strip():
        wifi["ssid"] = rest.strip()
        dev.wifi = wifi  # type: ignore[attr-defined]
    return {"SSID1": wifi["ssid"]}


def _channels(dev: ObkDevice, rest: str) -> object:
    """``Ch``: the configured channels' values (json_interface.c http_obk_json_channels)."""
    return {str(ch): dev.value(ch) for ch in sorted({dev.channels[p] for p in range(GPIO) if dev.roles[p]})}


_COMMANDS = {
    "backlog": _backlog,
    "setpinrole": _set_pin_role,
    "setpinchannel": _set_pin_channel,
    "setchannel": _set_channel,
    "togglechannel": _toggle_channel,
    "addchannel": _add_channel,
    "getchannel": _get_channel,
    "power": _power,
    "led_enableall": _led_enable_all,
    "ssid1": _ssid1,
    "ch": _channels,
    "state": lambda dev, rest: status(dev, "11")["StatusSTS"],
    "led_dimmer": _led_dimmer,
    "led_basecolor_rgb": _led_basecolor_rgb,
    "led_temperature": _led_temperature,
    "status": lambda dev, rest: status(dev, rest),
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
    "echo": lambda dev, rest: {},  # it logs its text; the reply's res stays empty (captured)
    "setchanneltype": _channel_type,
    "setchannellabel": _channel_label,
    "schedulehadiscovery": _schedule_discovery,
    "restart": _restart,
    "reboot": _restart,
}
