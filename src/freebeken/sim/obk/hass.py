"""Home Assistant discovery payloads as OpenBeken generates them (reference §6.4, captured from
the firmware): same topics, same keys, same order. Pure."""

from __future__ import annotations

import re
from typing import Any

from ...device.drivers import LED_CHIPS, METERING
from ...templates.roles import BINARY_INPUT_ROLES
from .device import ObkDevice

ENERGY = (  # uniq suffix, name, device class, state topic tail, state class, unit
    ("0", "Voltage", "voltage", "voltage", "measurement", "V"),
    ("1", "Current", "current", "current", "measurement", "A"),
    ("2", "Power", "power", "power", "measurement", "W"),
    ("9", "Apparent Power", "apparent_power", "power_apparent", "measurement", "VA"),
    ("10", "Reactive Power", "reactive_power", "power_reactive", "measurement", "var"),
    ("11", "Power Factor", "power_factor", "power_factor", "measurement", None),
    ("3", "Energy Total", "energy", "energycounter", "total_increasing", "Wh"),
    ("4", "Energy Last Hour", "energy", "energycounter_last_hour", "total_increasing", "Wh"),
)
DIAGNOSTICS: tuple[
    tuple[str, str, str | None, str, str | None, str | None, str | None], ...
] = (  # suffix, name, device class, topic, unit, state class, icon
    ("temp", "Temperature", "temperature", "temp", "°C", "measurement", None),
    ("rssi", "RSSI", "signal_strength", "rssi", "dBm", "measurement", None),
    ("uptime", "Uptime", "duration", "uptime", "s", "total_increasing", None),
    ("build", "Build", None, "build", None, None, None),
    ("ssid", "SSID", None, "ssid", None, None, "mdi:access-point-network"),
    ("ip", "IP", None, "ip", None, None, "mdi:ip-network"),
)


def _flag(dev: ObkDevice, n: int) -> bool:
    return bool(dev.flags >> n & 1)


def _safe(text: str) -> str:
    return re.sub(r"\s", "_", text)


