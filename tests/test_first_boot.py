"""First boot already configured (issue 14): the configuration is written while flashing and the
simulated plug boots from its flash image - no step of the journey is told anything another way."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from freebeken.cli.main import main
from freebeken.convert.wizard import Options, convert
from freebeken.errors import DeviceError, SafetyError, UsageError
from freebeken.events import NullReporter
from freebeken.firmware import obkconfig
from freebeken.firmware.settings import Settings
from freebeken.flasher import operations as ops
from freebeken.flasher.configure import configure, read_config
from freebeken.ha.broker import Broker
from freebeken.sim.obk.board import board
from freebeken.sim.obk.boot import boot_image, power_on
from helpers import Mosquitto, free_port
from test_convert import APP, ScriptedPerson

WIFI_PASSWORD = "correct-horse-battery"


@pytest.fixture
def broker(tmp_path):
    (tmp_path / "broker").mkdir()
    b = Mosquitto(tmp_path / "broker", users={"ha": "mqtt-secret"})
    yield b
    b.stop()


class PlugOwner(ScriptedPerson):
    """Does what the pause asks: powers the flashed plug (boots its flash image) when told to."""

    def __init__(self, image, http_port: int, networks=None) -> None:
        super().__init__()
        self.image, self.http_port, self.networks = image, http_port, networks
        self.plugs = []

    def pause(self, instruction: str) -> None:
        super().pause(instruction)
        if "power the plug" in instruction:
            self.plugs.append(power_on(self.image, board("u3"), port=self.http_port, networks=self.networks))

    def stop(self) -> None:
        for server, _ in self.plugs:
            if server is not None:  # None: it could not join its Wi-Fi, so it serves nothing
                server.stop()


def test_stock_to_home_assistant_with_no_access_point(tmp_path, releases, broker):
    image = tmp_path / "chip.bin"
    owner = PlugOwner(image, free_port(), {"HomeWiFi": WIFI_PASSWORD})
    options = Options(
        port=f"sim://bk7231t?time_scale=0&image={image}",
        wifi_ssid="HomeWiFi",
        wifi_password=WIFI_PASSWORD,
        broker=Broker.from_url(f"mqtt://ha:mqtt-secret@127.0.0.1:{broker.port}"),
        name="Kitchen Plug",
        http_port=owner.http_port,
        first_boot_wait=30,
    )
    try:
        result = convert(options, owner)
        assert result["path"] == "configured while flashing"
        steps = result["steps"]
        assert steps["configure"] and steps["first_boot"] and steps["home_assistant"]
        assert "wifi" not in steps and not any("join it" in s for s in owner.said)  # no access point
        assert all(steps.values()), steps
        assert result["template"] == {"1": "LED_n;1", "7": "Rel;1", "8": "Btn;1"}  # from the backup, via the sector
        assert "switch.kitchen_plug_1" in result["entities"]
        _, boot = owner.plugs[0]
        assert boot.mode == "station" and boot.device.mqtt["client"] == "kitchen_plug"
        # the secrets are on the chip and nowhere in freebeken's files
        for path in (tmp_path / "home").rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert WIFI_PASSWORD.encode() not in data and b"mqtt-secret" not in data, path
        # `config read` on the dump of the converted chip shows what was written
        out = CliRunner().invoke(main, ["--json", "config", "read", str(image)])
        assert out.exit_code == 0, out.output
        shown = json.loads(out.output.strip().splitlines()[-1])
        assert (shown["wifi_ssid"], shown["mqtt_client"], shown["mqtt_user"]) == ("HomeWiFi", "kitchen_plug", "ha")
        assert shown["wifi_pass"] == "(set, hidden)" and WIFI_PASSWORD not in out.output
        again = convert(options, ScriptedPerson())  # nothing left to do, nothing asked
        assert again["steps"] == steps
    finally:
        owner.stop()


def test_a_wrong_wifi_password_is_diagnosed_not_hidden(tmp_path, releases, broker):
    image = tmp_path / "chip.bin"
    owner = PlugOwner(image, free_port(), {"HomeWiFi": "the-real-password"})
    options = Options(
        port=f"sim://bk7231n?time_scale=0&image={image}",
        wifi_ssid="HomeWiFi",
        wifi_password=WIFI_PASSWORD,
        broker=Broker.from_url(f"mqtt://ha:mqtt-secret@127.0.0.1:{broker.port}"),
        name="Desk",
        http_port=owner.http_port,
        first_boot_wait=2,
    )
    try:
        with pytest.raises(DeviceError, match="did not appear on the broker") as err:
            convert(options, owner)
        assert "password" in err.value.hint and "config read" in err.value.hint
        assert owner.plugs[0][1].mode == "no Wi-Fi" and owner.plugs[0][0] is None  # reachable nowhere
    finally:
        owner.stop()


def test_flash_configure_cli_then_the_image_boots_configured(tmp_path, broker):
    image = tmp_path / "chip.bin"
    firmware = tmp_path / "OpenBK7231N_QIO_1.17.600.bin"
    firmware.write_bytes(b"\xff" * 0x11000 + APP)
    port = f"sim://bk7231n?time_scale=0&image={image}"
    template = tmp_path / "plug.json"
    template.write_text(
        json.dumps({"name": "Strip", "pins": {"6": "Rel;1", "24": "Rel;2", "26": "WifiLED_n;0"}, "command": "PowerSave 1"})
    )
    run = CliRunner().invoke(
        main,
        [
            "--json",
            "flash",
            "-y",
            "-p",
            port,
            str(firmware),
            "--wifi",
            "HomeWiFi",
            "--broker",
            f"mqtt://ha@127.0.0.1:{broker.port}",
            "--name",
            "Power strip",
            "--template",
            str(template),
        ],
        env={"FREEBEKEN_WIFI_PASSWORD": WIFI_PASSWORD, "FREEBEKEN_MQTT_PASSWORD": "mqtt-secret"},
    )
    assert run.exit_code == 0, run.output
    record = json.loads(run.output.strip().splitlines()[-1])
    assert record["configure"]["written"] and record["configure"]["address"] == "0x1D1000"
    assert WIFI_PASSWORD not in run.output and "mqtt-secret" not in run.output
    boot = boot_image(image.read_bytes(), board("strip"))
    dev = boot.device
    assert boot.mode == "station" and dev.chipset == "BK7231N" and dev.long_name == "Power strip"
    assert (dev.role(6), dev.channels[6], dev.role(24), dev.channels[24]) == ("Rel", 1, "Rel", 2)
    assert dev.mqtt == {
        "host": "127.0.0.1",
        "port": broker.port,
        "client": "power_strip",
        "group": "bekens_n",
        "user": "ha",
        "password": "mqtt-secret",
    }
    assert dev.startup == "PowerSave 1" and dev.flags >> 27 & 1
    # flashing the same file again: the firmware is only checked, the configuration already right
    again = CliRunner().invoke(
        main,
        [
            "--json",
            "flash",
            "-y",
            "-p",
            port,
            str(firmware),
            "--wifi",
            "HomeWiFi",
            "--wifi-password",
            WIFI_PASSWORD,
            "--broker",
            f"mqtt://ha:mqtt-secret@127.0.0.1:{broker.port}",
            "--name",
            "Power strip",
            "--template",
            str(template),
        ],
    )
    record = json.loads(again.output.strip().splitlines()[-1])
    assert record["written"] == 0 and not record["configure"]["written"]


def test_config_write_refuses_a_chip_that_may_still_run_tuya(tmp_path):
    image = tmp_path / "chip.bin"
    with ops.open_chip(f"sim://bk7231t?time_scale=0&image={image}", NullReporter()) as io:
        before = image.read_bytes()
        with pytest.raises(SafetyError, match="may still run its Tuya firmware") as err:
            configure(io, Settings(wifi_ssid="HomeWiFi", wifi_password=WIFI_PASSWORD))
        assert err.value.exit_code == 8 and "--configure" in err.value.hint
    assert image.read_bytes() == before
    run = CliRunner().invoke(main, ["config", "read", "-p", f"sim://bk7231t?time_scale=0&image={image}"])
    assert run.exit_code == 13 and "erased" in run.output


def converted_chip(tmp_path, settings: Settings) -> tuple[str, object]:
    """A simulated BK7231T flashed with OpenBeken and configured: (its port, its image file)."""
    image = tmp_path / "chip.bin"
    firmware = tmp_path / "OpenBK7231T_UA_1.17.600.bin"
    firmware.write_bytes(APP)
    port = f"sim://bk7231t?time_scale=0&image={image}"
    with ops.open_chip(port, NullReporter()) as io:
        ops.flash_firmware(io, firmware)
        configure(io, settings, openbeken_written=True)
    return port, image


def test_config_write_changes_only_what_is_given_and_a_damaged_sector_is_named(tmp_path):
    port, image = converted_chip(tmp_path, Settings(wifi_ssid="HomeWiFi", wifi_password=WIFI_PASSWORD, name="Lamp"))
    run = CliRunner().invoke(
        main, ["--json", "config", "write", "-p", port, "--startup", 'backlog echo "a b"; PowerSave 1', "--flag", "37=on"]
    )
    assert run.exit_code == 0, run.output
    with ops.open_chip(port, NullReporter()) as io:
        cfg = read_config(io)
    assert (cfg["wifi_ssid"], cfg["wifi_pass"], cfg["short_name"]) == ("HomeWiFi", WIFI_PASSWORD, "lamp")
    assert cfg["startup"] == 'backlog echo "a b"; PowerSave 1' and cfg.flag(37)  # quotes kept: no tokenizer in the way
    data = bytearray(image.read_bytes())
    data[0x1E1000 + 0x30] ^= 0x40  # a bit flips in the sector
    image.write_bytes(bytes(data))
    run = CliRunner().invoke(main, ["config", "read", str(image)])
    assert run.exit_code == 13 and "damaged" in run.output and "access point" in run.output
    assert boot_image(bytes(data), board("u3")).mode == "access point"  # as the firmware falls back


def test_config_edit_in_the_editor(tmp_path, monkeypatch):
    port, image = converted_chip(tmp_path, Settings(wifi_ssid="HomeWiFi", wifi_password=WIFI_PASSWORD))
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import json, sys\np = sys.argv[1]\nd = json.load(open(p))\nassert d['wifi_pass'] == '(unchanged)'\n"
        "d['wifi_ssid'] = 'Upstairs'\nd['pins'] = {'7': 'Rel;1'}\njson.dump(d, open(p, 'w'))\n"
    )
    monkeypatch.setenv("EDITOR", f"python {editor}")
    run = CliRunner().invoke(main, ["config", "edit", "-y", "-p", port])
    assert run.exit_code == 0, run.output
    assert "wifi_ssid" in run.output and "pins" in run.output
    cfg = obkconfig.parse(image.read_bytes()[0x1E1000:0x1E2000])
    assert cfg["wifi_ssid"] == "Upstairs" and cfg["wifi_pass"] == WIFI_PASSWORD and cfg.pins() == {7: (1, 1, 0)}


def test_a_plug_without_configuration_opens_its_access_point(tmp_path):
    firmware = tmp_path / "OpenBK7231T_UA_1.17.600.bin"
    firmware.write_bytes(APP)
    image = tmp_path / "chip.bin"
    with ops.open_chip(f"sim://bk7231t?time_scale=0&image={image}", NullReporter()) as io:
        ops.flash_firmware(io, firmware)
    boot = boot_image(image.read_bytes(), board("u3"))
    assert boot.mode == "access point" and "erased" in boot.why
    assert boot.device.long_name.startswith("OpenBK7231T_") and boot.device.mqtt["host"] == ""
    blank = bytearray(image.read_bytes())
    blank[0x11000:0x12000] = b"\xff" * 0x1000
    with pytest.raises(UsageError, match="application area is empty"):
        boot_image(bytes(blank), board("u3"))
    with pytest.raises(UsageError, match="no Beken RF calibration sector"):
        boot_image(b"\xff" * 0x200000, board("u3"))


def test_a_bad_edit_goes_back_into_the_editor_with_the_text_kept(tmp_path, monkeypatch):
    port, image = converted_chip(tmp_path, Settings(wifi_ssid="HomeWiFi", wifi_password=WIFI_PASSWORD))
    seen = tmp_path / "seen"
    editor = tmp_path / "editor.py"
    # 1st round: a trailing comma (invalid JSON); 2nd round: the kept text shows that edit, and is fixed
    editor.write_text(
        "import sys, pathlib\np = pathlib.Path(sys.argv[1]); t = p.read_text()\n"
        f"seen = pathlib.Path({str(seen)!r})\n"
        "if not seen.exists():\n    seen.write_text('1'); p.write_text(t.replace('\"HomeWiFi\"', '\"Attic\",', 1))\n"
        "else:\n    assert '\"Attic\",' in t; p.write_text(t.replace('\"Attic\",', '\"Attic\"', 1))\n"
    )
    monkeypatch.setenv("EDITOR", f"python {editor}")
    run = CliRunner().invoke(main, ["config", "edit", "-p", port], input="y\ny\n")
    assert run.exit_code == 0, run.output
    assert "Edit it again" in run.output
    assert obkconfig.parse(image.read_bytes()[0x1E1000:0x1E2000])["wifi_ssid"] == "Attic"
