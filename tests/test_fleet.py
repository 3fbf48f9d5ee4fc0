"""Fleets through a real mosquitto: list, configuration backup, over-the-air update with a canary,
a failed canary, a device dying mid-update, an image for another chip, shared client ids."""

from __future__ import annotations

import json
import threading
import time

import pytest
from click.testing import CliRunner

from freebeken.cli.main import main
from freebeken.device.client import ObkClient
from freebeken.device.config import DeviceConfig, apply_template
from freebeken.errors import UsageError
from freebeken.firmware.ota import build_rbl, read_ota
from freebeken.fleet.inventory import inventory
from freebeken.fleet.update import update_fleet
from freebeken.ha.broker import Broker, Session
from freebeken.sim.obk.board import board
from freebeken.sim.obk.device import ObkDevice
from freebeken.sim.obk.server import DeviceServer
from freebeken.templates.model import PinRole, Template
from helpers import Mosquitto

U3 = Template(pins={7: PinRole("Rel", 1), 8: PinRole("Btn", 1)})


@pytest.fixture
def broker(tmp_path):
    folder = tmp_path / "broker"
    folder.mkdir()
    b = Mosquitto(folder)
    yield b
    b.stop()


@pytest.fixture
def plugs(broker):
    servers: list[DeviceServer] = []

    def start(n: int, chipset: str = "BK7231N", **attrs) -> list[DeviceServer]:
        started = []
        for _ in range(n):
            mac = f"c8478c00{len(servers):04x}"
            dev = ObkDevice(board("u3"), chipset=chipset, mac=mac, short_name=f"plug{len(servers)}", reboot_seconds=2.0, **attrs)
            dev.mqtt.update(host="127.0.0.1", port=broker.port, client=f"plug{len(servers)}", user="", password="")
            server = DeviceServer(dev, advertise_port=True).start()
            apply_template(ObkClient(server.address), U3)
            servers.append(server)
            started.append(server)
        with Session(Broker("127.0.0.1", broker.port)) as watch:  # until the broker holds each one's "online"
            watch.subscribe("+/connected")
            for server in started:
                topic = f"{server.device.mqtt['client']}/connected"
                assert watch.wait_for(lambda t, p, topic=topic: t == topic and p == b"online", 10)
        return started

    yield start
    stoppers = [threading.Thread(target=s.stop) for s in servers]  # each stop waits for its poll loop
    for t in stoppers:
        t.start()
    for t in stoppers:
        t.join()


def image(version: str = "1.18.0", chip: str = "BK7231N", tmp_path=None) -> object:
    data = build_rbl(version, bytes(range(256)) * 512)
    name = f"Open{chip}_{version}.rbl"
    if tmp_path is not None:
        (tmp_path / name).write_bytes(data)
        return tmp_path / name
    return read_ota(name, data)


def url(broker) -> str:
    return f"mqtt://127.0.0.1:{broker.port}"


def test_list_shows_every_device_with_what_it_says(broker, plugs):
    servers = plugs(3) + plugs(1, chipset="BK7231T")
    servers[1].stop()  # unplugged: the broker keeps its last will
    with Session(Broker("127.0.0.1", broker.port)) as ha:  # Home Assistant's retained discovery for plug0's relay
        ha.publish("homeassistant/switch/plug0_relay_1/config", json.dumps({"~": "plug0", "stat_t": "~/1/get"}), retain=True)
    found = {d.client: d for d in inventory(Broker("127.0.0.1", broker.port), wait=3)}
    assert found["plug0"].discovery == 1 and found["plug2"].discovery == 0
    assert set(found) == {"plug0", "plug1", "plug2", "plug3"}
    assert not found["plug1"].online and found["plug0"].online
    p0 = found["plug0"]
    assert (p0.mac, p0.chip, p0.build, p0.ip) == ("c8478c000000", "BK7231N", "1.17.999-sim", servers[0].device.ip)
    assert p0.uptime is not None and found["plug3"].chip == "BK7231T"
    result = CliRunner().invoke(main, ["--json", "fleet", "list", "--broker", url(broker)])
    record = json.loads(result.output.strip().splitlines()[-1])
    assert result.exit_code == 0 and len(record["devices"]) == 4


def test_devices_sharing_a_client_id_are_flagged(broker, plugs):
    a, b = plugs(2)
    b.device.mqtt["client"] = "plug0"  # a copied configuration: both now answer as plug0
    b.mqtt.connect()
    assert b.mqtt.connected.wait(10)
    found = {d.client: d for d in inventory(Broker("127.0.0.1", broker.port), wait=2)}
    assert found["plug0"].shared_client_id and found["plug0"].macs == {"c8478c000000", "c8478c000001"}


