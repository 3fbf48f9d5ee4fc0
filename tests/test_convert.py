"""The whole journey on the simulators, and OpenBeken releases from a stand-in API."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from freebeken.chips import CHIPS
from freebeken.cli.main import main
from freebeken.convert.wizard import Options, convert
from freebeken.errors import DeviceUnreachable, LinkError, UsageError
from freebeken.events import ListReporter
from freebeken.firmware.releases import ReleaseError, fetch, list_releases
from freebeken.ha.broker import Broker
from freebeken.sim.obk.board import board
from freebeken.sim.obk.device import ObkDevice
from freebeken.sim.obk.server import DeviceServer
from helpers import SHARED, Mosquitto, free_port, require_shared, standin_apps

APPS = standin_apps()
APP = APPS["bk7231t"]


def test_firmware_list_and_fetch(releases, tmp_path):
    url, state = releases
    assert [r.version for r in list_releases("bk7231t")] == ["1.17.600"]
    assert [r.version for r in list_releases("bk7231t", include_prereleases=True)] == ["1.17.601", "1.17.600"]
    path = fetch("bk7231t")
    assert path.name == "OpenBK7231T_UA_1.17.600.bin" and path.read_bytes() == APP
    state["corrupt"] = True
    assert fetch("bk7231t") == path  # the verified cached copy is reused
    path.unlink()
    with pytest.raises(ReleaseError, match="damaged"):
        fetch("bk7231t")
    with pytest.raises(UsageError):
        fetch("bk7231n", version="9.9.9")
    with pytest.raises(ReleaseError) as err:
        list_releases("bk7231n", url=f"http://127.0.0.1:{free_port()}/releases")
    assert "flash accepts a local file" in err.value.hint
    result = CliRunner().invoke(main, ["--json", "firmware", "list", "--chip", "bk7231n"])
    assert json.loads(result.output.strip().splitlines()[-1])["releases"][0]["asset"] == "OpenBK7231N_QIO_1.17.600.bin"


class ScriptedPerson:
    def __init__(self, confirm: bool = True, accept_defaults: bool = False) -> None:
        self.said: list[str] = []
        self._confirm = confirm
        self._accept_defaults = accept_defaults

    def confirm(self, question: str) -> bool:
        self.said.append(question)
        return self._confirm

    def pause(self, instruction: str) -> None:
        self.said.append(instruction)

    def ask(self, question: str, default: str = "") -> str:
        if self._accept_defaults and default:
            self.said.append(question)
            return default
        raise AssertionError(f"unexpected question: {question}")


def test_convert_end_to_end_with_an_interrupted_flash(tmp_path, releases):
    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    plug = DeviceServer(ObkDevice(board("u3"))).start()  # the plug once it runs OpenBeken
    image = tmp_path / "chip.bin"
    try:
        options = Options(
            port=f"sim://bk7231t?time_scale=0&image={image}&power_cut_after=300",
            wifi_ssid="HomeWiFi",
            wifi_password="secret-pass",
            ap_address=plug.address,
            device=plug.address,
            configure=False,
            broker=Broker.from_url(broker.url()),
            name="Aoycocr U3",
        )
        with pytest.raises(LinkError):  # the power goes away in the middle of flashing
            convert(options, ScriptedPerson())
        state = next((tmp_path / "home" / "convert").glob("*.json"))
        steps = json.loads(state.read_text())["steps"]
        assert set(steps) == {"detect", "backup", "analyze"}
        options.port = f"sim://bk7231t?time_scale=0&image={image}"
        person = ScriptedPerson()
        result = convert(options, person)  # run again: it continues
        assert all(result["steps"].values())
        steps = json.loads(state.read_text())["steps"]
        assert steps["flash"]["resumed"] and steps["flash"]["firmware"] == "OpenBK7231T_UA_1.17.600.bin"
        assert image.read_bytes()[0x11000 : 0x11000 + len(APP)] == APP
        assert result["template"] == {"1": "LED_n;1", "7": "Rel;1", "8": "Btn;1"}
        assert result["entities"] and "switch.aoycocr_u3_1" in result["entities"]
        assert plug.device.wifi == {"ssid": "HomeWiFi", "pass": "secret-pass"}
        assert result["backup"] and result["restore"].startswith("freebeken restore -p PORT ")
        assert any("access point" in s for s in person.said)
        again = convert(options, ScriptedPerson())  # nothing left to do
        assert again["steps"] == result["steps"]
    finally:
        plug.stop()
        broker.stop()


def test_convert_without_backup_needs_consent(tmp_path, releases):
    image = tmp_path / "chip.bin"
    options = Options(port=f"sim://bk7231n?time_scale=0&image={image}", skip_backup=True)
    with pytest.raises(UsageError, match="no backup"):
        convert(options, ScriptedPerson(confirm=False))
    assert not list((tmp_path / "home").glob("backups/*.bin"))


@pytest.mark.parametrize("chip", list(CHIPS))
def test_convert_cli(tmp_path, releases, chip):
    plug = DeviceServer(ObkDevice(board("u3"), chipset=CHIPS[chip].obk_platform)).start()
    try:
        result = CliRunner().invoke(
            main,
            [
                "--json",
                "convert",
                "-p",
                f"sim://{chip}?time_scale=0&image={tmp_path / 'c.bin'}",
                "-y",
                "--wifi-ssid",
                "HomeWiFi",
                "--wifi-password",
                "password1",
                "--ap-address",
                plug.address,
                "--network",
                "127.0.0.0/30",
                "--http-port",
                plug.address.rsplit(":", 1)[1],
            ],
        )
        assert result.exit_code == 0, result.output
        assert "Found the plug at" in result.output  # by the MAC it showed on its access point
        record = json.loads(result.output.strip().splitlines()[-1])
        assert record["steps"]["template"] and not record["steps"]["home_assistant"]
        assert (record["chip"], record["firmware"]) == (chip.upper(), f"{CHIPS[chip].firmware_prefix}1.17.600.bin")
        assert (tmp_path / "c.bin").read_bytes()[0x11000 : 0x11000 + len(APPS[chip])] == APPS[chip]
    finally:
        plug.stop()


def test_convert_asks_for_the_address_when_the_mac_is_not_found(tmp_path, releases):
    """The MAC the plug showed on its access point, and the chip's, match no device on the network:
    the person is asked, with the one device that answered offered as the default."""
    ap = DeviceServer(ObkDevice(board("u3"), mac="0000000000aa")).start()
    home = DeviceServer(ObkDevice(board("u3"), mac="c8478c000002"), host="127.0.0.2").start()
    try:
        options = Options(
            port=f"sim://bk7231t?time_scale=0&image={tmp_path / 'c.bin'}",
            wifi_ssid="HomeWiFi",
            wifi_password="password1",
            ap_address=ap.address,
            network="127.0.0.0/30",
            http_port=int(home.address.rsplit(":", 1)[1]),
            find_wait=0,
        )
        person = ScriptedPerson(accept_defaults=True)
        convert(options, person)
        question = person.said[-1]
        assert "MAC 00:00:00:00:00:AA" in question and f"{home.address} (obk43F310, MAC C8:47:8C:00:00:02)" in question
        state = json.loads(next((tmp_path / "home" / "convert").glob("*.json")).read_text())
        assert state["steps"]["wifi"]["device"] == home.address and state["steps"]["template"]
    finally:
        ap.stop()
        home.stop()


def test_convert_continues_after_the_plug_left_its_access_point(tmp_path, releases):
    """Wi-Fi was sent, then the run stopped (the plug could not be reached): the next run must not
    go back to the access point, which no longer exists."""
    ap = DeviceServer(ObkDevice(board("u3"))).start()
    chip = f"sim://bk7231t?time_scale=0&image={tmp_path / 'c.bin'}"
    options = Options(
        port=chip, wifi_ssid="HomeWiFi", wifi_password="password1", ap_address=ap.address, device=f"127.0.0.1:{free_port()}"
    )
    try:
        with pytest.raises(DeviceUnreachable):
            convert(options, ScriptedPerson())
        assert ap.device.wifi == {"ssid": "HomeWiFi", "pass": "password1"}
    finally:
        ap.stop()  # the plug restarted into station mode: its access point is gone
    home = DeviceServer(ObkDevice(board("u3")), host="127.0.0.2").start()
    try:
        options.device = None
        options.network, options.http_port = "127.0.0.2/32", int(home.address.rsplit(":", 1)[1])
        person = ScriptedPerson()
        result = convert(options, person)
        assert not any("access point" in s for s in person.said)
        assert result["steps"]["wifi"] and result["steps"]["template"]
    finally:
        home.stop()


def test_convert_continues_without_the_adapter_once_the_chip_steps_are_done(tmp_path, releases):
    """The person was told to disconnect the adapter after the flash: the next run must not need
    the chip (before, it linked first and failed with exit 4)."""
    ap = DeviceServer(ObkDevice(board("u3"))).start()
    chip = f"sim://bk7231t?time_scale=0&image={tmp_path / 'c.bin'}"
    options = Options(
        port=chip, wifi_ssid="HomeWiFi", wifi_password="password1", ap_address=ap.address, device=f"127.0.0.1:{free_port()}"
    )
    try:
        with pytest.raises(DeviceUnreachable):
            convert(options, ScriptedPerson())  # flashed, Wi-Fi sent, then the plug was not reachable
    finally:
        ap.stop()
    home = DeviceServer(ObkDevice(board("u3")), host="127.0.0.2").start()
    try:
        options.port = "sim://bk7231t?time_scale=0&dead=1"  # adapter no longer wired to the plug
        options.device = home.address
        result = convert(options, ScriptedPerson())
        assert result["steps"]["template"] and result["steps"]["flash"]
        options.port = None  # and without any port at all: the finished conversion is not pending
        with pytest.raises(UsageError, match="needs the serial port"):
            convert(options, ScriptedPerson())
    finally:
        home.stop()


def test_locate_follows_this_computer_onto_the_home_network(monkeypatch):
    """The person continued before this computer had rejoined the home Wi-Fi: first there is no
    network, then the plug's access point network, then the home network (all loopback here)."""
    from freebeken.convert import wizard
    from freebeken.device.discover import parse_networks
    from freebeken.events import ListReporter

    home = DeviceServer(ObkDevice(board("u3")), host="127.0.0.2").start()
    rounds = iter([None, parse_networks(["127.0.0.1/32"]), parse_networks(["127.0.0.2/32"])])

    def local_networks():
        nets = next(rounds)
        if nets is None:
            raise UsageError("This computer seems to have no network connection", hint="Connect to the Wi-Fi the plug joined.")
        return nets

    monkeypatch.setattr(wizard, "local_networks", local_networks)
    try:
        reporter = ListReporter()
        options = Options(ap_address="127.0.0.1:1", http_port=int(home.address.rsplit(":", 1)[1]), find_wait=30)
        address = wizard._locate(["c8:47:8c:43:f3:10"], options, ScriptedPerson(), reporter)
        assert address == home.address
        warnings = [e.message for e in reporter.kinds("warning")]
        assert any("no network connection" in w for w in warnings) and any(
            "still on the plug's access point" in w for w in warnings
        )
    finally:
        home.stop()


