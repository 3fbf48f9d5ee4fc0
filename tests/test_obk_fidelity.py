"""The simulated OpenBeken device against what the real firmware answered (captures in
../shared/reference/obk-captures, read from there). Platform fields - chipset, MAC, build, uptime,
the broker's port, the dev.sw/mf/mdl of discovery - differ between the firmware's Linux build and
a plug and are left out; everything else must be the same."""

from __future__ import annotations

import json
import re
import time

import pytest

from freebeken.device.client import ObkClient
from freebeken.device.config import apply_template
from freebeken.ha.broker import Broker, Session
from freebeken.ha.operations import setup
from freebeken.sim.obk.board import board
from freebeken.sim.obk.device import ObkDevice
from freebeken.sim.obk.hass import discovery
from freebeken.sim.obk.server import DeviceServer
from freebeken.templates.model import PinRole, Template
from helpers import SHARED, Mosquitto

CAPTURES = SHARED / "reference" / "obk-captures"
pytestmark = pytest.mark.shared("reference/obk-captures/real.info.json")
U3 = Template(pins={7: PinRole("Rel", 1), 1: PinRole("LED_n", 1), 8: PinRole("Btn", 1)})
PLATFORM_INFO = {"uptime_s", "build", "ip", "mac", "chipset", "mqtthost"}
PLATFORM_DEV = {"sw", "mf", "mdl"}


def real(name: str) -> str:
    return (CAPTURES / name).read_text()


def configs(text: str) -> dict[str, dict]:
    out = {}
    for line in text.splitlines():
        if line.strip():
            topic, payload = line.split(" ", 1)
            out[topic] = json.loads(payload)
    return out


def without_platform(payload: dict) -> dict:
    return {**payload, "dev": {k: v for k, v in payload["dev"].items() if k not in PLATFORM_DEV}}


@pytest.fixture
def kitchen_plug():
    """The captured device: the U3 template applied, then `ha setup --name "Kitchen Plug"`."""
    server = DeviceServer(ObkDevice(board("u3"))).start()
    client = ObkClient(server.address)
    apply_template(client, U3)
    dev = server.device
    dev.short_name = dev.mqtt["client"] = "kitchen_plug"
    dev.long_name = "Kitchen Plug"
    dev.flags |= 1 << 27
    yield dev, server, client
    server.stop()


def test_api_info_and_pins_and_channels(kitchen_plug):
    dev, server, client = kitchen_plug
    want = json.loads(real("real.info.json"))
    got = client.get_json("/api/info")
    assert set(got) == set(want)
    assert {k: v for k, v in got.items() if k not in PLATFORM_INFO} == {k: v for k, v in want.items() if k not in PLATFORM_INFO}
    assert client.get_json("/api/pins") == json.loads(real("real.pins.json"))
    assert client.transport.request("GET", "/api/channels").text().strip() == real("real.channels.txt").strip()


