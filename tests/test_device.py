"""OBK client against the simulated device: quirks, auth, errors; apply; save/restore; pin finder."""

from __future__ import annotations

import json
import socket
import threading
import urllib.request

import pytest
from click.testing import CliRunner

from freebeken.cli.main import main
from freebeken.device.client import ObkClient
from freebeken.device.config import DeviceConfig, apply_template, restore_config, save_config
from freebeken.device.pinfinder import PinFinder, candidates
from freebeken.errors import DeviceAuthError, DeviceCommandError, DeviceError, DeviceUnreachable, UsageError
from freebeken.sim.obk.board import board
from freebeken.sim.obk.device import ObkDevice
from freebeken.sim.obk.person import VirtualPerson
from freebeken.sim.obk.server import DeviceServer
from freebeken.templates.model import PinRole, Template, load

U3 = Template(vendor="Aoycocr", name="UK Smart Plug", pins={7: PinRole("Rel", 1), 1: PinRole("LED_n", 1), 8: PinRole("Btn", 1)})


@pytest.fixture
def sim():
    servers = []

    def start(name: str = "u3", **kw) -> tuple[ObkDevice, DeviceServer]:
        dev = ObkDevice(board(name), **kw)
        server = DeviceServer(dev).start()
        servers.append(server)
        return dev, server

    yield start
    for s in servers:
        s.stop()


def raw(address: str, request: bytes) -> bytes:
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(request)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


# ---- wire format (reference §2.1, §2.3) ----


def test_reply_bytes_match_the_firmware(sim):
    _, server = sim()
    reply = raw(server.address, b"GET /api/info HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.startswith(
        b"HTTP/1.1 200 OK\nContent-type: application/json\r\nAccess-Control-Allow-Origin: *\r\n"
        b"Access-Control-Allow-Headers: Origin, X-Requested-With, Content-Type, Accept\r\nConnection: close\r\n\r\n{"
    )
    assert b"Content-Length" not in reply  # the body ends at EOF
    info = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    assert set(info) >= {"uptime_s", "build", "ip", "mac", "flags", "mqtthost", "mqtttopic", "chipset", "shortName", "startcmd"}
    assert isinstance(info["flags"], str) and info["flags"] == "1024"
    bad = raw(server.address, b"POST /api/cmnd HTTP/1.1\r\nContent-Length: 5\r\n\r\nBogus")
    assert bad.startswith(b"HTTP/1.1 501 OK\n") and bad.endswith(b'{"error":501, "msg":"Unknown command", "res":{}}')
    ok = raw(server.address, b"POST /api/cmnd HTTP/1.1\r\nContent-Length: 8\r\n\r\nPower on")
    assert ok.endswith(b'{"success":200, "msg":"OK", "res":{"POWER":"ON"}}')
    assert raw(server.address, b"OPTIONS /api/info HTTP/1.1\r\n\r\n").endswith(b"Connection: close\r\n\r\n")
    with urllib.request.urlopen(f"http://{server.address}/api/pins") as r:  # stdlib clients cope too
        pins = json.loads(r.read())
    assert pins["rolenames"][0] == " " and len(pins["roles"]) == 29 and "channels2" not in pins


def test_api_channels_repeats_keys_and_client_copes(sim):
    dev, server = sim()
    client = ObkClient(server.address)
    client.backlog(["backlog setPinRole 7 Rel; setPinChannel 7 1", "backlog setPinRole 8 Btn; setPinChannel 8 1"])
    assert raw(server.address, b"GET /api/channels HTTP/1.1\r\n\r\n").endswith(b'{"1":0,"1":0}')
    assert client.channels() == {1: 0}


