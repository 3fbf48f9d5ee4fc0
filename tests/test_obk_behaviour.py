"""The simulated device behaves as the real firmware was observed to (behaviour-2026-12.md), and
``device apply`` makes a template's drivers *run*. Each test names the point it holds."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from freebeken.cli.main import main
from freebeken.device import drivers
from freebeken.device.client import ObkClient
from freebeken.device.config import apply_template
from freebeken.errors import DriverNotRunning
from freebeken.ha.broker import Broker, Session
from freebeken.sim.obk import server as sim_server
from freebeken.sim.obk.board import board
from freebeken.sim.obk.device import ObkDevice
from freebeken.sim.obk.hass import discovery
from freebeken.sim.obk.server import DeviceServer
from freebeken.templates.model import PinRole, Template
from helpers import Mosquitto, require_shared

BEHAVIOUR = Path(__file__).parent.parent / ".." / "shared" / "reference" / "obk-captures" / "behaviour-2026-12.md"
U3 = Template(pins={7: PinRole("Rel", 1), 1: PinRole("LED_n", 1), 8: PinRole("Btn", 1)})
BL0937 = Template(
    pins={
        7: PinRole("Rel", 1),
        8: PinRole("Btn", 1),
        24: PinRole("BL0937CF", 0),
        26: PinRole("BL0937CF1", 0),
        11: PinRole("BL0937SEL", 0),
    }
)
SM2135 = Template(pins={26: PinRole("SM2135CLK", 0), 24: PinRole("SM2135DAT", 0)})


@pytest.fixture
def sim():
    servers = []

    def start(board_name: str = "u3", **kw) -> tuple[ObkDevice, DeviceServer, ObkClient]:
        dev = ObkDevice(board(board_name), **kw)
        server = DeviceServer(dev).start()
        servers.append(server)
        return dev, server, ObkClient(server.address)

    yield start
    for s in servers:
        s.stop()


def energy(dev: ObkDevice) -> list[str]:
    return [t for t, _ in discovery(dev) if "_sensor_" in t]


def test_the_observation_is_there():
    require_shared("reference/obk-captures/behaviour-2026-12.md")
    text = BEHAVIOUR.read_text()
    assert "only at boot" in text and "starts nothing" in text  # the two facts the driver model rests on


def test_pin_drivers_start_only_at_boot_and_entities_follow_them(sim):
    dev, server, client = sim()
    for pin, role in BL0937.pins.items():  # setting pins over HTTP starts nothing
        client.cmd(f"setPinRole {pin} {role.role}")
    assert client.drivers() == set() and energy(dev) == []  # observed: no energy entity
    client.cmd("startDriver BL0937")
    assert client.drivers() == {"BL0937"} and len(energy(dev)) == 8  # observed: the 8 energy sensors appear
    for pin in BL0937.pins:
        client.cmd(f"setPinRole {pin} None")
    assert len(energy(dev)) == 8  # a running driver stays running without its pins, until reboot
    dev.boot()
    assert dev.drivers == set() and energy(dev) == []


def test_several_relays_answer_power1_power2(sim):
    dev, server, client = sim("strip")
    apply_template(client, Template(pins={6: PinRole("Rel", 1), 24: PinRole("Rel", 2)}))
    assert client.cmd("POWER2 on") == {"POWER1": "OFF", "POWER2": "ON"}  # json_interface.c: one key per relay


def test_unknown_driver_starts_nothing_and_ssdp_shows_when_running(sim):
    dev, server, client = sim()
    assert client.cmd("startDriver Bogus") == {}  # 200 {} and nothing
    assert client.drivers() == set()
    assert json.loads(client.transport.request("GET", "/api/info").body)["supportsSSDP"] == 0
    client.cmd("startDriver ssdp")  # names compare without case; the firmware's spelling runs
    assert client.drivers() == {"SSDP"} and json.loads(client.transport.request("GET", "/api/info").body)["supportsSSDP"] == 1


def test_light_and_state_replies(sim):
    dev, server, client = sim("bulb")
    assert client.cmd("led_basecolor_rgb FF8000") == {"led_basecolor_rgb": "FF8000"}
    assert client.cmd("SSID1 HomeWiFi") == {"SSID1": "HomeWiFi"}
    assert "UptimeSec" in client.cmd("State")


def test_uptime_counts(sim):
    dev, server, client = sim()
    first = client.info().uptime_s
    time.sleep(0.1)  # 5 firmware seconds at the suite's time scale
    assert client.info().uptime_s >= first + 3


def test_driver_table_follows_user_main_c():
    assert drivers.from_pins(["BL0937CF", "BL0937CF1"]) == set()  # SEL (or SEL_n) is needed too
    assert drivers.from_pins(["BL0937CF", "BL0937CF1", "BL0937SEL_n"]) == {"BL0937"}
    assert drivers.from_pins(["SM2135CLK", "SM2135DAT"]) == {"SM2135"}
    assert drivers.from_pins(["SM2135CLK", "SM2135DAT"], flags=1 << 36) == set()  # flag 36: no autostart
    assert drivers.from_pins(["IRRecv", "Rel"], flags=1 << 36) == {"IR"}  # started with the autorun scripts, not that block
    assert drivers.implied(["Rel"], "backlog startDriver bl0942; startDriver NTP") == {"BL0942", "NTP"}
    assert drivers.canonical("bogus") is None


def test_apply_starts_the_drivers_a_template_implies_and_stops_the_old_ones(sim):
    dev, server, client = sim()
    outcome = apply_template(client, BL0937)
    assert outcome.started == ["BL0937"] and outcome.running == {"BL0937"} and not outcome.restarted
    assert len(energy(dev)) == 8  # what runs is what Home Assistant is told about
    outcome = apply_template(client, U3)  # a plain plug after the metering one
    assert outcome.stopped == ["BL0937"] and client.drivers() == set() and energy(dev) == []  # no phantom energy sensors
    saved, sent = outcome  # the old unpacking still works
    assert saved.drivers == ["BL0937"] and any(s == "stopDriver BL0937" for s in sent)


def test_apply_of_a_light_driver_makes_a_light(sim):
    dev, server, client = sim("bulb")
    apply_template(client, SM2135)
    assert client.drivers() == {"SM2135"}
    assert [t for t, _ in discovery(dev) if "/light/" in t]
    assert client.cmd("POWER on") == {"POWER": "ON"} and dev.light_on == 1  # a light's POWER is led_enableAll


def test_a_driver_that_does_not_come_up_is_an_error_after_a_restart(sim):
    dev, server, client = sim()
    with pytest.raises(DriverNotRunning, match="Bogus is not running .*does not know that driver") as e:
        apply_template(client, Template(pins=dict(U3.pins), command="backlog startDriver Bogus"))
    assert e.value.exit_code == 16
    assert "did not start with startDriver" in e.value.outcome.restarted  # it tried the restart, and says why


def test_cli_apply_names_the_drivers_and_json_is_pure(sim, tmp_path):
    dev, server, client = sim()
    template = tmp_path / "bl0937.json"
    template.write_text(json.dumps(BL0937.to_entry()))
    res = CliRunner().invoke(main, ["--json", "device", "apply", server.address, str(template)])
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]  # every line is JSON
    assert lines[-1]["ok"] and lines[-1]["started"] == ["BL0937"] and lines[-1]["drivers"] == ["BL0937"]
    res = CliRunner().invoke(main, ["device", "apply", server.address, str(template)])
    assert res.exit_code == 0 and "running: BL0937" in res.output
    bad = tmp_path / "bogus.json"
    bad.write_text(json.dumps(Template(pins=dict(U3.pins), command="backlog startDriver Bogus").to_entry()))
    res = CliRunner().invoke(main, ["--json", "device", "apply", server.address, str(bad)])
    assert res.exit_code == 16 and not res.exception or isinstance(res.exception, SystemExit)
    last = json.loads(res.stdout.splitlines()[-1])
    assert last["exit_code"] == 16 and "Bogus" in last["error"] and "previous configuration is saved" in last["hint"]


def test_save_and_restore_json_is_pure_and_restore_refuses_another_device(sim, tmp_path):
    a_dev, a_server, a = sim()
    b_dev, b_server, b = sim(mac="c8478c000001", chipset="BK7231N")
    apply_template(a, U3)
    out = tmp_path / "a.json"
    res = CliRunner().invoke(main, ["--json", "device", "save", a_server.address, "-o", str(out)])
    assert res.exit_code == 0 and json.loads(res.stdout.splitlines()[-1])["ok"]
    res = CliRunner().invoke(main, ["--json", "device", "restore", b_server.address, str(out)])
    last = json.loads(res.stdout.splitlines()[-1])
    assert res.exit_code == 2 and "another device" in last["error"] and "C8:47:8C:43:F3:10" in last["error"].upper()
    assert "chip BK7231T" in last["error"] and b.pins().configured() == {}  # nothing was changed
    res = CliRunner().invoke(main, ["--json", "device", "restore", b_server.address, str(out), "--other-device"])
    assert res.exit_code == 0 and json.loads(res.stdout.splitlines()[-1]) == {"event": "result", "ok": True}
    res = CliRunner().invoke(main, ["--json", "device", "restore", a_server.address, str(out)])
    assert res.exit_code == 0


def test_pins_find_answers_sim_on_a_real_device_is_a_clear_error(sim, monkeypatch):
    dev, server, client = sim()
    # the real firmware answers any unknown path with 200 and a "Not found" page
    monkeypatch.setattr(sim_server, "_simulator", lambda d, p, q: sim_server.html(d, "Not found.", "Not found"))
    res = CliRunner().invoke(main, ["--json", "pins", "find", server.address, "--answers", "sim", "-y"])
    assert res.exit_code == 2 and not isinstance(res.exception, json.JSONDecodeError)
    last = json.loads(res.stdout.splitlines()[-1])
    assert "simulated device" in last["error"] and dev.roles == [0] * len(dev.roles)  # no pin was touched


def test_busy_port_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        res = CliRunner().invoke(main, ["sim", "device", "--port", str(port)])
    assert res.exit_code == 2 and "Cannot serve the simulated device" in res.output and "Traceback" not in res.output


def test_sim_device_advertises_its_own_port():
    dev = ObkDevice(board("u3"))
    server = DeviceServer(dev, advertise_port=True).start()
    try:
        assert ObkClient(server.address).info().ip == server.address  # fleet reaches it where it listens
    finally:
        server.stop()


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(tmp_path)
    yield b
    b.stop()


def _wait(predicate, limit: float = 5.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_discovery_is_not_sent_on_a_reconnect_and_a_rename_leaves_the_old_id_offline(sim, broker):
    dev, server, client = sim(flags=1024 | 1 << 27)
    apply_template(client, U3)
    url = Broker.from_url(broker.url())
    with Session(url) as session:
        session.subscribe("#")
        client.set_mqtt("127.0.0.1", broker.port, "plug_a")
        assert session.wait_for(lambda t, p: t == "plug_a/connected" and p == b"online", 5)
        time.sleep(40 * dev.time_scale)  # the whole state broadcast and more
        configs = [t for t, _, _ in session.messages if t.endswith("/config")]
        assert len(configs) == len(set(configs)) == 7  # flag 27 at boot: announced once, at the first connect
        client.set_mqtt("127.0.0.1", broker.port, "plug_b")  # a rename
        assert session.wait_for(lambda t, p: t == "plug_b/connected" and p == b"online", 5)
        time.sleep(40 * dev.time_scale)
        assert len([t for t, _, _ in session.messages if t.endswith("/config")]) == 7  # a reconnect announces nothing
        online_at = [t for t, _, _ in session.messages].index("plug_b/connected")
        offline = [i for i, (t, p, _) in enumerate(session.messages) if t == "plug_a/connected" and p == b"offline"]
        assert offline and offline[0] < online_at  # the old connection dropped first: its will fired
    with Session(url) as fresh:
        fresh.subscribe("plug_a/connected")
        fresh.settle(0.3, 2)
        assert [p for t, p, r in fresh.messages if r] == [b"offline"]  # retained: a ghost unless cleared


def test_reconnect_takes_the_firmwares_five_plus_three_seconds(sim, broker):
    dev, server, client = sim()
    dev.time_scale = 0.05
    client.set_mqtt("127.0.0.1", broker.port, "plug_a")
    url = Broker.from_url(broker.url())
    with Session(url) as session:
        session.subscribe("plug_a/connected", "plug_c/connected")
        assert session.wait_for(lambda t, p: t == "plug_a/connected" and p == b"online", 5)
        started = time.monotonic()
        client.set_mqtt("127.0.0.1", broker.port, "plug_c")
        assert session.wait_for(lambda t, p: t == "plug_c/connected" and p == b"online", 5)
        took = (time.monotonic() - started) / dev.time_scale
    assert 5.5 <= took <= 11  # observed: 7-8 s (old connection dropped after 4-5 s, online 3 s later)


def test_birth_republishes_the_whole_state_with_the_lights_led_state(sim, broker):
    dev, server, client = sim("bulb", flags=1024)
    apply_template(client, Template(pins={p: PinRole("PWM", i) for i, p in enumerate((26, 24, 6, 8, 7), 1)}))
    client.set_mqtt("127.0.0.1", broker.port, "bulb")
    url = Broker.from_url(broker.url())
    with Session(url) as session:
        session.subscribe("bulb/#", "homeassistant/+/+/config")
        assert _wait(lambda: any(t == "bulb/led_dimmer/get" for t, _, _ in server.mqtt.published))
        time.sleep(10 * dev.time_scale)  # the channels close the first broadcast
        mark = len(server.mqtt.published)
        session.publish("homeassistant/status", "online")
        assert _wait(lambda: any(t == "bulb/led_dimmer/get" for t, _, _ in server.mqtt.published[mark:]))
        again = [t.split("/", 1)[1] for t, _, _ in server.mqtt.published[mark:]]
    assert again[:3] == ["host", "build", "mac"] and "ip" in again
    assert again.index("led_enableAll/get") < again.index("led_basecolor_rgb/get") < again.index("led_dimmer/get")
    assert not [t for t in again if t.endswith("/config")]  # the birth sends no discovery