def discovery(dev: ObkDevice, prefix: str = "homeassistant") -> list[tuple[str, dict[str, Any]]]:
    long = _safe(dev.long_name)
    client = str(dev.mqtt["client"])
    version = dev.version
    # captured: ids carry the raw long name (spaces kept), uniq_ids the underscored one; cu is the device's own address
    base_dev = {
        "ids": [dev.long_name],
        "name": dev.short_name,
        "sw": version,
        "mf": "Beken Corporation",
        "mdl": dev.chipset,
        "cu": f"http://{dev.ip}/index",
    }
    out: list[tuple[str, dict[str, Any]]] = []

    def entity(component: str, uniq: str, name: str, **fields: Any) -> None:
        payload: dict[str, Any] = {"dev": dict(base_dev), "name": name, "~": client}
        if not _flag(dev, 35) and "DoorSensor" not in dev.drivers:  # a sleeping sensor is mostly away: no availability
            payload["avty_t"] = "~/connected"
        head = {k: fields.pop(k) for k in list(fields) if k in ("pl_on", "pl_off", "payload_press")}
        payload.update(head)
        payload["uniq_id"] = uniq
        payload["qos"] = 1
        payload.update(fields)
        out.append((f"{prefix}/{component}/{uniq}/config", payload))

    roles = {p: dev.role(p) for p in range(len(dev.roles))}
    pwm = sorted((p for p, r in roles.items() if r in ("PWM", "PWM_n")), key=lambda p: dev.channels[p])
    # entities follow the running drivers, not the pins (http_fns.c doHomeAssistantDiscovery)
    light_driver = bool(LED_CHIPS & dev.drivers)
    count = 5 if light_driver else len(pwm)
    light_fields = {
        "stat_t": "~/led_enableAll/get",
        "cmd_t": f"cmnd/{client}/led_enableAll",
        "bri_stat_t": "~/led_dimmer/get",
        "bri_cmd_t": f"cmnd/{client}/led_dimmer",
        "bri_scl": 100,
    }
    rgb = {
        "rgb_cmd_tpl": "{{'#%02x%02x%02x0000'|format(red,green,blue)}}",
        "rgb_val_tpl": "{{ value[0:2]|int(base=16) }},{{ value[2:4]|int(base=16) }},{{ value[4:6]|int(base=16) }}",
        "rgb_stat_t": "~/led_basecolor_rgb/get",
        "rgb_cmd_t": f"cmnd/{client}/led_basecolor_rgb",
    }
    cw = {
        "clr_temp_cmd_t": f"cmnd/{client}/led_temperature",
        "clr_temp_stat_t": "~/led_temperature/get",
        "min_mirs": "154",
        "max_mirs": "500",
    }
    for ch in dev.relay_channels():  # relays first, as the firmware queues them
        label = dev.channel_labels.get(ch, str(ch))
        kind, uniq = ("light", f"{long}_light_{ch}") if _flag(dev, 34) else ("switch", f"{long}_relay_{ch}")
        entity(kind, uniq, label, pl_on="1", pl_off="0", stat_t=f"~/{ch}/get", cmd_t=f"~/{ch}/set")
    if count == 1:
        ch = dev.channels[pwm[0]]
        entity("light", f"{long}_light_{ch}", str(ch), pl_on="1", pl_off="0", **light_fields)
    elif count == 2:
        entity("light", f"{long}_light", "Light", pl_on="1", pl_off="0", on_cmd_type="first", **cw, **light_fields)
    elif count == 3:
        entity("light", f"{long}_light", "Light", pl_on="1", pl_off="0", **rgb, **light_fields)
    elif count == 5:
        entity("light", f"{long}_light", "Light", pl_on="1", pl_off="0", **rgb, **cw, **light_fields)
    if METERING & dev.drivers:
        for suffix, name, cls, topic, state_class, unit in ENERGY:
            fields: dict[str, Any] = {"dev_cla": cls, "stat_t": f"~/{topic}/get", "stat_cla": state_class}
            if unit:
                fields["unit_of_meas"] = unit
            entity("sensor", f"{long}_sensor_{suffix}", name, **fields)
    if "Battery" in dev.drivers:  # hass.c BATTERY_SENSOR, BATTERY_VOLTAGE_SENSOR
        entity(
            "sensor",
            f"{long}_battery_0",
            "Battery",
            dev_cla="battery",
            unit_of_meas="%",
            stat_t="~/battery/get",
            stat_cla="measurement",
        )
        entity(
            "sensor",
            f"{long}_voltage_0",
            "Voltage",
            dev_cla="voltage",
            unit_of_meas="mV",
            stat_t="~/voltage/get",
            stat_cla="measurement",
        )
    for ch in sorted({dev.channels[p] for p, r in roles.items() if r in BINARY_INPUT_ROLES}):
        entity(
            "binary_sensor",
            f"{long}_binary_sensor_{ch}",
            dev.channel_labels.get(ch, str(ch)),
            pl_on="0",
            pl_off="1",
            stat_t=f"~/{ch}/get",
        )
    if _flag(dev, 2) or _flag(dev, 10):
        for d_suffix, d_name, d_cls, d_topic, d_unit, d_state, d_icon in DIAGNOSTICS:
            diag: dict[str, str] = {}  # in the firmware's order, only what this sensor has
            if d_cls:
                diag["dev_cla"] = d_cls
            diag["stat_t"] = f"~/{d_topic}"
            if d_unit:
                diag["unit_of_meas"] = d_unit
            diag["entity_category"] = "diagnostic"
            if d_state:
                diag["stat_cla"] = d_state
            if d_icon:
                diag["icon"] = d_icon
            entity("sensor", f"{long}_{d_suffix}", d_name, **diag)
    return out