class StopAtTheAccessPoint(ScriptedPerson):
    def pause(self, instruction: str) -> None:
        raise KeyboardInterrupt(instruction)  # the person stops once the plug is flashed


def test_a_second_plug_that_loses_power_mid_flash_is_not_taken_for_the_first(tmp_path, releases):
    """Plug A waits at "On your Wi-Fi"; plug B, another chip, loses power while it is written. That
    is plug B's error (exit code and all), never "no chip on the adapter: continuing plug A"."""
    from freebeken.events import ListReporter
    from freebeken.sim.image import build_stock_image

    plug_a = f"sim://bk7231t?time_scale=0&image={tmp_path / 'a.bin'}"
    with pytest.raises(KeyboardInterrupt):
        convert(Options(port=plug_a, configure=False), StopAtTheAccessPoint())
    journeys = tmp_path / "home" / "convert"
    [a_state] = journeys.glob("*.json")
    a_before = a_state.read_bytes()

    b_image = tmp_path / "b.bin"
    b_image.write_bytes(build_stock_image(CHIPS["bk7231t"], mac=bytes.fromhex("C8478C00000B")))
    reporter = ListReporter()
    with pytest.raises(LinkError):
        convert(
            Options(port=f"sim://bk7231t?time_scale=0&image={b_image}&power_cut_after=300", configure=False),
            ScriptedPerson(),
            reporter,
        )
    said = " ".join(e.message for e in reporter.events)
    assert "continuing the conversion" not in said and "C8:47:8C:00:00:0B" in said
    assert a_state.read_bytes() == a_before  # plug A's journey is untouched
    b_steps = json.loads((journeys / "BK7231T-C8478C00000B.json").read_text())["steps"]
    assert set(b_steps) == {"detect", "backup", "analyze"}  # B stopped in its flash, and says so


