"""Home Assistant over MQTT against a real mosquitto: setup, check (each diagnosis), remove."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from click.testing import CliRunner

from freebeken.cli.main import main
from freebeken.device.client import ObkClient
from freebeken.device.config import apply_template
from freebeken.events import ListReporter
from freebeken.ha.broker import Broker, BrokerError, Session
from freebeken.ha.check import check, remove
from freebeken.ha.discovery import parse
from freebeken.ha.operations import setup
from freebeken.sim.obk.board import board
from freebeken.sim.obk.device import ObkDevice
from freebeken.sim.obk.hass import discovery
from freebeken.sim.obk.server import DeviceServer
from freebeken.templates.model import PinRole, Template
from helpers import Mosquitto, all_retained_in, free_port

U3 = Template(pins={7: PinRole("Rel", 1), 1: PinRole("LED_n", 1), 8: PinRole("Btn", 1)})


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(tmp_path)
    yield b
    b.stop()


@pytest.fixture
def plug():
    servers = []

    def start(template: Template = U3, board_name: str = "u3") -> tuple[ObkDevice, DeviceServer, ObkClient]:
        dev = ObkDevice(board(board_name))
        server = DeviceServer(dev).start()
        servers.append(server)
        client = ObkClient(server.address)
        apply_template(client, template)
        return dev, server, client

    yield start
    for s in servers:
        s.stop()


def codes(diagnoses):
    return {d.code for d in diagnoses}


def test_setup_end_to_end(broker, plug):
    dev, server, client = plug()
    reporter = ListReporter()
    result = setup(client, Broker.from_url(broker.url()), name="Kitchen Plug", timeout=10, reporter=reporter)
    assert result.problems == [] and result.online
    assert any("without a password" in w.message for w in reporter.kinds("warning"))  # an open broker is named
    assert result.client_id == "kitchen_plug" and dev.mqtt["client"] == "kitchen_plug" and dev.flags >> 27 & 1
    ids = {e.entity_id for e in result.entities}
    assert "switch.kitchen_plug_1" in ids  # the relay, as Home Assistant will name it
    assert all(not e.problems for e in result.entities)
    assert result.round_trip.startswith("ok")
    assert [e for e in dev.board.take_events() if e[0] == "relay"]  # the relay really clicked over MQTT
    assert codes(check(server.address, Broker.from_url(broker.url()))) == {"ok"}


def test_every_payload_kind_the_device_sends_is_valid():
    cases = {
        "relay": Template(pins={6: PinRole("Rel", 1), 7: PinRole("Btn", 1)}),
        "1pwm": Template(pins={6: PinRole("PWM", 1)}),
        "2pwm": Template(pins={6: PinRole("PWM", 1), 7: PinRole("PWM", 2)}),
        "3pwm": Template(pins={6: PinRole("PWM", 1), 7: PinRole("PWM", 2), 8: PinRole("PWM", 3)}),
        "5pwm": Template(pins={p: PinRole("PWM", i) for i, p in enumerate((6, 7, 8, 24, 26), 1)}),
        "dinput": Template(pins={14: PinRole("dInput", 3)}),
        "metering": Template(
            pins={6: PinRole("Rel", 1), 24: PinRole("BL0937CF", 0), 26: PinRole("BL0937CF1", 0), 11: PinRole("BL0937SEL", 0)}
        ),
    }
    for name, template in cases.items():
        dev = ObkDevice(board("u3"))
        for pin, role in template.pins.items():
            dev.set_role(pin, role.role)
            dev.channels[pin] = role.channel or 0
        dev.boot()  # drivers start from the pins at boot (only then): entities follow the drivers
        payloads = discovery(dev)
        assert payloads, name
        for topic, payload in payloads:
            entity = parse(topic, json.loads(json.dumps(payload)))
            assert entity.problems == [], (name, topic, entity.problems)
    assert len(discovery(dev)) == 8 + 1 + 6  # metering: 8 energy sensors, the relay, 6 diagnostics


def test_validator_catches_what_home_assistant_rejects():
    base = {"dev": {"ids": ["x"]}, "~": "plug", "uniq_id": "x_1", "stat_t": "~/1/get"}
    assert "switch needs command_topic" in parse("homeassistant/switch/x_1/config", base).problems
    assert parse("homeassistant/switch/x.1/config", {**base, "cmd_t": "~/1/set"}).component == "?"
    bad_unit = {**base, "dev_cla": "power", "unit_of_meas": "kWh"}
    assert any("unit" in p for p in parse("homeassistant/sensor/x_2/config", bad_unit).problems)
    energy = {**base, "dev_cla": "energy", "unit_of_meas": "Wh", "stat_cla": "measurement"}
    assert any("state class" in p for p in parse("homeassistant/sensor/x_3/config", energy).problems)
    no_ids = {**base, "cmd_t": "~/1/set", "dev": {"name": "x"}}
    assert any("identifiers" in p for p in parse("homeassistant/switch/x_1/config", no_ids).problems)


def test_broker_unreachable_and_bad_credentials(tmp_path, plug):
    closed = f"mqtt://127.0.0.1:{free_port()}"
    assert codes(check("obkplug", Broker.from_url(closed))) == {"broker-unreachable"}
    (tmp_path / "secured").mkdir()
    secured = Mosquitto(tmp_path / "secured", users={"ha": "right"})
    try:
        assert codes(check("obkplug", Broker.from_url(secured.url("ha", "wrong")))) == {"bad-credentials"}
        dev, server, client = plug()
        with pytest.raises(BrokerError, match="refused the login"):
            setup(client, Broker.from_url(secured.url("ha", "wrong")), timeout=5)
        reporter = ListReporter()
        result = setup(client, Broker.from_url(secured.url("ha", "right")), timeout=10, reporter=reporter)
        assert result.problems == [] and dev.mqtt["user"] == "ha" and not reporter.kinds("warning")
    finally:
        secured.stop()


def test_device_not_connected_and_offline(broker, plug):
    url = Broker.from_url(broker.url())
    assert "device-not-connected" in codes(check("never_seen", url))
    dev, server, client = plug()
    setup(client, url, name="plug", timeout=10)
    with Session(url) as session:
        session.subscribe("plug/connected")
        server.mqtt.power_loss()
        assert session.wait_for(lambda t, p: p == b"offline", 10)  # the broker published the last will
    assert "device-offline" in codes(check("plug", url))


def test_prefix_mismatch(broker, plug):
    url = Broker.from_url(broker.url())
    dev, server, client = plug()
    setup(client, url, name="plug", prefix="ha", timeout=10)
    assert "prefix-mismatch" in codes(check("plug", url, prefix="homeassistant"))


def test_ids_home_assistant_rejects(broker, plug):
    url = Broker.from_url(broker.url())
    dev, server, client = plug()
    setup(client, url, name="plug", timeout=10)
    remove("plug", url)
    client.cmd('FriendlyName "Plug.Kitchen"')  # a dot in the long name breaks the discovery topic
    with Session(url) as session:
        session.subscribe("homeassistant/+/+/config", "homeassistant/+/+/+/config")
        client.transport.request("GET", "/ha_discovery?prefix=homeassistant")
        assert session.wait_for(lambda t, p: "Plug.Kitchen" in t, 10)
    assert "bad-ids" in codes(check("plug", url))


def test_template_with_only_buttons_creates_nothing(broker, plug):
    url = Broker.from_url(broker.url())
    dev, server, client = plug(Template(pins={8: PinRole("Btn", 1), 26: PinRole("WifiLED_n", 0)}))
    dev.flags &= ~(1 << 10)  # no diagnostic sensors either
    setup_result = setup(client, url, name="buttons", timeout=3)
    assert setup_result.entities == []
    assert any("nothing to switch or show" in p for p in setup_result.problems)  # not "Verified"
    assert "no-entities" in codes(check(server.address, url))
    cli = CliRunner().invoke(
        main, ["ha", "setup", server.address, "--broker", broker.url(), "--name", "buttons", "--timeout", "3"]
    )
    assert cli.exit_code == 11 and "nothing to switch or show" in cli.output


def test_setup_with_diagnostics_only_is_not_verified(broker, plug):
    """Buttons plus the diagnostic sensors (flag 10): entities exist, but nothing to switch or read."""
    url = Broker.from_url(broker.url())
    dev, server, client = plug(Template(pins={8: PinRole("Btn", 1)}))
    result = setup(client, url, name="buttons2", timeout=5)
    assert result.entities and any("nothing to switch or show" in p for p in result.problems)


def eventually(condition, limit: float):
    """``condition()``'s first true value within ``limit`` seconds (else its last value)."""
    deadline = time.monotonic() + limit
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(0.05)


