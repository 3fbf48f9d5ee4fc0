"""The local page in headless Chromium (Debian's, driven by Playwright): the whole journey on the
simulators, the pin finder by clicking, a wrong-chip firmware error. Screenshots are saved in
``artifacts/`` (and one is the README's picture)."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from freebeken.sim.obk.board import board
from freebeken.sim.obk.boot import power_on
from freebeken.sim.obk.device import ObkDevice
from freebeken.sim.obk.server import DeviceServer
from freebeken.web.server import WebServer
from helpers import SHARED, Mosquitto, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("FREEBEKEN_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts"))
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing: run scripts/test")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FREEBEKEN_HOME", str(tmp_path / "home"))


def test_the_page_runs_under_its_own_content_security_policy(browser, tmp_path):
    """The journeys above let Playwright evaluate its own waits (bypass_csp); this one does not:
    the page must work with the CSP the server sends."""
    with WebServer(workdir=tmp_path / "web") as web:
        page = browser.new_page()
        violations = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(web.url)
        page.wait_for_selector("#port option", state="attached")
        page.wait_for_selector("#backup-list option", state="attached")
        assert "Simulated BK7231T plug" in page.inner_text("#port")
        assert page.is_hidden("[data-testid=no-token]")
        n_dump = SHARED / "dumps" / "n_cb2s_plug_mirabella_i003632.bin"
        if n_dump.exists():  # the way back refuses another chip's dump, and says why
            page.select_option("[data-testid=port]", label="Simulated BK7231T plug")
            page.set_input_files("[data-testid=backup-file]", str(n_dump))
            page.click("[data-testid=restore]")
            page.wait_for_selector("#restore-result.error", timeout=60000)
            assert "BK7231N dump" in page.inner_text("#restore-result")
            shot(page, "web-5-restore-refused")
        page.close()
    assert violations == []


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def firmware(folder: Path, name: str, size: int = 0x40000) -> Path:
    path = folder / name
    body = random.Random(name).randbytes(size)
    path.write_bytes(body if "_UA_" in name else b"\xff" * 0x11000 + body)
    return path


def accessible(page) -> None:
    """axe-core (the engine browser accessibility checkers use) finds no serious or critical problem."""
    from axe_playwright_python.sync_playwright import Axe

    problems = [(v["impact"], v["id"], [n["target"] for n in v["nodes"]][:3]) for v in Axe().run(page).response["violations"]
                if v["impact"] in ("serious", "critical")]  # fmt: skip
    assert not problems, problems


def answer_pin_finder(page, dev: ObkDevice) -> None:
    """A person in front of the plug, clicking the page's buttons."""
    last = None
    while True:
        page.wait_for_function(
            "document.querySelector('#question button') || document.getElementById('device-result').textContent.startsWith('Pins found')"
        )
        if page.locator("#question button").count() == 0:
            return
        text = page.locator("#question p").inner_text()
        if "What happened" in text:
            counts: dict[int, int] = {}
            for _part, pin, _ in dev.board.take_events():
                counts[pin] = counts.get(pin, 0) + 1
            flashing = [p for p, n in counts.items() if n >= 2]
            last = flashing[0] if flashing else None
            wire = dev.board.wire(last) if last is not None else None
            value = "nothing" if wire is None else {"relay": "relay", "pwm": "light"}.get(wire.part, "led")
        elif "held on" in text:
            dev.board.take_events()
            value = "yes" if last is not None and dev.board.is_on(last) else "no"
        elif "Press button 1" in text:
            dev.click(8)
            value = "done"
        else:
            value = "none"
        page.locator(f"#question button[data-answer='{value}']").click()