def test_fleet_backup_saves_each_device_by_mac_and_never_overwrites(broker, plugs, tmp_path):
    plugs(3)
    out = tmp_path / "backups"
    result = CliRunner().invoke(main, ["--json", "fleet", "backup", "--broker", url(broker), "-o", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output.strip().splitlines()[-1])
    files = sorted(p.name for p in next(out.iterdir()).iterdir())
    assert files == ["c8478c000000.json", "c8478c000001.json", "c8478c000002.json"] and not record["failed"]
    saved = DeviceConfig.from_json((next(out.iterdir()) / files[0]).read_text())
    assert saved.pins[7].text() == "Rel;1"
    again = CliRunner().invoke(main, ["--json", "fleet", "backup", "--broker", url(broker), "-o", str(out)])
    assert again.exit_code == 0 and len(list(out.iterdir())) == 2  # a new folder; the first one untouched


def test_update_canary_then_the_rest_each_verified(broker, plugs, tmp_path):
    servers = plugs(4)
    servers[3].device.version = "1.18.0"  # already there: skipped
    fw = image(tmp_path=tmp_path)
    result = CliRunner().invoke(
        main,
        [
            "--json",
            "fleet",
            "update",
            "--broker",
            url(broker),
            "--firmware",
            str(fw),
            "--parallel",
            "2",
            "--canary",
            "plug2",
            "-y",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    outcomes = {d["client"]: (d["outcome"], d["after"]) for d in report["devices"]}
    assert outcomes == {
        "plug0": ("updated", "1.18.0"),
        "plug1": ("updated", "1.18.0"),
        "plug2": ("updated", "1.18.0"),
        "plug3": ("skipped", ""),
    }
    assert [d["client"] for d in report["devices"] if d["outcome"] == "updated"][0] == "plug2"  # the canary first
    assert all(s.device.version == "1.18.0" for s in servers)
    assert len(report["backup"]["saved"]) == 3
    assert all(s.device.roles[7] and s.device.mqtt["client"] == f"plug{i}" for i, s in enumerate(servers))


def test_a_failed_canary_stops_the_rollout_and_touches_nothing_else(broker, plugs):
    servers = plugs(3)
    broken = read_ota("OpenBK7231N_1.18.0.rbl", build_rbl("1.18.0", b"x" * 4096))
    object.__setattr__(broken, "data", broken.data[:-100])  # damaged after the check: the bootloader keeps the old build
    with Session(Broker("127.0.0.1", broker.port)) as session:
        devices = inventory(session.broker, 3, session=session)
        report = update_fleet(session, devices, {"BK7231N": broken}, canary="plug0", reboot_wait=20)
    by = {d.client: d for d in report.devices}
    assert by["plug0"].outcome == "failed" and "kept the old firmware" in by["plug0"].why and by["plug0"].after == "1.17.999-sim"
    assert by["plug1"].outcome == by["plug2"].outcome == "not started" and report.stopped_by == "plug0"
    assert [s.device.version for s in servers] == ["1.17.999-sim"] * 3
    assert servers[1].device.pending_ota is None and servers[2].device.pending_ota is None  # nothing sent to them


def test_a_device_dying_mid_update_stops_the_rollout_and_comes_back_on_the_old_build(broker, plugs):
    servers = plugs(2)
    servers[0].device.ota_fault = "die"
    with Session(Broker("127.0.0.1", broker.port)) as session:
        devices = inventory(session.broker, 3, session=session)
        report = update_fleet(session, devices, {"BK7231N": image()}, canary="plug0", reboot_wait=20)
    first = report.devices[0]
    assert first.outcome == "failed" and "upload broke off" in first.why and "1.17.999-sim" in first.why
    assert report.devices[1].outcome == "not started" and servers[1].device.version == "1.17.999-sim"


def test_a_chip_never_gets_another_chips_image(broker, plugs, tmp_path):
    plugs(1, chipset="BK7231T")
    plugs(1, chipset="BK7238")
    fw = image(chip="BK7231N", tmp_path=tmp_path)
    result = CliRunner().invoke(main, ["--json", "fleet", "update", "--broker", url(broker), "--firmware", str(fw), "-y"])
    report = json.loads(result.output.strip().splitlines()[-1])
    assert {d["outcome"] for d in report["devices"]} == {"skipped"}
    assert all("no image for its chip" in d["why"] for d in report["devices"])


def test_uart_images_and_damaged_files_are_no_ota_images(tmp_path):
    good = build_rbl("1.18.0", b"y" * 5000)
    for name, data, said in (
        ("OpenBK7231N_QIO_1.18.0.bin", good, "not an OpenBeken OTA image"),
        ("OpenBK7231N_1.18.0.rbl", b"\x00" * 200, "no RBL header"),
        ("OpenBK7231N_1.18.0.rbl", good[:-1], "truncated or damaged"),
        ("OpenBK7231N_1.18.0.rbl", good[:20] + b"X" + good[21:], "damaged RBL header"),
    ):
        with pytest.raises(UsageError, match=said):
            read_ota(name, data)
    assert read_ota("OpenBK7238_1.18.0.rbl", good).chip == "BK7238"
    from freebeken.flasher.firmware import classify

    with pytest.raises(UsageError, match="over-the-air image") as err:
        classify("OpenBK7231N_1.18.0.rbl", good)  # and the other way round: an OTA image is not for UART
    assert "fleet update" in err.value.hint


def test_update_latest_takes_each_chips_newest_image_from_the_releases(broker, plugs, monkeypatch):
    from helpers import releases_stub

    plugs(2)
    plugs(1, chipset="BK7231T")  # the release has no image for it: skipped, the others go on
    files = {"OpenBK7231N_1.18.0.rbl": build_rbl("1.18.0", b"z" * 20000), "OpenBK7231N_QIO_1.18.0.bin": b"\xff" * 100}

    server = releases_stub(files)
    monkeypatch.setenv("FREEBEKEN_RELEASES_URL", f"{server.base}/releases")
    try:
        result = CliRunner().invoke(main, ["--json", "fleet", "update", "--broker", url(broker), "--firmware", "latest", "-y"])
    finally:
        server.stop()
    report = json.loads(result.output.strip().splitlines()[-1])
    outcomes = {d["client"]: d["outcome"] for d in report["devices"]}
    assert outcomes == {"plug0": "updated", "plug1": "updated", "plug2": "skipped"} and result.exit_code == 0, result.output


def test_a_lan_scan_adds_what_the_broker_does_not_know():
    from freebeken.device.discover import Found
    from freebeken.fleet.inventory import FleetDevice, merge_lan

    known = FleetDevice("plug0", True, mac="c8478c000000")
    merged = merge_lan(
        [known],
        [
            Found("192.168.1.20", "c8478c000000", "plug0", "BK7231N", "Built on x version 1.17.5"),
            Found("192.168.1.21", "c8478c0000ff", "lonely", "BK7231T", "Built on x version 1.17.4"),
        ],
    )
    assert merged[0].ip == "192.168.1.20" and len(merged) == 2
    assert (merged[1].name, merged[1].build, merged[1].chip, merged[1].client) == ("lonely", "1.17.4", "BK7231T", "")


def test_an_online_device_that_does_not_answer_keeps_the_update_from_claiming_success(broker, plugs, tmp_path):
    plugs(1)
    with Session(Broker("127.0.0.1", broker.port)) as other:  # online by its retained state, but it answers nothing
        other.publish("ghost/connected", "online", retain=True)
    result = CliRunner().invoke(
        main,
        ["--json", "fleet", "update", "--broker", url(broker), "--firmware", str(image(tmp_path=tmp_path)), "-y", "--wait", "1"],
    )
    records = [json.loads(line) for line in result.output.strip().splitlines() if line.startswith("{")]
    report = next(r for r in records if "devices" in r)  # the report, then the error's own record
    outcomes = {d["client"]: d["outcome"] for d in report["devices"]}
    assert outcomes == {"plug0": "updated", "ghost": "not updated"} and not report["ok"]
    assert result.exit_code == 15 and report["not updated"] == 1


def test_a_rename_ghost_is_recognised_skipped_by_backup_and_pruned(broker, plugs, tmp_path):
    """Issue 29 case 5: a client id changed outside freebeken leaves the old id's will ('offline')
    and its discovery on the broker forever. fleet list names it a ghost of the live device,
    backup skips it with a note (exit 0, not 15 on every run), prune clears it."""
    (server,) = plugs(1)
    client = ObkClient(server.address)
    assert [d.client for d in inventory(Broker("127.0.0.1", broker.port), wait=2)] == ["plug0"]  # listed once before
    client.cmd("SetFlag 27 1")
    client.cmd('FriendlyName "Kitchen"')
    client.cmd("scheduleHADiscovery 1")  # announced as plug0
    with Session(Broker("127.0.0.1", broker.port)) as watch:
        watch.subscribe("homeassistant/+/+/config")
        assert watch.wait_for(lambda t, p: "Kitchen_relay_1" in t, 5)
        client.cmd("MqttClient kitchen")  # a rename by hand, as on the device's own page
        watch.subscribe("kitchen/connected")
        assert watch.wait_for(lambda t, p: t == "kitchen/connected" and p == b"online", 5)
    client.cmd("scheduleHADiscovery 1")  # the renamed device announces itself under its new id
    time.sleep(30 * server.device.time_scale)
    found = {d.client: d for d in inventory(Broker("127.0.0.1", broker.port), wait=2)}
    assert found["plug0"].ghost_of == "kitchen" and found["kitchen"].online and not found["kitchen"].ghost_of
    listing = CliRunner().invoke(main, ["fleet", "list", "--broker", url(broker)])
    assert "1 device(s), 1 online; 1 ghost(s) of renamed devices" in listing.output
    out = tmp_path / "backups"
    result = CliRunner().invoke(main, ["--json", "fleet", "backup", "--broker", url(broker), "-o", str(out)])
    record = json.loads(result.output.strip().splitlines()[-1])
    assert result.exit_code == 0 and list(record["saved"]) == ["kitchen"] and "ghost of kitchen" in record["skipped"]["plug0"]
    pruned = CliRunner().invoke(main, ["--json", "fleet", "prune", "--broker", url(broker)])
    record = json.loads(pruned.output.strip().splitlines()[-1])
    assert pruned.exit_code == 0 and record["ghosts"] == {"plug0": "kitchen"} and "plug0/connected" in record["cleared"]
    after = {d.client for d in inventory(Broker("127.0.0.1", broker.port), wait=2)}
    assert after == {"kitchen"}