def retained_of(url, predicate) -> list[str]:
    with Session(url) as session:
        session.subscribe("+/+/+/config", "+/+/+/+/config")
        all_retained_in(session)
        return [t for t, p, r in session.messages if p and predicate(json.loads(p))]


def test_stale_configs_after_rename_and_remove(broker, plug):
    """A rename changes the long name and, by default, the client id: setup clears the old name's
    configs and the old id's retained will itself (issue 29 case 5: no ghosts); check names
    leftovers it did not make; remove says what brings configs back, and a reboot does not."""
    url = Broker.from_url(broker.url())
    dev, server, client = plug()
    assert setup(client, url, name="Old Name", timeout=10).problems == []
    result = setup(client, url, name="New Name", timeout=10)
    assert result.problems == [] and "old_name/connected" in result.cleared
    assert any("Old_Name" in t for t in result.cleared) and not any("New_Name" in t for t in result.cleared)
    assert retained_of(url, lambda d: d.get("~") == "old_name") == []
    with Session(url) as s:
        s.subscribe("old_name/connected")
        all_retained_in(s)
        assert not s.messages  # no ghost left behind
    # leftovers made outside freebeken (an old name of the device, same base topic) are named by check
    with Session(url) as s:
        old = {
            "dev": {"ids": ["Even Older"], "name": "new_name"},
            "~": "new_name",
            "uniq_id": "Even_Older_relay_1",
            "cmd_t": "~/1/set",
            "stat_t": "~/1/get",
        }
        s.publish("homeassistant/switch/Even_Older_relay_1/config", json.dumps(old), retain=True)
    stale = [d for d in check(server.address, url) if d.code == "stale-config"]
    assert len(stale) == 1 and "Even_Older_relay_1" in stale[0].message and "Even Older" in stale[0].message
    result = setup(client, url, name="Third Name", client_id="new_name", timeout=10)  # kept client id
    assert "homeassistant/switch/Even_Older_relay_1/config" in result.cleared and any("New_Name" in t for t in result.cleared)
    assert not [d for d in check(server.address, url) if d.code == "stale-config"]
    result = remove(server.address, url)
    assert result.discovery_off and not dev.flags >> 27 & 1
    assert any("Third_Name" in t for t in result.cleared)
    assert any("scheduleHADiscovery" in w for w in result.comes_back)  # the truth: the firmware ignores flag 27 there
    assert retained_of(url, lambda d: "cu" in d.get("dev", {})) == []
    client.transport.request("POST", "/api/reboot")  # a reboot: with flag 27 on, everything would be announced again
    assert not server.mqtt.connected.is_set()  # it dropped the connection at once
    assert server.mqtt.connected.wait(5)
    time.sleep(40 * dev.time_scale)  # the boot's whole state broadcast and queued discovery would be over
    assert retained_of(url, lambda d: d.get("~") == "new_name") == [], "remove must last (flag 27 off)"
    client.cmd("scheduleHADiscovery 1")  # what remove says brings them back, does
    assert eventually(lambda: retained_of(url, lambda d: d.get("~") == "new_name"), 40 * dev.time_scale + 5)