def test_full_journey_in_the_browser(browser, tmp_path):
    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    plug = DeviceServer(ObkDevice(board("u3"))).start()
    try:
        with WebServer(workdir=tmp_path / "web") as web:
            page = browser.new_page(viewport={"width": 1100, "height": 900}, bypass_csp=True)
            page.goto(web.url + "&pulse=0&http_port=" + plug.address.rsplit(":", 1)[1])
            page.wait_for_selector("#port option", state="attached")
            accessible(page)
            page.select_option("[data-testid=port]", label="Simulated BK7231T plug")
            page.click("[data-testid=backup]")
            page.wait_for_selector("[data-testid=download]", timeout=60000)
            assert "backup saved" in page.inner_text("[data-testid=backup-result]")
            page.wait_for_selector("#problems li.ok")
            assert '"7": "Rel;1"' in page.input_value("[data-testid=template]")
            assert page.get_attribute("[data-testid=submit-link]", "href").startswith("https://github.com/OpenBekenIOT/webapp/issues/new")
            with page.expect_download() as download:
                page.click("[data-testid=download]")
            assert download.value.path().stat().st_size == 0x200000
            shot(page, "web-1-backup-and-template")

            # a wrong-chip firmware is refused, with the reason shown (this journey takes the access-point way)
            page.uncheck("[data-testid=configure]")
            page.set_input_files("[data-testid=firmware]", str(firmware(tmp_path, "OpenBK7231N_QIO_1.17.9.bin")))
            page.click("[data-testid=flash]")
            page.wait_for_selector("#flash-result.error", timeout=60000)
            assert "built for BK7231N" in page.inner_text("#flash-result")
            shot(page, "web-2-wrong-chip")
            page.set_input_files("[data-testid=firmware]", str(firmware(tmp_path, "OpenBK7231T_UA_1.17.9.bin")))
            page.click("[data-testid=flash]")
            page.wait_for_selector("#flash-result.ok", timeout=120000)
            assert "OpenBeken flashed" in page.inner_text("#flash-result")

            # the plug's access point gets the home Wi-Fi; then it is found on the network by its MAC
            page.fill("[data-testid=ap]", plug.address)
            page.fill("[data-testid=ssid]", "HomeWiFi")
            page.fill("[data-testid=wifi-password]", "secret-pass")
            page.click("[data-testid=wifi]")
            page.wait_for_selector("#wifi-result.ok")
            assert plug.device.wifi == {"ssid": "HomeWiFi", "pass": "secret-pass"}
            assert "MAC C8:47:8C:43:F3:10" in page.inner_text("#wifi-result")
            page.fill("[data-testid=network]", "127.0.0.0/30")
            page.click("[data-testid=find]")
            page.wait_for_selector("#found.ok", timeout=30000)
            assert page.input_value("[data-testid=host]") == plug.address
            assert f"Found your plug at {plug.address}" in page.inner_text("[data-testid=found]")
            page.click("[data-testid=apply]")
            page.wait_for_selector("#device-result.ok")
            assert plug.device.pins_json().count('"roles":[0,6,0,0,0,0,0,1,3') == 1

            # the pin finder by clicking
            page.click("[data-testid=pins]")
            answer_pin_finder(page, plug.device)
            page.wait_for_selector("#device-result.ok")
            assert 'Pins found: {"1":"LED_n;1","7":"Rel;1","8":"Btn;1"}' in page.inner_text("#device-result")
            shot(page, "web-3-pin-finder")

            page.fill("[data-testid=broker]", broker.url())
            page.fill("[data-testid=ha-name]", "Aoycocr U3")
            page.click("[data-testid=ha]")
            page.wait_for_selector("#ha-result.ok", timeout=60000)
            assert "switch.aoycocr_u3_1" in page.inner_text("#ha-result")
            shot(page, "web-4-home-assistant")
            accessible(page)  # with every step's results on the page
            page.close()
    finally:
        plug.stop()
        broker.stop()


