"""``freebeken convert`` for the families behind the seam (RTL8720CF: Tuya WBR2/WBR3; LN882H), on the
family simulators: a sealed plug (a stock-like Tuya flash with its pin configuration) backed up,
analyzed, flashed with the family's release chosen by its bytes, then through OpenBeken's access
point to Home Assistant on the simulated OpenBeken device, presenting as that chip's build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from freebeken.convert import family_plug
from freebeken.convert.journey import Journey
from freebeken.convert.wizard import Options, convert
from freebeken.device.client import ObkClient
from freebeken.errors import FreebekenError, SafetyError
from freebeken.events import ListReporter
from freebeken.families.registry import spec_by_chip
from freebeken.ha.broker import Broker
from freebeken.sim.family_images import STOCK_CONFIG, release_image, stock_image
from helpers import Mosquitto, releases_stub

RELEASES = {"rtl8720cf": "OpenRTL87X0C_1.18.230.bin", "ln882h": "OpenLN882H_1.18.230.bin"}
MAC = {"rtl8720cf": "D4A651A1B2C3", "ln882h": "D4A651C3B2A1"}
# A WBR3 plug as Tuya configures it (relay PA18, LED PA13, button PA14, in OpenBeken's RTL87X0C
# numbering, which is the PAn number): the family simulator's stock configuration.
WBR3_PLUG = STOCK_CONFIG["rtl8720cf"]


def sealed_plug(tmp_path: Path, chip: str, config: dict | None = WBR3_PLUG) -> Path:
    """The flash file of a sealed plug: the family simulator's stock-like Tuya flash, with the
    device's pin configuration in Tuya's encrypted key-value store (None: no configuration)."""
    image = stock_image(chip, 0, bytes.fromhex(MAC[chip]), config if config is not None else {})
    path = tmp_path / f"{chip}-plug.bin"
    path.write_bytes(bytes(image))
    return path


@pytest.fixture
def family_releases(monkeypatch):
    server = releases_stub({name: release_image(chip) for chip, name in RELEASES.items()}, "1.18.230")
    monkeypatch.setenv("FREEBEKEN_RELEASES_URL", f"{server.base}/releases")
    yield
    server.stop()


class Person:
    def __init__(self) -> None:
        self.said: list[str] = []

    def confirm(self, question: str) -> bool:
        self.said.append(question)
        return True

    def pause(self, instruction: str) -> None:
        self.said.append(instruction)

    def ask(self, question: str, default: str = "") -> str:
        raise AssertionError(f"unexpected question: {question}")


def port(chip: str, image: Path, extra: str = "") -> str:
    return f"sim://{chip}?time_scale=0&mac={MAC[chip]}&image={image}{extra}"


def test_a_sealed_wbr3_plug_goes_to_home_assistant_through_the_family_operations(tmp_path, family_releases):
    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    image = sealed_plug(tmp_path, "rtl8720cf")
    stock = image.read_bytes()
    options = Options(
        port=port("rtl8720cf", image),
        wifi_ssid="HomeWiFi",
        wifi_password="secret-pass",
        broker=Broker.from_url(broker.url()),
        name="WBR3 Plug",
        power_simulated=True,
    )
    person, said = Person(), ListReporter()
    try:
        result = convert(options, person, said)
    finally:
        broker.stop()
    # the chip steps went through the families' operations, with their proofs
    assert result["chip"] == "RTL8720CF" and result["firmware"] == RELEASES["rtl8720cf"]
    backup = Path(result["backup"])
    assert backup.read_bytes() == stock and backup.name.startswith("rtl8720cf-D4A651A1B2C3-")
    assert json.loads(backup.with_name(backup.name + ".json").read_text())["mac"] == "D4:A6:51:A1:B2:C3"
    flashed = image.read_bytes()
    release = release_image("rtl8720cf")
    assert family_plug.runs_openbeken(flashed, release, spec_by_chip("rtl8720cf"))
    assert flashed[0x2000:0x3000] == stock[0x2000:0x3000]  # the device's calibration was kept
    assert flashed[len(release) :] == stock[len(release) :]  # nothing past the image was touched
    # analyze read the WBR3's own configuration and proposed OpenBeken's RTL87X0C template
    state = json.loads(Path(result["state_file"]).read_text())
    assert state["steps"]["analyze"]["module"] == "WBR3" and state["steps"]["analyze"]["template"]["chip"] == "RTL87X0C"
    assert not any("cannot flash" in n for n in state["steps"]["analyze"]["notes"])
    # the way after the flash: no configuration written; the access point, as the person was told
    assert result["path"] == "access point" and "configure" not in result["steps"]
    assert any("PA00" in s and "download mode" in s for s in person.said)  # the boot pin, before linking
    assert any("take the wire off PA00" in s and "OpenRTL87X0C_<id>" in s for s in person.said)
    assert result["template"] == {"13": "LED;1", "14": "Btn;1", "18": "Rel;1"}
    assert all(result["steps"].values()) and "switch.wbr3_plug_1" in result["entities"]
    assert any("powered on without the boot pin" in e.message for e in said.events)
    assert family_plug.running(image) is None  # switched off with the command that powered it
    assert result["restore"] == f"freebeken restore -p PORT --chip rtl8720cf {backup}"  # the way back names the chip
    assert any("running `freebeken convert` again powers it on" in e.message for e in said.events)


def test_convert_on_the_command_line_with_the_chip_named(tmp_path, family_releases):
    """``--chip wbr3`` (as the person reads it off the shield); the Wi-Fi goes to its access point."""
    from click.testing import CliRunner

    from freebeken.cli.main import main

    image = sealed_plug(tmp_path, "rtl8720cf")
    args = [
        "--json",
        "convert",
        "-p",
        port("rtl8720cf", image),
        "--chip",
        "wbr3",
        "-y",
        "--wifi-ssid",
        "Home",
        "--wifi-password",
        "pw123456",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    record = json.loads(result.output.strip().splitlines()[-1])
    assert record["chip"] == "RTL8720CF" and record["firmware"] == RELEASES["rtl8720cf"] and record["path"] == "access point"
    assert (
        record["steps"]["wifi"]
        and record["steps"]["template"]
        and record["template"] == {"13": "LED;1", "14": "Btn;1", "18": "Rel;1"}
    )


def test_the_plug_on_its_access_point_presents_as_openbekens_build_for_the_chip(tmp_path, family_releases):
    image = sealed_plug(tmp_path, "ln882h", config=None)
    options = Options(port=port("ln882h", image))
    person = Person()

    class Walks(Person):  # stops at the access point
        def pause(self, instruction: str) -> None:
            super().pause(instruction)
            if "access point" in instruction:
                raise KeyboardInterrupt

    person = Walks()
    with pytest.raises(KeyboardInterrupt):
        convert(options, person)
    assert any("BOOT (PA09) to GND" in s for s in person.said) and any("take BOOT (PA09) off GND" in s for s in person.said)
    journey = Journey.pending_after_flash()
    assert journey is not None and journey.family is not None and journey.family.name == "ln882h"
    assert journey.analyzed is not None and journey.analyzed.template is None  # no stock config: the pin finder's turn
    plug = journey.power_on(ListReporter())
    try:
        info = ObkClient(plug.address).info()
        assert info.chipset == "LN882H" and info.mac.replace(":", "").upper() == MAC["ln882h"]
        assert plug.boot.mode == "access point" and plug.buttons() == []
    finally:
        journey.power_off()
    assert journey.view()["simulated"]["powered"] is False


def test_a_beken_release_or_a_stock_flash_is_refused_and_a_flash_that_lost_the_firmware_does_not_boot(tmp_path, family_releases):
    from helpers import firmware_file

    image = sealed_plug(tmp_path, "rtl8720cf")
    beken, _ = firmware_file(tmp_path, "bk7231n")
    with pytest.raises(SafetyError, match="this chip is an RTL8720CF"):  # the bytes decide, before a write
        convert(Options(port=port("rtl8720cf", image), firmware=str(beken)), Person())
    assert json.loads(next((tmp_path / "home" / "convert").glob("*.json")).read_text())["steps"].keys() == {
        "detect",
        "backup",
        "analyze",
    }
    with pytest.raises(Exception, match="does not hold"):  # a stock flash boots its stock firmware, not OpenBeken
        family_plug.power_on(image, spec_by_chip("rtl8720cf"), _release(tmp_path), MAC["rtl8720cf"])


def _release(tmp_path: Path) -> Path:
    path = tmp_path / RELEASES["rtl8720cf"]
    path.write_bytes(release_image("rtl8720cf"))
    return path


def test_a_flash_cut_by_a_power_loss_resumes_when_convert_runs_again(tmp_path, family_releases):
    image = sealed_plug(tmp_path, "rtl8720cf")

    class StopsAtTheAccessPoint(Person):
        def pause(self, instruction: str) -> None:
            super().pause(instruction)
            if "access point" in instruction:
                raise KeyboardInterrupt

    with pytest.raises(FreebekenError):  # the power goes in the middle of the write: an error in words
        convert(Options(port=port("rtl8720cf", image, "&power_cut_after=3000")), StopsAtTheAccessPoint())
    state = next((tmp_path / "home" / "convert").glob("*.json"))
    assert set(json.loads(state.read_text())["steps"]) == {"detect", "backup", "analyze"}
    with pytest.raises(KeyboardInterrupt):
        convert(Options(port=port("rtl8720cf", image)), StopsAtTheAccessPoint())
    flashed = json.loads(state.read_text())["steps"]["flash"]
    assert flashed["resumed"] is True and flashed["firmware"] == RELEASES["rtl8720cf"]
    assert family_plug.runs_openbeken(image.read_bytes(), release_image("rtl8720cf"), spec_by_chip("rtl8720cf"))
    assert len(list((tmp_path / "home" / "backups").glob("rtl8720cf-*.bin"))) == 1  # the first run's backup stood