def test_check_only_listens(broker, plug):
    """ha check never makes the device publish - not even under another prefix."""
    url = Broker.from_url(broker.url())
    dev, server, client = plug()
    setup(client, url, name="plug", timeout=10)
    before = len(server.mqtt.published)
    assert codes(check(server.address, url, prefix="hass")) == {"prefix-mismatch"}
    assert codes(check(server.address, url)) == {"ok"}
    assert len(server.mqtt.published) == before
    assert retained_of(url, lambda d: True) and not [t for t in retained_of(url, lambda d: True) if t.startswith("hass/")]


def test_two_devices_with_one_client_id(broker, plug):
    url = Broker.from_url(broker.url())
    dev_a, server_a, client_a = plug()
    dev_b, server_b, client_b = plug()
    dev_b.mac = "a1b2c3d4e5f6"
    assert setup(client_a, url, name="Kitchen Plug", timeout=10).problems == []
    assert codes(check(server_a.address, url, watch=1.5)) == {"ok"}
    result = setup(client_b, url, name="Kitchen Plug", timeout=8)  # the same name, so the same client id
    assert result.problems and "another device uses the MQTT client id 'kitchen_plug'" in result.problems[0]
    diagnoses = check(server_a.address, url, watch=1.5)
    assert "duplicate-client-id" in codes(diagnoses)
    assert any("A1:B2:C3:D4:E5:F6" in d.message for d in diagnoses if d.code == "duplicate-client-id")