def test_the_simulated_plug_boots_by_itself_and_a_rerun_takes_the_address_given(tmp_path, releases):
    """The configured path on a simulated chip with nobody powering the plug: it boots from its
    image when the adapter is 'removed' and is found at the host:port it serves (said on the broker).
    A re-run's --device replaces the remembered address (proven first); --forget starts over."""
    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    other = DeviceServer(ObkDevice(board("u3"))).start()  # the same plug, moved to another address
    image = tmp_path / "chip.bin"
    options = Options(
        port=f"sim://bk7231t?time_scale=0&image={image}",
        wifi_ssid="HomeWiFi",
        wifi_password="secret-pass",
        broker=Broker.from_url(broker.url()),
        name="Desk Plug",
        power_simulated=True,
        first_boot_wait=30,
    )
    try:
        result = convert(options, ScriptedPerson())
        assert all(result["steps"].values()) and "switch.desk_plug_1" in result["entities"]
        served = result["device"]
        assert served.startswith("127.0.0.1:") and served != "127.0.0.1:80"
        from freebeken.sim import plug as sim_plug

        assert sim_plug.running(image) is None  # switched off with the command that powered it
        events = ListReporter()
        assert convert(options, ScriptedPerson(), events)["device"] == served  # powered again, on the port it had
        assert any(f"serves at {served}" in e.message for e in events.events)
        options.device = other.address
        again = convert(options, ScriptedPerson())
        assert again["device"] == other.address  # not the remembered one
        options.device = f"127.0.0.1:{free_port()}"  # an address where nothing answers is not kept
        with pytest.raises(DeviceUnreachable):
            convert(options, ScriptedPerson())
        state = next((tmp_path / "home" / "convert").glob("*.json"))
        assert json.loads(state.read_text())["steps"]["first_boot"]["device"] == other.address
        options.device, options.forget = None, True
        events = ListReporter()
        fresh = convert(options, ScriptedPerson(), events)
        assert any("Starting this plug's conversion over" in e.message for e in events.events)
        assert any("existing backup" in e.message or "matches" in e.message for e in events.events)  # its backup stayed
        assert all(fresh["steps"].values()) and fresh["device"].startswith("127.0.0.1:") and fresh["device"] != other.address
    finally:
        other.stop()
        broker.stop()