def shape(value):
    """Keys all the way down; lists by their first item."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_status_answers_have_the_firmwares_shape(kitchen_plug):
    dev, server, client = kitchen_plug
    for command, capture in (("Status", "real.status.json"), ("Status 0", "real.status0.json")):
        want, got = json.loads(real(capture)), json.loads(client.cm(command))
        assert shape(got) == shape(want), command
        for section, key in (
            ("Status", "DeviceName"),
            ("Status", "Topic"),
            ("StatusMQT", "MqttClient"),
            ("StatusNET", "Hostname"),
        ):
            assert got[section][key] == want[section][key]
        # Version is DEVICENAME_PREFIX_FULL "_" USER_SW_VER (LinuxSim_Lin_Test on the Linux build): `fleet` reads it so
        real_prefix, _, real_version = want["StatusFWR"]["Version"].partition("_")
        sim_prefix, _, sim_version = got["StatusFWR"]["Version"].partition("_")
        assert real_version == "Lin_Test" and sim_prefix == f"Open{dev.chipset}" and sim_version == dev.version
    # source: Status 8 and 10 answer only the sensor section
    assert list(json.loads(client.cm("Status 8"))) == ["StatusSNS"]


def test_console_edge_cases(kitchen_plug):
    dev, server, client = kitchen_plug

    def raw(command: str) -> tuple[int, dict]:
        response = client.transport.request("POST", "/api/cmnd", command.encode())
        return response.status, json.loads(response.body)

    status, body = raw("Flags")
    assert status == 400 and body["res"]  # no argument: 400, and the value all the same
    assert client.cmd("Flags") == body["res"]  # which freebeken shows as the answer it is
    assert raw("ShortName")[0] == 200 and dev.short_name == "kitchen_plug"
    assert raw("StartupCommand")[0] == 400
    assert raw("echo hello") == (200, {"success": 200, "msg": "OK", "res": {}})
    client.cmd('StartupCommand "backlog echo "a b"; SetChannel 1 1"')
    assert client.info().startup_command == "backlog echo "  # cut at the quote, as captured
    page = client.transport.request("GET", "/no/such/page")
    assert page.status == 200 and re.search(r"<title>Kitchen Plug - Not found</title>", page.text())


def test_discovery_payloads_are_the_firmwares(kitchen_plug):
    dev, server, client = kitchen_plug
    want = configs(real("real.disc.txt"))
    got = {topic: json.loads(json.dumps(payload)) for topic, payload in discovery(dev)}
    assert set(got) == set(want)
    for topic in want:
        assert without_platform(got[topic]) == without_platform(want[topic]), topic


def test_bulb_discovery_is_the_firmwares():
    want = configs(real("real.bulb.txt"))
    dev = ObkDevice(board("bulb"))
    dev.short_name = dev.mqtt["client"] = "desk_bulb"
    dev.long_name = "Desk Bulb"
    for pin, ch in ((6, 1), (7, 2), (8, 3), (24, 4), (26, 5)):  # RGBCW on the five PWM pins
        dev.set_role(pin, "PWM")
        dev.channels[pin] = ch
    got = dict(discovery(dev))
    assert set(got) == set(want)
    for topic in want:
        assert without_platform(got[topic]) == without_platform(want[topic]), topic


def mqtt_timeline(log: str) -> list[tuple[int, str]]:
    """(second, topic) of the captured log, seconds counted from the first line."""
    out, first = [], None
    for line in log.splitlines():
        stamp, _retain, topic = line.split(" ", 3)[:3]
        seconds = int(stamp[17:19]) + 60 * int(stamp[14:16])
        first = seconds if first is None else first
        out.append((seconds - first, topic))
    return out


def test_mqtt_pacing_follows_the_capture(tmp_path, kitchen_plug, monkeypatch):
    """Captured: after "online" the full state, one item a second, and the discovery configs
    behind it, 3 a second. The same order and batch size on the simulator's clock."""
    timeline = mqtt_timeline(real("real.mqtt-ha-setup.log"))
    state = [
        t.split("/", 1)[1]
        for _, t in timeline
        if t.startswith("kitchen_plug/")
        and t.split("/", 1)[1]
        in ("host", "build", "mac", "temp", "ssid", "datetime", "sockets", "rssi", "uptime", "freeheap", "ip")
    ]
    per_second: dict[int, int] = {}
    for second, topic in timeline:
        if topic.endswith("/config"):
            per_second[second] = per_second.get(second, 0) + 1
    assert max(per_second.values()) == 3  # the firmware's MQTT_QUEUED_ITEMS_PUBLISHED_AT_ONCE
    dev, server, client = kitchen_plug
    dev.time_scale = 0.1  # a tick of 100 ms: long enough to tell the simulator's batches apart
    sent: list[tuple[float, str]] = []
    publish = server.mqtt.publish
    monkeypatch.setattr(
        server.mqtt, "publish", lambda topic, *a, **k: (sent.append((time.monotonic(), topic)), publish(topic, *a, **k))
    )
    broker = Mosquitto(tmp_path)
    try:
        url = Broker.from_url(broker.url())
        result = setup(client, url, name="Kitchen Plug", timeout=20)
        assert result.problems == [] and len(result.entities) == 7  # the whole set, not the first 3
        batches: list[list[float]] = []
        for at, topic in sent:
            if topic.endswith("/config"):
                if batches and at - batches[-1][-1] < 0.05:
                    batches[-1].append(at)
                else:
                    batches.append([at])
        assert max(len(b) for b in batches) == 3 and len(batches) >= 3  # 3 per tick, as the firmware
        published = [t for t, _, _ in server.mqtt.published]
        sim_state = [t.split("/", 1)[1] for t in published if t.split("/", 1)[1] in set(state)]
        assert sim_state[: len(state)] == state  # the same items in the same order
        # captured: 3 configs right after mac (the broadcast's "queued values" step), the rest after ip
        real_order = [t for _, t in timeline]
        real_first = next(i for i, t in enumerate(real_order) if t.endswith("/config"))
        assert real_order[real_first - 1] == "kitchen_plug/mac"
        first_config = next(i for i, t in enumerate(published) if t.endswith("/config"))
        assert published[first_config - 1] == "kitchen_plug/mac" and published[first_config + 3] == "kitchen_plug/temp"
        fourth = [i for i, t in enumerate(published) if t.endswith("/config")][3]
        assert published.index("kitchen_plug/ip") < fourth  # the rest waits for the full state
    finally:
        broker.stop()


