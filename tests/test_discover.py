"""Finding OpenBeken devices on a network: loopback addresses 127.0.0.x stand in for a LAN."""

from __future__ import annotations

import http.server
import json
import threading
import time

import pytest
from click.testing import CliRunner

from freebeken.cli.main import main
from freebeken.device.discover import find_mac, normalize_mac, parse_networks, probe, scan
from freebeken.errors import UsageError
from freebeken.sim.obk.board import board
from freebeken.sim.obk.device import ObkDevice
from freebeken.sim.obk.server import DeviceServer


class _Html(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # a router's admin page, or anything else that is not OpenBeken
        body = b"[1, 2, 3]" if self.path == "/api/info" else b"<html>router</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class _Endless(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # a camera's video stream: it never ends
        self.send_response(200)
        self.end_headers()
        try:
            while True:
                self.wfile.write(b"x" * 4096)
                time.sleep(0.001)
        except OSError:
            pass

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def lan():
    """127.0.0.2: a plug, 127.0.0.3: a web server that is not OpenBeken, 127.0.0.4: a plug with a
    web password, 127.0.0.5: an endless video stream, 127.0.0.6: a bulb - all on one port, as
    devices on a LAN all use port 80."""
    plug = DeviceServer(ObkDevice(board("u3")), host="127.0.0.2").start()
    port = int(plug.address.rsplit(":", 1)[1])
    other = http.server.ThreadingHTTPServer(("127.0.0.3", port), _Html)
    threading.Thread(target=other.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    stream = http.server.ThreadingHTTPServer(("127.0.0.5", port), _Endless)
    stream.daemon_threads = True
    threading.Thread(target=stream.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    locked = DeviceServer(ObkDevice(board("u3"), mac="c8478c000004", web_password="pw"), host="127.0.0.4", port=port).start()
    bulb = DeviceServer(
        ObkDevice(board("u3"), chipset="BK7231N", mac="a1b2c3d4e5f6", short_name="bulb"), host="127.0.0.6", port=port
    ).start()
    yield port
    for server in (plug, locked, bulb):
        server.stop()
    for server in (other, stream):
        server.shutdown()
        server.server_close()


def test_scan_finds_the_openbeken_devices_and_nothing_else(lan):
    started = time.monotonic()
    found = scan(parse_networks(["127.0.0.0/29"]), port=lan)
    assert time.monotonic() - started < 5
    assert [(f.address.split(":")[0], f.mac, f.chipset, f.locked) for f in found] == [
        ("127.0.0.2", "c8478c43f310", "BK7231T", False),
        ("127.0.0.4", "", "", True),
        ("127.0.0.6", "a1b2c3d4e5f6", "BK7231N", False),
    ]
    assert found[2].name == "bulb" and "version" in found[2].build
    with_password = probe("127.0.0.4", lan, password="pw")
    assert with_password is not None and with_password.mac == "c8478c000004"
    assert probe("127.0.0.3", lan) is None  # answers HTTP, but not as OpenBeken
    started = time.monotonic()
    assert probe("127.0.0.5", lan, timeout=0.5) is None  # never stops sending: given up on
    assert time.monotonic() - started < 3


def test_find_by_mac_any_spelling(lan):
    item = find_mac("A1:B2:C3:D4:E5:F6", parse_networks(["127.0.0.0/29"]), port=lan, wait=0).match
    assert item is not None and item.address == f"127.0.0.6:{lan}"
    either = find_mac(["00:00:00:00:00:01", "c8478c43f310"], parse_networks(["127.0.0.0/29"]), port=lan, wait=0).match
    assert either is not None and either.address == f"127.0.0.2:{lan}"
    missing = find_mac("a1-b2-c3-00-00-00", parse_networks(["127.0.0.0/29"]), port=lan, wait=0)
    assert missing.match is None and len(missing.seen) == 3  # what was there, to offer instead


def test_find_waits_for_a_device_that_is_still_restarting():
    server = DeviceServer(ObkDevice(board("u3")), host="127.0.0.3")
    port = int(server.address.rsplit(":", 1)[1])
    server.server_close()  # the port is known, but nothing listens yet: the plug is rebooting
    late: list[DeviceServer] = []
    timer = threading.Timer(1.0, lambda: late.append(DeviceServer(ObkDevice(board("u3")), host="127.0.0.3", port=port).start()))
    timer.start()
    try:
        item = find_mac("c8478c43f310", parse_networks(["127.0.0.3/32"]), port=port, wait=20).match
        assert item is not None and item.address == f"127.0.0.3:{port}"
    finally:
        timer.join()
        for s in late:
            s.stop()


@pytest.mark.parametrize("bad", ["", "c8478c43f31", "c8478c43f3100", "zz478c43f310", "c8:47:8c:43:f3:1g"])
def test_bad_mac_is_refused(bad):
    with pytest.raises(UsageError, match="MAC"):
        normalize_mac(bad)


@pytest.mark.parametrize("bad, message", [("192.168.1", "IPv4 network"), ("10.0.0.0/8", "minutes"), ("fe80::/64", "IPv4")])
def test_bad_networks_are_refused_with_a_hint(bad, message):
    with pytest.raises(UsageError, match=message) as info:
        parse_networks([bad])
    assert info.value.hint


def test_cli_device_find(lan):
    runner = CliRunner()
    result = runner.invoke(main, ["device", "find", "--network", "127.0.0.0/29", "--port", str(lan)])
    assert result.exit_code == 0, result.output
    assert "127.0.0.2" in result.output and "127.0.0.6" in result.output and "password" in result.output
    result = runner.invoke(
        main, ["--json", "device", "find", "--network", "127.0.0.0/29", "--port", str(lan), "--mac", "a1b2c3d4e5f6"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert [d["address"] for d in data["devices"]] == [f"127.0.0.6:{lan}"]
    assert data["devices"][0]["mac"] == "A1:B2:C3:D4:E5:F6"  # one spelling, as everywhere
    nobody = runner.invoke(main, ["device", "find", "--network", "127.0.0.200/30", "--port", str(lan), "--wait", "0"])
    assert nobody.exit_code == 9 and "No OpenBeken device answered" in nobody.output
    result = runner.invoke(
        main, ["device", "find", "--network", "127.0.0.0/29", "--port", str(lan), "--mac", "a1b2c3000000", "--wait", "0"]
    )
    assert result.exit_code != 0 and "No device with MAC" in result.output