def test_set_up_while_flashing_then_the_plug_appears(browser, tmp_path):
    """The recommended way on the page: Wi-Fi and broker go into the flash; the plug's first boot
    (its flash image booted) is found on the broker and verified, with no access-point step."""
    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    http_port = free_port()
    plugs = []
    try:
        with WebServer(workdir=tmp_path / "web") as web:
            page = browser.new_page(viewport={"width": 1100, "height": 900}, bypass_csp=True)
            page.goto(web.url + f"&http_port={http_port}")
            page.select_option("[data-testid=port]", label="Simulated BK7231T plug")
            page.click("[data-testid=backup]")
            page.wait_for_selector("#problems li.ok", timeout=60000)
            page.set_input_files("[data-testid=firmware]", str(firmware(tmp_path, "OpenBK7231T_UA_1.17.9.bin")))
            page.fill("[data-testid=cfg-ssid]", "HomeWiFi")
            page.fill("[data-testid=cfg-wifi-password]", "short")
            page.fill("[data-testid=cfg-broker]", broker.url())
            page.fill("[data-testid=cfg-name]", "Hall Plug")
            page.click("[data-testid=flash]")
            page.wait_for_selector("#flash-result.error", timeout=60000)
            assert "8 to 63" in page.inner_text("#flash-result")  # refused before the chip was touched
            page.fill("[data-testid=cfg-wifi-password]", "secret-pass")
            page.click("[data-testid=flash]")
            page.wait_for_selector("#flash-result.ok", timeout=120000)
            assert "Set up for HomeWiFi as hall_plug" in page.inner_text("#flash-result")
            page.click("[data-testid=first-boot]")
            page.wait_for_selector("text=now power the plug")
            plugs.append(power_on(tmp_path / "web" / "bk7231t.bin", board("u3"), port=http_port)[0])  # powered normally
            page.wait_for_selector("#first-boot-result.ok", timeout=90000)
            text = page.inner_text("#first-boot-result")
            assert f"127.0.0.1:{http_port}" in text and "switch.hall_plug_1" in text
            assert page.input_value("[data-testid=host]") == f"127.0.0.1:{http_port}"
            shot(page, "web-5-set-up-while-flashing")
            page.close()
    finally:
        for plug in plugs:
            plug.stop()
        broker.stop()


def test_the_page_needs_its_token(browser, tmp_path):
    with WebServer(workdir=tmp_path / "web") as web:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{web.port}/")  # no token: the page says where the right link is
        page.wait_for_selector("[data-testid=no-token]", state="visible")
        assert "freebeken web" in page.inner_text("[data-testid=no-token]")
        assert page.locator("#port option").count() == 0
        page.close()


def test_find_lists_the_devices_to_pick_from(browser, tmp_path):
    """Without a backup there is no MAC to recognise the plug by: every device found is offered."""
    plug = DeviceServer(ObkDevice(board("u3")), host="127.0.0.2").start()
    bulb = DeviceServer(ObkDevice(board("u3"), mac="a1b2c3d4e5f6", short_name="bulb"), host="127.0.0.3",
                        port=int(plug.address.rsplit(":", 1)[1])).start()  # fmt: skip
    try:
        with WebServer(workdir=tmp_path / "web") as web:
            page = browser.new_page(bypass_csp=True)
            page.goto(web.url + "&http_port=" + plug.address.rsplit(":", 1)[1])
            page.fill("[data-testid=network]", "127.0.0.0/29")
            page.click("[data-testid=find]")
            page.wait_for_selector("#found button")
            assert page.locator("#found button").count() == 2
            page.click("#found button:has-text('bulb')")
            assert page.input_value("[data-testid=host]") == bulb.address
            page.fill("[data-testid=ap]", f"127.0.0.1:{free_port()}")  # not joined to the plug's access point
            page.fill("[data-testid=ssid]", "HomeWiFi")
            page.click("[data-testid=wifi]")
            page.wait_for_selector("#wifi-result.error")
            assert "Join the plug's Wi-Fi" in page.inner_text("#wifi-result")
            page.fill("[data-testid=network]", "10.0.0.0/8")  # too big: the reason is shown
            page.click("[data-testid=find]")
            page.wait_for_selector("#found.error")
            assert "would take minutes" in page.inner_text("#found")
            page.close()
    finally:
        plug.stop()
        bulb.stop()


def refresh_ports(page) -> None:
    loads = page.get_attribute("#port", "data-loads")
    page.click("[data-testid=refresh-ports]")
    page.wait_for_function(f"(document.getElementById('port').dataset.loads || null) !== {json.dumps(loads)}")