@pytest.mark.slow
def test_mqtt_pacing_at_real_speed(tmp_path, monkeypatch):
    """The same at the firmware's own speed: the 7 configs take about as long as captured (the
    last one 12 s after "online", 3 configs a second once the full state is out)."""
    monkeypatch.setenv("FREEBEKEN_SIM_TIME_SCALE", "1")
    server = DeviceServer(ObkDevice(board("u3"))).start()
    broker = Mosquitto(tmp_path)
    try:
        client = ObkClient(server.address)
        apply_template(client, U3)
        url = Broker.from_url(broker.url())
        with Session(url) as session:
            session.subscribe("homeassistant/+/+/config", "kitchen_plug/connected")
            started = time.monotonic()
            result = setup(client, url, name="Kitchen Plug", timeout=40)
            took = time.monotonic() - started
        assert result.problems == [] and len(result.entities) == 7
        assert 10 < took < 30
    finally:
        server.stop()
        broker.stop()


def test_full_state_values_have_the_captured_shape(tmp_path):
    """build is "Open" PLATFORM_MCU_NAME " " version " " date time, as captured (the platform is
    the chip's); ssid is the configured Wi-Fi (captured empty: that build had none configured)."""
    captured = {
        t.split("/", 1)[1]: p
        for t, p in (
            (line.split(" ", 3)[2], line.split(" ", 3)[3] if line.count(" ") >= 3 else "")
            for line in real("real.mqtt-ha-setup.log").splitlines()
        )
        if t.startswith("kitchen_plug/")
    }
    shape = re.compile(r"^Open(\S+) (\S+) (\w{3} [ \d]\d \d{4} \d\d:\d\d:\d\d)$")
    assert shape.match(captured["build"]).group(1) == "LIN" and captured["ssid"] == ""
    broker = Mosquitto(tmp_path)
    dev = ObkDevice(board("u3"), chipset="BK7231N")
    dev.wifi = {"ssid": "HomeWiFi", "pass": "x"}  # type: ignore[attr-defined]
    dev.mqtt.update(host="127.0.0.1", port=broker.port)
    server = DeviceServer(dev).start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(t.endswith("/ip") for t, _, _ in server.mqtt.published):
            time.sleep(0.05)
        sent = {t.split("/", 1)[1]: p for t, p, _ in server.mqtt.published}
        assert shape.match(sent["build"]).group(1) == "BK7231N" and sent["ssid"] == "HomeWiFi"
    finally:
        server.stop()
        broker.stop()
