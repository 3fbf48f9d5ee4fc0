"""End to end with a real Home Assistant: `freebeken ha setup` on the simulated U3 plug makes a
switch appear in Home Assistant, available, and switching it in Home Assistant clicks the relay."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from freebeken.cli.main import main
from freebeken.device.client import ObkClient
from freebeken.device.config import apply_template
from freebeken.sim.obk.board import board
from freebeken.sim.obk.device import ObkDevice
from freebeken.sim.obk.server import DeviceServer
from freebeken.templates.model import PinRole, Template
from ha_instance import HomeAssistant
from helpers import Mosquitto, free_port, ha_python

pytestmark = [pytest.mark.e2e, pytest.mark.ha, pytest.mark.skipif(ha_python() is None, reason="no .ha-venv: run scripts/test")]


@pytest.fixture(scope="module")
def home_assistant(tmp_path_factory):
    """One Home Assistant (its start is most of a test's time) and its broker for the module: each
    test makes its own device, under its own name, and looks only at that device's entities."""
    broker = Mosquitto(tmp_path_factory.mktemp("broker"))
    ha = HomeAssistant(ha_python(), tmp_path_factory.mktemp("ha"), free_port())
    try:
        ha.onboard()
        ha.add_mqtt(broker.port)
        yield broker, ha
    finally:
        ha.stop()
        broker.stop()


def test_switch_appears_in_home_assistant_and_works(home_assistant):
    broker, ha = home_assistant
    server = DeviceServer(ObkDevice(board("u3"))).start()
    try:
        client = ObkClient(server.address)
        apply_template(client, Template(pins={7: PinRole("Rel", 1), 1: PinRole("LED_n", 1), 8: PinRole("Btn", 1)}))
        result = CliRunner().invoke(
            main, ["--json", "ha", "setup", server.address, "--broker", broker.url(), "--name", "Aoycocr U3"]
        )
        assert result.exit_code == 0, result.output
        record = json.loads(result.output.strip().splitlines()[-1])
        predicted = [e["entity_id"] for e in record["entities"] if e["component"] == "switch"]
        assert predicted == ["switch.aoycocr_u3_1"]

        state = ha.wait_state("switch.aoycocr_u3_1", lambda s: s in ("on", "off"))
        assert state is not None, "Home Assistant did not create the switch we predicted"
        assert state["state"] == "off" and state["attributes"]["friendly_name"] == "aoycocr_u3 1"

        server.device.board.take_events()
        ha.call("switch", "turn_on", {"entity_id": "switch.aoycocr_u3_1"})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and server.device.value(1) != 1:
            time.sleep(0.1)
        assert server.device.value(1) == 1
        assert ("relay", 7, "click on") in server.device.board.take_events()
        assert ha.wait_state("switch.aoycocr_u3_1", lambda s: s == "on")["state"] == "on"

        server.device.click(8)  # the physical button: Home Assistant follows
        assert ha.wait_state("switch.aoycocr_u3_1", lambda s: s == "off")["state"] == "off"
    finally:
        server.stop()


def test_stock_plug_to_home_assistant_configured_while_flashing(home_assistant, tmp_path, releases, monkeypatch):
    """The shortest path: convert writes Wi-Fi and broker while flashing; the plug boots from its
    flash image, joins the broker by itself, and the switch works in a real Home Assistant."""
    from freebeken.convert.wizard import Options, convert
    from freebeken.ha.broker import Broker
    from test_first_boot import PlugOwner

    monkeypatch.setenv("FREEBEKEN_HOME", str(tmp_path / "home"))
    broker, ha = home_assistant
    image = tmp_path / "chip.bin"
    owner = PlugOwner(image, free_port())
    try:
        options = Options(
            port=f"sim://bk7231t?time_scale=0&image={image}",
            wifi_ssid="HomeWiFi",
            wifi_password="secret-pass",
            broker=Broker.from_url(broker.url()),
            name="Hall Plug",
            http_port=owner.http_port,
            first_boot_wait=60,
        )
        result = convert(options, owner)
        assert result["path"] == "configured while flashing" and "switch.hall_plug_1" in result["entities"]
        state = ha.wait_state("switch.hall_plug_1", lambda s: s in ("on", "off"))
        assert state is not None, "Home Assistant did not create the switch"
        device = owner.plugs[0][1].device
        ha.call("switch", "turn_on", {"entity_id": "switch.hall_plug_1"})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and device.value(1) != 1:
            time.sleep(0.1)
        assert device.value(1) == 1 and device.board.is_on(7)  # the relay on P7, from the backup's pins
    finally:
        owner.stop()