def test_long_cm_commands_run_twice_so_the_client_refuses_them(sim):
    dev, server = sim()
    client = ObkClient(server.address)
    client.cm("SetChannel 5 1")
    long = "backlog addChannel 20 1; echo " + "x" * 120
    raw(server.address, f"GET /cm?cmnd={urllib.request.quote(long)} HTTP/1.1\r\n\r\n".encode())
    assert dev.value(20) == 2  # the firmware quirk, reproduced
    with pytest.raises(ValueError):
        client.cm(long)
    client.cmd(long)
    assert dev.value(20) == 3  # POST /api/cmnd runs it once


def test_pin_roles_take_short_names_only(sim):
    _, server = sim()
    client = ObkClient(server.address)
    for bad in ("SetPinRole 7 Relay", "SetPinRole 7 1"):
        with pytest.raises(DeviceCommandError) as err:
            client.cmd(bad)
        assert err.value.code == 400
    with pytest.raises(DeviceCommandError) as err:
        client.cmd("SetPinRole 7")
    assert "Not enough arguments" in str(err.value)
    with pytest.raises(DeviceCommandError) as err:
        client.cmd("Frobnicate 1")
    assert err.value.code == 501


def test_auth(sim):
    _, server = sim(web_password="secret1")
    with pytest.raises(DeviceAuthError, match="needs its web password") as missing:
        ObkClient(server.address).info()
    assert "--password" in missing.value.hint
    with pytest.raises(DeviceAuthError, match="refused the web password") as wrong:
        ObkClient(server.address, password="wrong").info()
    assert "password is wrong" in wrong.value.hint and "Pass it" not in wrong.value.hint
    assert ObkClient(server.address, password="secret1").info().chipset == "BK7231T"
    reply = raw(server.address, b"GET /api/info HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 401") and b'WWW-Authenticate: Basic realm="OpenBeken HTTP Server"' in reply


def test_unreachable_and_silent_devices():
    with pytest.raises(DeviceUnreachable) as err:
        ObkClient("127.0.0.1:1").info()
    assert "freebeken device find" in err.value.hint and "router" not in err.value.hint
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    held = []
    threading.Thread(target=lambda: held.append(listener.accept()), daemon=True).start()
    with pytest.raises(DeviceUnreachable, match="did not answer"):
        ObkClient(f"127.0.0.1:{port}", timeout=0.5).info()
    listener.close()


def test_mqtt_settings_quirks(sim):
    dev, server = sim()
    client = ObkClient(server.address)
    client.set_mqtt("192.0.2.1", 1884, client="u3plug", user="ha", password="pw")
    assert dev.mqtt == {"host": "192.0.2.1", "port": 1884, "client": "u3plug", "group": "", "user": "ha", "password": "pw"}
    client.set_mqtt("192.0.2.9", 1883)  # empty user/password cannot clear them
    assert dev.mqtt["user"] == "ha" and client.info().mqtt_host == "192.0.2.9:1883"


# ---- apply, save, restore ----


def test_apply_template_replays_like_the_web_app_and_verifies(sim):
    dev, server = sim()
    client = ObkClient(server.address)
    client.cmd("backlog setPinRole 20 Rel; setPinChannel 20 5")
    saved, sent = apply_template(client, U3)
    assert sent[:2] == ["ClearIO", 'StartupCommand ""'] and "stopDriver *" not in sent  # drivers keep running
    assert client.pins().configured() == {1: ("LED_n", 1, 0), 7: ("Rel", 1, 0), 8: ("Btn", 1, 0)}
    assert saved.pins == {20: PinRole("Rel", 5)}
    dev.click(8)  # the button now toggles the relay, which clicks
    assert ("relay", 7, "click on") in dev.board.take_events()
    restore_config(client, saved)
    assert client.pins().configured() == {20: ("Rel", 5, 0)}


def test_a_template_the_device_rejects_is_rolled_back(sim):
    _, server = sim()
    client = ObkClient(server.address)
    client.cmd("backlog setPinRole 20 Rel; setPinChannel 20 5")
    bad = Template(pins={7: PinRole("Rel", 1), 9: PinRole("NoSuchRole", 1)})
    with pytest.raises(DeviceError, match="did not take the template"):
        apply_template(client, bad)
    assert client.pins().configured() == {20: ("Rel", 5, 0)}