def test_flash_cut_off_then_resumed_from_a_fresh_page(browser, tmp_path):
    """A first flash backs the chip up before writing; the power goes mid-write; after a reload
    (the file input is empty again) Resume finishes from the journal."""
    fw = firmware(tmp_path, "OpenBK7231N_QIO_1.17.9.bin")
    with WebServer(workdir=tmp_path / "web") as web:
        image = tmp_path / "web" / "bk7231n.bin"
        cut = f"sim://bk7231n?time_scale=0.02&image={image}&power_cut_after=30"
        page = browser.new_page(bypass_csp=True)
        page.goto(web.url)
        page.wait_for_selector("#port option", state="attached")
        page.evaluate(f"""() => {{ const o = new Option("N plug, power cut", {cut!r}); document.getElementById("port").add(o); }}""")
        page.select_option("[data-testid=port]", value=cut)
        refresh_ports(page)  # a refresh keeps the chosen port when it is still listed
        assert page.input_value("[data-testid=port]") != cut  # the injected option is gone: chosen port fell back
        page.evaluate(f"""() => {{ const o = new Option("N plug, power cut", {cut!r}); document.getElementById("port").add(o); }}""")
        page.select_option("[data-testid=port]", value=cut)
        page.set_input_files("[data-testid=firmware]", str(fw))
        page.uncheck("[data-testid=configure]")
        page.click("[data-testid=flash]")
        page.wait_for_selector("#flash-result.error", timeout=120000)
        assert "stopped answering" in page.inner_text("#flash-result")
        assert "backing it up first" in page.inner_text("#log")
        assert list((tmp_path / "home" / "backups").glob("BK7231N-*.bin"))  # the backup came first

        page.reload()
        page.select_option("[data-testid=port]", label="Simulated BK7231N plug")
        refresh_ports(page)
        assert page.input_value("[data-testid=port]").startswith("sim://bk7231n")  # kept across the refresh
        page.click("[data-testid=resume]")
        page.wait_for_selector("#flash-result.ok", timeout=120000)
        assert "Resumed and finished" in page.inner_text("#flash-result")
        assert image.read_bytes()[0x11000 : fw.stat().st_size] == fw.read_bytes()[0x11000:]
        page.click("[data-testid=resume]")
        page.wait_for_function("document.getElementById('flash-result').textContent.startsWith('Nothing to resume')")
        page.close()


def test_without_a_file_the_page_flashes_the_newest_release_for_the_chip(browser, tmp_path, monkeypatch):
    from helpers import releases_stub

    fw = firmware(tmp_path, "OpenBK7231N_QIO_1.18.0.bin")
    files = {fw.name: fw.read_bytes()}

    releases = releases_stub(files)
    monkeypatch.setenv("FREEBEKEN_RELEASES_URL", f"{releases.base}/releases")
    try:
        with WebServer(workdir=tmp_path / "web") as web:
            page = browser.new_page()
            page.goto(web.url)
            page.wait_for_selector("#port option", state="attached")
            page.select_option("[data-testid=port]", label="Simulated BK7231N plug")
            assert page.is_checked("[data-testid=fw-newest]")  # the default: nothing to pick
            page.uncheck("[data-testid=configure]")
            page.click("[data-testid=flash]")
            page.wait_for_selector("#flash-result.ok", timeout=120000)
            assert "OpenBeken flashed (OpenBK7231N_QIO_1.18.0.bin)" in page.inner_text("#flash-result")
            page.check("[data-testid=fw-own]")
            page.click("[data-testid=flash]")  # "my own file" without a file: said, nothing started
            page.wait_for_selector("#flash-result.error")
            assert "Choose the OpenBeken file first" in page.inner_text("#flash-result")
            page.close()
    finally:
        releases.stop()


def test_a_failed_link_shows_the_diagnosis_in_words(browser, tmp_path):
    """TX and RX swapped: the page says what the link doctor found and what to do, not a bare timeout."""
    with WebServer(workdir=tmp_path / "web") as web:
        page = browser.new_page(bypass_csp=True)
        page.goto(web.url + "&link_timeout=2")  # instead of 15 s of trying, as a person would wait
        page.wait_for_selector("#port option", state="attached")
        swapped = "sim://bk7231n?time_scale=0&wiring=swapped"
        page.evaluate(f"""() => {{ const o = new Option("N plug, TX/RX swapped", {swapped!r}); document.getElementById("port").add(o); }}""")
        page.select_option("[data-testid=port]", value=swapped)
        page.click("[data-testid=backup]")
        page.wait_for_selector("#backup-result.error", timeout=60000)
        text = page.inner_text("[data-testid=backup-result]")
        assert "Nothing arrives on the adapter's RX" in text and "swapping TX and RX" in text, text
        assert "Traceback" not in text and "Error:" not in text
        shot(page, "web-link-diagnosis")
        page.close()
