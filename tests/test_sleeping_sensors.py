"""Battery door and motion sensors: mapped so that they sleep (DoorSnsrWSleep), and announced to Home
Assistant as the real firmware announces them (binary_sensor for the door, battery level and voltage,
no availability topic while the deep-sleep driver runs)."""

from __future__ import annotations

import json

from freebeken.device.client import Pins
from freebeken.device.drivers import from_pins
from freebeken.ha.discovery import expected, missing, parse
from freebeken.sim.obk.board import board
from freebeken.sim.obk.device import ObkDevice
from freebeken.sim.obk.hass import discovery
from freebeken.tuya.mapping import map_upk

BATTERY_DOOR = {"module": "CB3S", "door1_magt_pin": 22, "samp_pin": 23, "samp_sw_pin": 20, "bt_pin": 14, "netled_pin": 15}


def _pins(m) -> dict[int, str]:
    return {p: r.text() for p, r in sorted(m.template.pins.items())}


def test_a_battery_door_sensor_sleeps_between_changes():
    m = map_upk({**BATTERY_DOOR, "door1_magt_lv": 1})
    assert _pins(m)[22] == "DoorSnsrWSleep;1"
    assert m.template.flags is None  # active high: nothing inverted
    assert "DoorSensor" in from_pins([r.role for r in m.template.pins.values()])  # the firmware starts deep sleep
    assert any("sleeps between changes" in n for n in m.notes)


def test_an_active_low_battery_door_sensor_is_inverted_by_flag_42():
    m = map_upk({**BATTERY_DOOR, "door1_magt_lv": 0})
    assert _pins(m)[22] == "DoorSnsrWSleep;1"
    assert m.template.flags == 1 << 42
    assert any("flag 42" in n for n in m.notes)


def test_a_mains_powered_sensor_and_mixed_levels_stay_digital_inputs():
    assert _pins(map_upk({"module": "CB3S", "door1_magt_pin": 22, "door1_magt_lv": 0}))[22] == "dInput_n;1"
    mixed = map_upk({**BATTERY_DOOR, "door1_magt_lv": 0, "door2_magt_pin": 24, "door2_magt_lv": 1})
    assert (_pins(mixed)[22], _pins(mixed)[24]) == ("dInput_n;1", "dInput;2")
    assert mixed.template.flags is None
    assert any("will not sleep" in n for n in mixed.notes)


def _device(roles: dict[int, tuple[str, int]], flags: int = 1024) -> ObkDevice:
    dev = ObkDevice(board("u3"), flags=flags)
    for pin, (role, ch) in roles.items():
        dev.set_role(pin, role)
        dev.channels[pin] = ch
    dev.boot()
    return dev


def test_the_sensor_is_announced_as_the_firmware_announces_it():
    roles = {22: ("DoorSnsrWSleep", 1), 23: ("BAT_ADC", 0), 20: ("BAT_Relay", 0), 14: ("Btn", 2)}
    dev = _device(roles)
    assert {"DoorSensor", "Battery"} <= dev.drivers
    payloads = discovery(dev)
    entities = [parse(t, json.loads(json.dumps(p))) for t, p in payloads]
    assert all(e.problems == [] for e in entities)
    classes = {(e.component, e.config.get("device_class")) for e in entities}
    assert ("binary_sensor", None) in classes and ("sensor", "battery") in classes and ("sensor", "voltage") in classes
    assert not any("avty_t" in p for _, p in payloads)  # asleep most of the time: no availability topic
    pins = Pins(
        roles=[dev.role(p) for p in range(len(dev.roles))],
        channels=list(dev.channels),
        channels2=[0] * len(dev.roles),
        states=[0] * len(dev.roles),
    )
    want = expected(pins, dev.flags)
    assert "binary_sensor for channel 1" in want and "sensor for battery" in want
    assert missing(entities, want) == []


def test_flag_42_inverts_the_door_channel_on_the_simulated_device():
    roles = {22: ("DoorSnsrWSleep", 1)}
    plain, inverted = _device(roles), _device(roles, flags=1024 | 1 << 42)
    for dev in (plain, inverted):
        dev.press(22, False)  # an unconnected pin floats to its pull-up: high
    assert (plain.value(1), inverted.value(1)) == (1, 0)