def test_template_with_flags_and_startup_command(sim):
    _, server = sim()
    client = ObkClient(server.address)
    [(t, _)] = load(
        json.dumps(
            {
                "name": "bulb",
                "flags": "1026",
                "command": "LED_Map 2 1 0 4 3\r\nSM2135_Current 20 50",
                "pins": {"26": "SM2135DAT;0", "8": "SM2135CLK;0"},
            }
        )
    )
    apply_template(client, t)
    info = client.info()
    assert info.flags == 1026 and info.startup_command == "LED_Map 2 1 0 4 3\r\nSM2135_Current 20 50"


def test_save_restore_round_trip(sim):
    dev, server = sim()
    client = ObkClient(server.address)
    apply_template(client, U3)
    client.set_channel(1, 1)
    saved = save_config(client)
    assert DeviceConfig.from_json(saved.to_json()).pins == saved.pins
    client.cmd("ClearIO")
    client.set_channel(1, 0)
    restore_config(client, DeviceConfig.from_json(saved.to_json()))
    assert client.pins().configured() == {1: ("LED_n", 1, 0), 7: ("Rel", 1, 0), 8: ("Btn", 1, 0)}
    assert client.get_channel(1) == 1


@pytest.mark.parametrize(
    "text,why",
    [
        ('{"name": "U3", "pins": {"7": "Rel;1"}}', "Not a configuration saved"),  # a template, not a save
        ('{"freebeken": "device-config", "pins": {"7": ""}, "flags": 0, "startup": "", "values": {}}', "Role;channel"),
        ('{"freebeken": "device-config", "pins": {}, "flags": "x", "startup": "", "values": {}}', "ValueError"),
        ("[1, 2]", "Not a configuration saved"),
    ],
)
def test_a_wrong_saved_configuration_is_refused_with_a_hint(text, why):
    with pytest.raises(UsageError, match=why) as err:
        DeviceConfig.from_json(text)
    assert "device save" in err.value.hint


def test_saved_roles_are_kept_as_the_device_named_them():
    text = '{"freebeken": "device-config", "pins": {"7": "NewRole2030;3;4"}, "flags": 0, "startup": "", "values": {}}'
    assert DeviceConfig.from_json(text).pins == {7: PinRole("NewRole2030", 3, 4)}


# ---- pin finder ----


@pytest.mark.parametrize(
    "name,expected",
    [
        ("u3", {"1": "LED_n;1", "7": "Rel;1", "8": "Btn;1"}),
        ("strip", {"6": "Rel;1", "24": "Rel;2", "7": "Btn;1", "9": "Btn;2", "26": "WifiLED_n;0"}),
        ("bulb", {"26": "PWM;1", "24": "PWM;2", "6": "PWM;3", "8": "PWM;4", "7": "PWM;5"}),
    ],
)
def test_pin_finder_recovers_the_wiring(sim, name, expected):
    dev, server = sim(name)
    client = ObkClient(server.address)
    client.cmd("backlog setPinRole 20 Rel; setPinChannel 20 5")
    before = client.pins().configured()
    result = PinFinder(client, VirtualPerson(server.address), pulse=0).run()
    assert result.template.to_entry()["pins"] == expected
    assert client.pins().configured() == before  # left as found until the user applies
    apply_template(client, result.template)
    assert {str(p): f"{r};{c}" for p, (r, c, _) in client.pins().configured().items()} == expected


def test_pin_finder_abort_restores_the_configuration(sim):
    dev, server = sim()
    client = ObkClient(server.address)
    apply_template(client, Template(pins={20: PinRole("Rel", 5), 22: PinRole("WifiLED", 0)}))
    before = client.pins().configured()

    class Impatient(VirtualPerson):
        def what_happened(self, pin):
            if pin == 8:
                raise KeyboardInterrupt
            return super().what_happened(pin)

    with pytest.raises(KeyboardInterrupt):
        PinFinder(client, Impatient(server.address), pulse=0).run()
    assert client.pins().configured() == before