def test_offline_convert_says_how_to_bring_the_file_without_library_text(tmp_path, monkeypatch):
    monkeypatch.setenv("FREEBEKEN_RELEASES_URL", f"http://127.0.0.1:{free_port()}/releases")
    result = CliRunner().invoke(
        main,
        [
            "convert",
            "-p",
            f"sim://bk7231t?time_scale=0&image={tmp_path / 'c.bin'}",
            "-y",
            "--wifi-ssid",
            "HomeWiFi",
            "--wifi-password",
            "password1",
            "--no-configure",
        ],
    )
    assert result.exit_code == ReleaseError.exit_code, result.output
    text = " ".join(result.output.split())
    assert "Cannot download OpenBeken for the BK7231T (connection refused)" in text
    assert "--firmware OpenBK7231T_UA_<version>.bin" in text and "urlopen" not in text and "Errno" not in text
    for words in (["firmware", "fetch", "--chip", "bk7231n"], ["firmware", "list", "--chip", "bk7231n"]):
        result = CliRunner().invoke(main, words)
        text = " ".join(result.output.split())
        assert (
            result.exit_code == ReleaseError.exit_code
            and "Cannot download OpenBeken for the BK7231N (connection refused)" in text
        )
        assert "`freebeken flash -p PORT OpenBK7231N_QIO_<version>.bin`" in text and "urlopen" not in text


def test_lookup_on_the_command_line_answers_from_the_list_that_works(tmp_path):
    devices = SHARED / "data" / "devices.json"
    require_shared("data/devices.json")
    result = CliRunner().invoke(main, ["lookup", "aoycocr", "u3", "--firmware", "1.1.8", "--devices-json", str(devices)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "tuya-cloudcutter not checked: Cannot download the cloudcutter list (connection refused)" in text
    assert "Aoycocr U3 UK Smart Plug (BK7231T): P" in text and "wiki: http" in text
    result = CliRunner().invoke(main, ["lookup", "aoycocr"])
    assert result.exit_code == 14 and "Neither public list can be read" in result.output
