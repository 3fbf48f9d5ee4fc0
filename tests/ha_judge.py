"""Runs inside the Home Assistant virtual environment (.ha-venv, made by scripts/test).

Reads [{"topic": ..., "payload": {...}}, ...] on stdin and judges every discovery message with
Home Assistant's own code: its topic regex, abbreviation tables, "~" expansion (the steps of
mqtt.discovery.async_start, which 2024.3 keeps inline) and each component's DISCOVERY_SCHEMA,
plus the sensor unit/device-class tables. Prints [{"topic", "ok", "error"}] as JSON.
"""

import json
import sys

from homeassistant.components.mqtt import binary_sensor, button, light, sensor, switch
from homeassistant.components.mqtt.abbreviations import ABBREVIATIONS, DEVICE_ABBREVIATIONS
from homeassistant.components.mqtt.discovery import TOPIC_MATCHER
from homeassistant.components.sensor.const import DEVICE_CLASS_STATE_CLASSES, DEVICE_CLASS_UNITS

SCHEMAS = {
    "switch": switch.DISCOVERY_SCHEMA,
    "sensor": sensor.DISCOVERY_SCHEMA,
    "binary_sensor": binary_sensor.DISCOVERY_SCHEMA,
    "button": button.DISCOVERY_SCHEMA,
    "light": light.DISCOVERY_SCHEMA,
}


def judge(topic: str, payload: dict, prefix: str = "homeassistant") -> str | None:
    trimmed = topic.replace(f"{prefix}/", "", 1)
    match = TOPIC_MATCHER.match(trimmed)
    if not match:
        return "illegal discovery topic"
    component = match.group("component")
    data = {ABBREVIATIONS.get(k, k): v for k, v in payload.items()}
    if "device" in data:
        data["device"] = {DEVICE_ABBREVIATIONS.get(k, k): v for k, v in data["device"].items()}
    if "~" in data:
        base = data.pop("~")
        for key, value in list(data.items()):
            if isinstance(value, str) and value and key.endswith("topic"):
                if value[0] == "~":
                    data[key] = f"{base}{value[1:]}"
                if value[-1] == "~":
                    data[key] = f"{value[:-1]}{base}"
    try:
        config = SCHEMAS[component](data)
    except Exception as e:  # voluptuous.Invalid and friends
        return f"{type(e).__name__}: {e}"
    if component == "sensor":
        cls, unit = config.get("device_class"), config.get("unit_of_measurement")
        if cls in DEVICE_CLASS_UNITS and unit not in DEVICE_CLASS_UNITS[cls]:
            return f"unit {unit!r} not valid for device class {cls}"
        state_class = config.get("state_class")
        if cls in DEVICE_CLASS_STATE_CLASSES and state_class and state_class not in DEVICE_CLASS_STATE_CLASSES[cls]:
            return f"state class {state_class} not valid for device class {cls}"
    return None


if __name__ == "__main__":
    items = json.load(sys.stdin)
    out = []
    for item in items:
        error = judge(item["topic"], item["payload"], item.get("prefix", "homeassistant"))
        out.append({"topic": item["topic"], "ok": error is None, "error": error})
    json.dump(out, sys.stdout)