def test_known_pins_skip_the_sweep(sim):
    dev, server = sim()
    client = ObkClient(server.address)
    result = PinFinder(client, VirtualPerson(server.address), pulse=0).run(known={7: PinRole("Rel", 1)})
    assert result.template.to_entry()["pins"] == {"1": "LED_n;1", "7": "Rel;1", "8": "Btn;1"}
    assert not any(line.startswith("backlog setPinRole 7 ") for line in dev.log)


def test_uart_pins_of_a_running_driver_are_skipped():
    assert 10 in candidates("", set(), set()) and 11 in candidates("", set(), set())
    assert 10 not in candidates("startDriver TuyaMCU", set(), set())
    assert 2 not in candidates("", set(), set())  # not bonded out


# ---- CLI ----


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_cli_device_commands(sim, tmp_path):
    dev, server = sim()
    host = server.address
    template = tmp_path / "u3.json"
    template.write_text(json.dumps(U3.to_entry()))
    result = run("device", "apply", host, str(template), "--save-to", str(tmp_path / "before.json"))
    assert result.exit_code == 0, result.output
    assert "P7" in run("device", "pins", host).output
    assert json.loads(run("--json", "device", "cmd", host, "Power", "on").output.strip().splitlines()[-1])["result"] == {
        "POWER": "ON"
    }
    assert dev.board.is_on(7)
    assert run("device", "save", host, "-o", str(tmp_path / "cfg.json")).exit_code == 0
    assert run("device", "restore", host, str(tmp_path / "before.json")).exit_code == 0
    assert ObkClient(host).pins().configured() == {}
    bad = run("device", "cmd", host, "SetPinRole", "7", "Relay")
    assert bad.exit_code == DeviceError.exit_code and "short names" in bad.output
    assert run("device", "info", "127.0.0.1:1").exit_code == DeviceError.exit_code
    joined = run("device", "wifi", host, "--ssid", "Home", "--wifi-password", "password1")
    assert joined.exit_code == 0 and "device find --mac C8:47:8C:43:F3:10" in joined.output
    assert dev.wifi == {"ssid": "Home", "pass": "password1"}
    away = run("device", "wifi", "127.0.0.1:1", "--ssid", "Home", "--wifi-password", "password1")
    assert away.exit_code == DeviceError.exit_code and "Join the plug's Wi-Fi" in away.output


def test_apply_keeps_its_safety_copy_in_the_data_folder(sim, tmp_path, monkeypatch):
    monkeypatch.setenv("FREEBEKEN_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    dev, server = sim()
    template = tmp_path / "u3.json"
    template.write_text(json.dumps(U3.to_entry()))
    first = run("device", "apply", server.address, str(template))
    second = run("device", "apply", server.address, str(template))
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    copies = sorted((tmp_path / "home" / "device-configs").glob("*-before-template-*.json"))
    assert len(copies) == 2  # one per apply, never replaced
    assert str(copies[0]) in first.output.replace("\n", "") and "freebeken device restore" in first.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "u3.json"]  # nothing left in the current folder
    taken = tmp_path / "taken.json"
    taken.write_text("{}")
    refused = run("device", "apply", server.address, str(template), "--save-to", str(taken))
    assert refused.exit_code == 2 and taken.read_text() == "{}"