def test_setup_again_waits_for_the_new_connection(broker, plug):
    """The second setup finds the retained "online" of the first connection at once; the firmware
    only reconnects a moment later. Setup must wait for that live "online", and it says so when
    the device never reconnects (here: its new settings point at a broker that is not there)."""
    url = Broker.from_url(broker.url())
    dev, server, client = plug()
    assert setup(client, url, name="plug", timeout=10).problems == []
    connects = [p for t, p, r in server.mqtt.published if t == "plug/connected"]
    result = setup(client, url, name="plug", timeout=10)
    assert result.problems == [] and result.round_trip.startswith("ok")
    assert len([p for t, p, r in server.mqtt.published if t == "plug/connected"]) == len(connects) + 1
    nowhere = dataclasses.replace(url, port=free_port())  # what the device is told; setup itself watches the real broker
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("freebeken.ha.operations.Session", lambda b: Session(url))
        stale = setup(client, nowhere, name="plug", timeout=3)
    assert not stale.online and "left from an earlier connection" in stale.problems[0]


def test_device_reconnects_after_the_broker_restarts(broker, plug):
    url = Broker.from_url(broker.url())
    dev, server, client = plug()
    setup(client, url, name="plug", timeout=10)
    broker.stop()
    time.sleep(0.3)
    broker.start()
    with Session(url) as session:
        session.subscribe("plug/connected", "plug/1/get")
        assert session.wait_for(lambda t, p: t == "plug/connected" and p == b"online", 15) is not None
        session.publish("plug/1/set", "1")
        assert session.wait_for(lambda t, p: t == "plug/1/get" and p == b"1", 5) is not None
    assert dev.value(1) == 1


