"""Home Assistant itself judges every discovery payload the simulated firmware sends, and agrees
with freebeken's own validator on good and bad payloads."""

from __future__ import annotations

import json

import pytest

from freebeken.ha.discovery import parse
from freebeken.sim.obk.board import board
from freebeken.sim.obk.device import ObkDevice
from freebeken.sim.obk.hass import discovery
from helpers import ha_judge, ha_python

pytestmark = [
    pytest.mark.ha,
    pytest.mark.skipif(ha_python() is None, reason="no .ha-venv: run scripts/test (it installs Home Assistant)"),
]

SCENARIOS = {
    "relay": {6: ("Rel", 1), 7: ("Btn", 1), 26: ("WifiLED_n", 0)},
    "relay-as-light": {6: ("Rel", 1)},
    "1pwm": {6: ("PWM", 1)},
    "2pwm": {6: ("PWM", 1), 7: ("PWM", 2)},
    "3pwm": {6: ("PWM", 1), 7: ("PWM", 2), 8: ("PWM", 3)},
    "5pwm": {6: ("PWM", 1), 7: ("PWM", 2), 8: ("PWM", 3), 24: ("PWM", 4), 26: ("PWM", 5)},
    "i2c-driver": {26: ("SM2135DAT", 0), 8: ("SM2135CLK", 0)},
    "dinput": {14: ("dInput", 3)},
    "battery-door": {22: ("DoorSnsrWSleep", 1), 23: ("BAT_ADC", 0), 20: ("BAT_Relay", 0)},
    "metering": {6: ("Rel", 1), 24: ("BL0937CF", 0), 26: ("BL0937CF1", 0), 11: ("BL0937SEL", 0)},
}


def payloads() -> list[dict]:
    items = []
    for name, pins in SCENARIOS.items():
        dev = ObkDevice(board("u3"), flags=1024 | (1 << 34 if name == "relay-as-light" else 0))
        for pin, (role, ch) in pins.items():
            dev.set_role(pin, role)
            dev.channels[pin] = ch
        dev.boot()  # drivers (battery, deep sleep) start from the pins at boot
        items += [{"topic": t, "payload": json.loads(json.dumps(p)), "scenario": name} for t, p in discovery(dev)]
    return items


def test_home_assistant_accepts_every_payload_the_device_sends():
    items = payloads()
    verdicts = ha_judge(items)
    assert len(verdicts) == len(items) > 40
    rejected = [v for v in verdicts if not v["ok"]]
    assert rejected == []
    for item in items:  # and our own validator agrees
        assert parse(item["topic"], item["payload"]).problems == [], item["topic"]


def test_home_assistant_and_freebeken_reject_the_same_mistakes():
    base = {"dev": {"ids": ["plug"], "name": "plug"}, "~": "plug", "uniq_id": "plug_x", "qos": 1}
    bad = [
        ("homeassistant/switch/plug_relay_1/config", {**base, "stat_t": "~/1/get"}),  # no command topic
        ("homeassistant/switch/plug.relay/config", {**base, "cmd_t": "~/1/set"}),  # illegal id
        ("homeassistant/sensor/plug_p/config", {**base, "stat_t": "~/p", "dev_cla": "power", "unit_of_meas": "kWh"}),
        (
            "homeassistant/sensor/plug_e/config",
            {**base, "stat_t": "~/e", "dev_cla": "energy", "unit_of_meas": "Wh", "stat_cla": "measurement"},
        ),
        ("homeassistant/binary_sensor/plug_b/config", {**base}),  # no state topic
        ("homeassistant/switch/plug_relay_2/config", {**base, "cmd_t": "~/2/set", "dev": {"name": "no ids"}}),
    ]
    verdicts = ha_judge([{"topic": t, "payload": p} for t, p in bad])
    assert [v["ok"] for v in verdicts] == [False] * len(bad), verdicts
    for topic, payload in bad:
        assert parse(topic, payload).problems, topic