def test_cli_pin_finder(sim, tmp_path):
    dev, server = sim()
    out = tmp_path / "found.json"
    result = run("--json", "pins", "find", server.address, "--answers", "sim", "--pulse", "0", "-y", "-o", str(out))
    record = json.loads(result.output.strip().splitlines()[-1])
    assert record["applied"] and record["template"]["pins"] == {"1": "LED_n;1", "7": "Rel;1", "8": "Btn;1"}
    assert json.loads(out.read_text())["pins"]["7"] == "Rel;1"
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"outputs": {"7": "relay", "1": "led"}, "on": {"1": False}, "buttons": 0}))
    result = run("--json", "pins", "find", server.address, "--answers", str(answers), "--pulse", "0")
    assert json.loads(result.output.strip().splitlines()[-1])["template"]["pins"] == {"1": "LED_n;1", "7": "Rel;1"}


def test_buttons_toggle_the_relays_channels_even_when_known_relays_use_other_numbers():
    from freebeken.device.pinfinder import Finding, propose

    found = [Finding(8, "button", False), Finding(9, "button", False), Finding(6, "button", False)]
    template, _ = propose(found, known={7: PinRole("Rel", 5), 24: PinRole("Rel", 2)})
    # relays in channel order: ch 2 (P24), ch 5 (P7); the third button goes to the first relay
    assert {p: (r.role, r.channel) for p, r in template.pins.items() if r.role == "Btn"} == {
        8: ("Btn", 2),
        9: ("Btn", 5),
        6: ("Btn", 2),
    }


@pytest.mark.parametrize("address", ["localhost:abc", "localhost:99999", "localhost:0", "", "http://1.2.3.4/", "a b"])
def test_bad_addresses_are_refused_clearly(address):
    result = run("device", "info", address)
    assert result.exit_code == 2 and "Traceback" not in result.output and "what to do" in result.output


def test_startup_commands_with_quotes_survive_apply_and_restore(sim, tmp_path):
    """The firmware's StartupCommand cuts its argument at the first '"' (captured: `backlog echo
    "a b"; ...` is stored as `backlog echo `); freebeken stores it through /startup_command."""
    dev, server = sim()
    client = ObkClient(server.address)
    client.cmd('StartupCommand "backlog echo "a b"; SetChannel 1 1"')
    assert client.info().startup_command == "backlog echo "  # the simulated console is as picky as the firmware
    command = 'backlog echo "a b"; SetChannel 1 1'
    template = Template(pins={7: PinRole("Rel", 1)}, command=command)
    saved, _ = apply_template(client, template)
    assert client.info().startup_command == command
    restore_config(client, DeviceConfig.from_json(DeviceConfig({7: PinRole("Rel", 1)}, 0, command, {}, {}).to_json()))
    assert client.info().startup_command == command
    too_long = Template(pins={7: PinRole("Rel", 1)}, command="x" * 1568)
    before = client.info().startup_command
    with pytest.raises(UsageError, match="at most 1567"):
        apply_template(client, too_long)
    assert client.info().startup_command == before  # refused before anything changed


def test_apply_restore_and_pin_finder_leave_the_drivers_running(sim, tmp_path):
    """Real firmware: `stopDriver *` stops every driver until reboot, and a startup command only
    runs at boot. A metering plug's BL0942 and the user's NTP must run on afterwards."""
    dev, server = sim()
    client = ObkClient(server.address)
    client.set_startup_command("backlog startDriver BL0942; startDriver NTP")
    client.cmd("startDriver BL0942")
    client.cmd("startDriver NTP")
    assert client.drivers() == {"BL0942", "NTP"}
    saved = save_config(client)
    assert saved.drivers == ["BL0942", "NTP"]
    # a new template whose startup command starts TuyaMCU instead of BL0942
    apply_template(client, Template(pins={7: PinRole("Rel", 1)}, command="backlog startDriver TuyaMCU; startDriver NTP"))
    assert client.drivers() == {"TuyaMCU", "NTP"}  # BL0942 replaced, NTP kept, TuyaMCU running now
    restore_config(client, DeviceConfig.from_json(saved.to_json()))
    assert {"BL0942", "NTP"} <= client.drivers()
    PinFinder(client, VirtualPerson(server.address), pulse=0).run()
    assert {"BL0942", "NTP"} <= client.drivers()