def test_cli_ha_commands(broker, plug):
    dev, server, client = plug()
    runner = CliRunner()
    result = runner.invoke(
        main, ["--json", "ha", "setup", server.address, "--broker", broker.url(), "--name", "Desk Lamp", "--timeout", "10"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.output.strip().splitlines()[-1])
    assert record["ok"] and "switch.desk_lamp_1" in [e["entity_id"] for e in record["entities"]]
    ok = runner.invoke(main, ["ha", "check", "desk_lamp", "--broker", broker.url()])
    assert ok.exit_code == 0 and "online" in ok.output
    removed = runner.invoke(main, ["--json", "ha", "remove", "desk_lamp", "--broker", broker.url()])
    record = json.loads(removed.output.strip().splitlines()[-1])
    assert record["cleared"] and record["discovery_off"] is False  # a bare client id cannot turn it off
    removed = runner.invoke(main, ["ha", "remove", server.address, "--broker", broker.url()])
    assert removed.exit_code == 0 and "automatic discovery is off" in removed.output
    bad = runner.invoke(main, ["ha", "check", "desk_lamp", "--broker", f"mqtt://127.0.0.1:{free_port()}"])
    assert bad.exit_code == 11 and "what to do" in bad.output


def test_a_stopped_simulated_device_looks_offline(broker, plug, tmp_path):
    """`freebeken sim device` ended by SIGTERM: Home Assistant must see the plug go offline, as
    when a real one loses power (a clean disconnect would leave the retained "online")."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    tool = str(Path(sys.executable).with_name("freebeken"))
    process = subprocess.Popen([tool, "sim", "device"], stdout=subprocess.PIPE, text=True)
    try:
        address = process.stdout.readline().split()[-1]  # "... on 127.0.0.1:PORT"
        url = Broker.from_url(broker.url())
        assert setup(ObkClient(address), url, name="gone", timeout=20).online
        with Session(url) as session:
            session.subscribe("gone/connected")
            assert session.wait_for(lambda t, p: p == b"online", 5)
            process.send_signal(signal.SIGTERM)
            assert session.wait_for(lambda t, p: p == b"offline", 10), "no last will after SIGTERM"
    finally:
        process.kill()
        process.wait()


def test_a_light_gets_its_round_trip_too(broker, plug):
    pwm = Template(pins={p: PinRole("PWM", ch) for p, ch in ((6, 1), (7, 2), (8, 3), (24, 4), (26, 5))})
    dev, server, client = plug(pwm, "bulb")
    result = setup(client, Broker.from_url(broker.url()), name="Desk Bulb", timeout=15)
    assert result.problems == [] and result.round_trip.startswith("ok: cmnd/desk_bulb/led_enableAll")
    assert "light.desk_bulb_light" in {e.entity_id for e in result.entities}


def test_remove_proves_the_configs_are_gone(broker, plug, monkeypatch):
    """A broker that ignores the clearing publishes (an ACL, say) must not get a "cleared"."""
    url = Broker.from_url(broker.url())
    dev, server, client = plug()
    setup(client, url, name="acl", timeout=10)
    real = Session.publish
    monkeypatch.setattr(Session, "publish", lambda self, topic, payload, retain=False: None)
    with pytest.raises(BrokerError, match="still holds"):
        remove("acl", url)
    monkeypatch.setattr(Session, "publish", real)
    assert remove("acl", url).cleared


def test_setup_names_a_driver_that_does_not_run_and_check_diagnoses_it(broker, plug):
    """Issue 29 case 2: BL0937 pins set over HTTP (the firmware starts the driver only at boot):
    setup used to exit 0 with the switch and diagnostics and no energy sensor."""
    dev, server, client = plug()
    for pin, role in ((24, "BL0937CF"), (26, "BL0937CF1"), (11, "BL0937SEL")):
        client.cmd(f"setPinRole {pin} {role}")  # as the web app would, without freebeken's apply
    assert client.drivers() == set()
    url = Broker.from_url(broker.url())
    result = setup(client, url, name="Meter Plug", timeout=10)
    assert result.problems and any("the BL0937 driver is not running" in p for p in result.problems)
    assert "sensor for voltage" in result.expected and len(result.entities) == 7  # everything it did announce, listed
    diagnoses = check(server.address, url)
    assert "driver-not-running" in codes(diagnoses)
    client.cmd("startDriver BL0937")
    result = setup(client, url, name="Meter Plug", timeout=10)
    assert result.problems == [] and len(result.entities) == 15  # all 15, not the first 9


def test_setup_of_an_led_driver_bulb_names_the_driver(broker, plug):
    """Issue 29 case 2: an SM2135 bulb whose driver does not run ended in 'expected light' and ha
    check said only 'wait a minute after a reboot'."""
    dev, server, client = plug(board_name="bulb")
    client.cmd("setPinRole 26 SM2135CLK")
    client.cmd("setPinRole 24 SM2135DAT")
    url = Broker.from_url(broker.url())
    result = setup(client, url, name="Desk Bulb", timeout=10)
    assert any("the SM2135 driver is not running" in p for p in result.problems)
    assert "driver-not-running" in codes(check(server.address, url))
    apply_template(client, Template(pins={26: PinRole("SM2135CLK", 0), 24: PinRole("SM2135DAT", 0)}))
    result = setup(client, url, name="Desk Bulb", timeout=10)
    assert result.problems == [] and [e.entity_id for e in result.entities if e.component == "light"] == ["light.desk_bulb_light"]


def test_check_does_not_take_another_devices_configs_for_sharing_its_address(broker, plug):
    """Issue 29 case 6: two devices at one address (dev.cu http://127.0.0.1/index for both):
    check of one called the other's configs its own stale ones."""
    url = Broker.from_url(broker.url())
    dev_a, server_a, client_a = plug()
    dev_b, server_b, client_b = plug()
    dev_b.mac = "a1b2c3d4e5f6"
    assert setup(client_a, url, name="Plug A", timeout=10).problems == []
    assert setup(client_b, url, name="Plug B", timeout=10).problems == []
    diagnoses = check(server_a.address, url, watch=0.5)
    assert codes(diagnoses) == {"ok"}, [d.message for d in diagnoses]
    assert remove(server_a.address, url).cleared and retained_of(url, lambda d: d.get("~") == "plug_b")  # B's stay


def test_stale_retained_configs_are_not_proof(broker, plug):
    """Issue 29 case 3: after a template change under the same name, setup listed the stale
    switch.kitchen_plug_1 from the last run and not the new _2."""
    dev, server, client = plug()
    url = Broker.from_url(broker.url())
    assert setup(client, url, name="Kitchen Plug", timeout=10).problems == []
    apply_template(client, Template(pins={7: PinRole("Rel", 2), 1: PinRole("LED_n", 2), 8: PinRole("Btn", 2)}))
    stale = [d for d in check(server.address, url, watch=0.5) if d.code == "stale-config"]
    assert len(stale) == 1 and "switch.kitchen_plug_1" in stale[0].message  # check does not count it either
    result = setup(client, url, name="Kitchen Plug", timeout=10)
    ids = [e.entity_id for e in result.entities]
    assert "switch.kitchen_plug_2" in ids and "switch.kitchen_plug_1" not in ids and result.problems == []
    assert result.cleared == ["homeassistant/switch/Kitchen_Plug_relay_1/config"]
    assert not retained_of(url, lambda d: d.get("uniq_id") == "Kitchen_Plug_relay_1")
