"""The local page in headless Chromium (Debian's, driven by Playwright): the guided journey for a
T and an N plug on the simulators (a reload in the middle, the pin finder answered through the
page's buttons, the way back), a failed link's diagnosis, keyboard use, axe-core. A screenshot per
step goes to ``artifacts/`` (``FREEBEKEN_ARTIFACTS=docs/screens`` refreshes docs/web.md's)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from freebeken.sim.config import mac_for
from freebeken.sim.obk.board import board
from freebeken.sim.obk.device import ObkDevice
from freebeken.sim.obk.server import DeviceServer
from freebeken.web.server import WebServer
from helpers import SHARED, Mosquitto, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("FREEBEKEN_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts"))
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing: run scripts/test")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def browser(chromium):
    """One Chromium for the module (its start took 0.6 s a test); a test's pages are each in a
    context of their own (``new_page``), all closed after the test."""
    yield chromium
    for context in chromium.contexts:
        context.close()


def test_the_page_runs_under_its_own_content_security_policy(browser, tmp_path):
    """The journeys above let Playwright evaluate its own waits (bypass_csp); this one does not:
    the page must work with the CSP the server sends."""
    with WebServer(workdir=tmp_path / "web") as web:
        page = browser.new_page()
        violations = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(web.url)
        page.wait_for_selector("#port option", state="attached")
        step(page, "device")
        assert "Simulated BK7231T plug" in page.inner_text("#port")
        assert page.is_hidden("[data-testid=no-token]")
        n_dump = SHARED / "dumps" / "n_cb2s_plug_mirabella_i003632.bin"
        if n_dump.exists():  # the way back refuses another chip's dump, and says why
            page.click("#stepper button[data-goto=restore]")
            page.wait_for_selector("#backup-list option", state="attached")
            page.select_option("[data-testid=port]", label="Simulated BK7231T plug")
            page.set_input_files("[data-testid=backup-file]", str(n_dump))
            page.click("[data-testid=restore]")
            page.click("[data-testid=restore-yes]")
            page.wait_for_selector("#restore-result.error", timeout=60000)
            assert "BK7231N dump" in page.inner_text("#restore-result")
            shot(page, "way-back-refused")
        page.close()
    assert violations == []


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def firmware(folder: Path, name: str, size: int = 0x40000) -> Path:
    """A stand-in release under ``name`` (its content is checked as a real one's would be)."""
    from helpers import stored_app

    path = folder / name
    body = stored_app(name[4:11].lower(), size)  # "OpenBK7231T_..." -> bk7231t
    path.write_bytes(body if "_UA_" in name else b"\xff" * 0x11000 + body)
    return path


def accessible(page) -> None:
    """axe-core (the engine browser accessibility checkers use) finds no serious or critical problem."""
    from axe_playwright_python.sync_playwright import Axe

    problems = [
        (v["impact"], v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in Axe().run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
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


def answer_with_the_page(page, dev: ObkDevice) -> int:
    """The pin finder's questions answered by watching the simulated board; its button pressed with
    the page's own control. Returns how often that control was used."""
    pressed, last = 0, None
    while True:
        page.wait_for_function(
            "document.querySelector('#question button') || "
            "document.getElementById('device-result').textContent.startsWith('Pins found')"
        )
        if page.locator("#question button").count() == 0:
            return pressed
        text = page.locator("#question p").inner_text()
        if "What happened" in text:
            assert re.match(r"Question \d+ of \d+: ", text), text
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
            page.click("#question button[data-press='1']")
            page.wait_for_function("document.getElementById('log').textContent.includes('Pressed button 1')")
            pressed += 1
            value = "done"
        else:
            value = "none"
        page.locator(f"#question button[data-answer='{value}']").click()


def step(page, name: str) -> None:
    """Wait until the stepper shows ``name``."""
    page.wait_for_selector(f"section[data-step='{name}']:not([hidden])", timeout=30000)


def go_on(page, testid: str, name: str) -> None:
    page.click(f"[data-testid={testid}]")
    step(page, name)


def backup_in_page(page, label: str) -> None:
    go_on(page, "to-connect", "connect")
    page.select_option("[data-testid=port]", label=label)
    page.click("[data-testid=backup]")
    page.wait_for_selector("[data-testid=download]", timeout=60000)


def test_t_plug_journey_access_point_way_with_the_pin_finder(browser, tmp_path):
    """A BK7231T plug, every step through the page's buttons: what is it, wiring picture, backup
    (hash shown), pins, flash, a reload in the middle (the journey comes back from the server),
    the access-point way, the pin finder answered through big buttons, Home Assistant, done, and
    the way back (restore). A screenshot per step."""
    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    plug = DeviceServer(ObkDevice(board("u3"))).start()
    try:
        with WebServer(workdir=tmp_path / "web") as web:
            page = browser.new_page(viewport={"width": 1024, "height": 900}, bypass_csp=True)
            page.goto(web.url + "&pulse=0&http_port=" + plug.address.rsplit(":", 1)[1])
            step(page, "device")
            accessible(page)
            shot(page, "step-0-what-is-it")
            go_on(page, "to-connect", "connect")
            page.select_option("[data-testid=module]", "WB2S")
            page.wait_for_function(
                "document.getElementById('wiring').complete && document.getElementById('wiring').naturalWidth > 0"
            )
            assert "Adapter TX → pad 5 (P10, RX1)" in page.inner_text("[data-testid=wires]")
            assert "pad 7 (P11, TX1)" in page.get_attribute("[data-testid=wiring]", "alt")
            shot(page, "step-1-wiring")
            page.select_option("[data-testid=port]", label="Simulated BK7231T plug")
            page.click("[data-testid=backup]")
            page.wait_for_selector("[data-testid=download]", timeout=60000)
            text = page.inner_text("[data-testid=backup-result]")
            assert "BK7231T" in text and "SHA-256" in text and "backed up" in text
            with page.expect_download() as download:
                page.click("[data-testid=download]")
            assert download.value.path().stat().st_size == 0x200000
            shot(page, "step-1-backed-up")
            assert page.is_disabled("#stepper button[data-goto=flash]")  # the next step only when this one is done
            go_on(page, "next-connect", "pins")
            page.wait_for_selector("#problems li.ok")
            assert '"7": "Rel;1"' in page.input_value("[data-testid=template]")
            # no issue without the device's name (an empty title is never produced)
            assert page.is_hidden("[data-testid=submit-link]") and '"vendor"' in page.text_content("[data-testid=share]")
            named = json.loads(page.input_value("[data-testid=template]")) | {"vendor": "Aoycocr", "name": "U3"}
            page.fill("[data-testid=template]", json.dumps(named, indent=2))
            page.click("[data-testid=check]")
            page.wait_for_function("document.getElementById('submit-link').href.includes('issues/new')")
            assert "title=Device+template%3A+Aoycocr+U3" in page.get_attribute("[data-testid=submit-link]", "href")
            page.wait_for_selector("[data-testid=pins-picture]:not([hidden])")
            assert "P7: relay, channel 1" in page.get_attribute("[data-testid=pins-picture]", "alt")
            shot(page, "step-2-pins")
            go_on(page, "to-flash", "flash")

            # a wrong-chip firmware is refused, with the reason shown
            page.uncheck("[data-testid=configure]")
            page.set_input_files("[data-testid=firmware]", str(firmware(tmp_path, "OpenBK7231N_QIO_1.17.9.bin")))
            page.click("[data-testid=flash]")
            page.wait_for_selector("#flash-result.error", timeout=60000)
            assert "built for BK7231N" in page.inner_text("#flash-result")
            shot(page, "step-3-wrong-chip-refused")
            page.set_input_files("[data-testid=firmware]", str(firmware(tmp_path, "OpenBK7231T_UA_1.17.9.bin")))
            page.click("[data-testid=flash]")
            page.wait_for_selector("#flash-result.ok", timeout=120000)
            assert "all verified" in page.inner_text("#flash-result")
            shot(page, "step-3-flashed")

            # a reload (or a closed tab): the server's journey brings the page back to the next step
            page.reload()
            step(page, "network")
            mac = mac_for(str((tmp_path / "web" / "bk7231t.bin").resolve())).hex(":").upper()  # this plug's own
            assert f"BK7231T plug, MAC {mac}" in page.inner_text("[data-testid=plug-name]")
            assert page.is_visible("#access-point") and page.is_hidden("#first-boot")
            page.click("#stepper button[data-goto=flash]")  # what was done is still shown
            assert "Flashed OpenBK7231T_UA_1.17.9.bin" in page.inner_text("#flash-result")
            page.click("#stepper button[data-goto=network]")
            page.fill("[data-testid=ap]", plug.address)
            page.fill("[data-testid=ssid]", "HomeWiFi")
            page.fill("[data-testid=wifi-password]", "secret-pass")
            page.click("[data-testid=wifi]")
            page.wait_for_selector("#wifi-result.ok")
            assert plug.device.wifi == {"ssid": "HomeWiFi", "pass": "secret-pass"}
            page.fill("[data-testid=network]", "127.0.0.0/30")
            page.click("[data-testid=find]")
            page.wait_for_selector("#found.ok", timeout=30000)
            assert f"Found your plug at {plug.address}" in page.inner_text("[data-testid=found]")
            shot(page, "step-4-on-your-wifi")
            go_on(page, "next-network", "live")

            # the pin finder through the page's buttons, then its pins applied
            page.click("[data-testid=pins]")
            page.wait_for_selector("#question button.answer")
            assert page.locator("#question p").inner_text().startswith("Question 1 of 19: P0 pulsed")
            assert page.evaluate(
                "getComputedStyle(document.querySelector('#question button.answer')).backgroundColor"
            ) != page.evaluate(
                "getComputedStyle(document.querySelector('button.next')).backgroundColor"
            )  # an answer is no Continue
            shot(page, "step-5-pin-finder-asks")
            answer_pin_finder(page, plug.device)
            page.wait_for_selector("[data-testid=found-picture]:not([hidden])")
            assert 'Pins found: {"1":"LED_n;1","7":"Rel;1","8":"Btn;1"}' in page.inner_text("#device-result")
            assert "P8: button, channel 1" in page.get_attribute("[data-testid=found-picture]", "alt")
            shot(page, "step-5-pins-found")
            page.click("[data-testid=apply]")
            page.wait_for_selector("#device-result.ok >> text=applied and verified")
            assert plug.device.pins_json().count('"roles":[0,6,0,0,0,0,0,1,3') == 1
            go_on(page, "next-live", "home_assistant")

            page.fill("[data-testid=broker]", broker.url())
            page.fill("[data-testid=ha-name]", "Aoycocr U3")
            page.click("[data-testid=ha]")
            page.wait_for_selector("#ha-result.ok", timeout=60000)
            assert "switch.aoycocr_u3_1" in page.inner_text("#ha-result")
            shot(page, "step-6-home-assistant")
            go_on(page, "next-ha", "done")
            summary = page.inner_text("[data-testid=summary]")
            assert "OpenBK7231T_UA_1.17.9.bin, verified" in summary and "switch.aoycocr_u3_1" in summary
            shot(page, "step-7-done")
            accessible(page)

            # the way back: the stock firmware again, and the journey knows it
            page.click("#stepper button[data-goto=restore]")
            step(page, "restore")
            page.select_option("[data-testid=port]", label="Simulated BK7231T plug")
            page.click("[data-testid=restore]")  # asked first; "No" leaves the chip alone
            page.wait_for_selector("[data-testid=restore-confirm]:not([hidden])")
            assert "Erase the chip on the adapter (Simulated BK7231T plug)" in page.inner_text("[data-testid=restore-confirm]")
            accessible(page)
            page.click("[data-testid=restore-no]")
            assert "Nothing was changed" in page.inner_text("#restore-result")
            page.click("[data-testid=restore]")
            page.click("[data-testid=restore-yes]")
            page.wait_for_selector("#restore-result.ok", timeout=120000)
            assert "Restored" in page.inner_text("#restore-result")
            shot(page, "way-back-restored")
            page.reload()
            step(page, "flash")  # the firmware is gone: flashing is the next step again
            page.close()
    finally:
        plug.stop()
        broker.stop()


def test_n_plug_journey_set_up_while_flashing(browser, tmp_path):
    """A BK7231N plug the recommended way: Wi-Fi and broker go into the flash; a reload while the
    plug boots; its first boot is found on the broker and Home Assistant verified; done; restore."""
    (tmp_path / "broker").mkdir()
    broker = Mosquitto(tmp_path / "broker")
    http_port = free_port()
    plugs = []
    try:
        with WebServer(workdir=tmp_path / "web") as web:
            page = browser.new_page(viewport={"width": 1024, "height": 900}, bypass_csp=True)
            page.goto(web.url + f"&http_port={http_port}&pulse=0")
            step(page, "device")
            page.fill("[data-testid=product]", "no such plug anywhere")
            go_on(page, "to-connect", "connect")
            page.select_option("[data-testid=module]", "CB2S")
            assert "Adapter RX → pad 7 (P11, TX1)" in page.inner_text("[data-testid=wires]")
            page.select_option("[data-testid=port]", label="Simulated BK7231N plug")
            page.click("[data-testid=backup]")
            page.wait_for_selector("[data-testid=download]", timeout=60000)
            assert "BK7231N" in page.inner_text("[data-testid=backup-result]")
            go_on(page, "next-connect", "pins")
            page.wait_for_selector("#problems li")
            go_on(page, "to-flash", "flash")
            page.set_input_files("[data-testid=firmware]", str(firmware(tmp_path, "OpenBK7231N_QIO_1.17.9.bin")))
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
            shot(page, "step-3-flashed-and-set-up")

            page.reload()  # the server kept the journey: the first-boot wait is next
            step(page, "network")
            assert page.is_visible("#first-boot") and page.is_hidden("#access-point")
            assert page.input_value("[data-testid=fb-broker]") == broker.url()  # no password in it to keep
            assert "it boots from " + str(tmp_path / "web" / "bk7231n.bin") in page.inner_text("[data-testid=sim-plug]")
            page.click("[data-testid=first-boot]")  # listening first; then the simulated plug boots by itself
            page.wait_for_selector("[data-testid=countdown]:not([hidden])")
            assert "left. If it has not appeared by then" in page.inner_text("[data-testid=countdown]")
            page.wait_for_selector("#first-boot-result.ok", timeout=90000)
            text = page.inner_text("#first-boot-result")
            served = page.evaluate("page.view.simulated.address")
            assert f"The plug joined and is at {served}" in text and "switch.hall_plug_1" in text  # host:port it really serves
            assert "serving at " + served in page.inner_text("[data-testid=sim-plug]")
            accessible(page)  # the simulated plug's box and the countdown
            shot(page, "step-4-first-boot")
            go_on(page, "next-network", "done")  # pins went in with the flash, Home Assistant verified
            assert "switch.hall_plug_1" in page.inner_text("[data-testid=summary]")
            accessible(page)

            # the pin finder on the simulated plug: its button is pressed from the page
            from freebeken.sim import plug as sim_plug

            dev = sim_plug.running(tmp_path / "web" / "bk7231n.bin").boot.device
            page.click("#stepper button[data-goto=live]")
            page.click("[data-testid=pins]")
            pressed = answer_with_the_page(page, dev)
            assert pressed and page.locator("#question button").count() == 0
            assert '"7":"Btn;1"' in page.inner_text("#device-result")  # the button the page pressed was found
            page.click("#stepper button[data-goto=done]")
            page.click("[data-testid=to-way-back]")  # the Done step points to the page's own way back
            step(page, "restore")
            page.select_option("[data-testid=port]", label="Simulated BK7231N plug")
            page.click("[data-testid=restore]")
            page.click("[data-testid=restore-yes]")
            page.wait_for_selector("#restore-result.ok", timeout=120000)
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
    bulb = DeviceServer(
        ObkDevice(board("u3"), mac="a1b2c3d4e5f6", short_name="bulb"), host="127.0.0.3", port=int(plug.address.rsplit(":", 1)[1])
    ).start()
    try:
        with WebServer(workdir=tmp_path / "web") as web:
            page = browser.new_page(bypass_csp=True)
            page.goto(web.url + "&http_port=" + plug.address.rsplit(":", 1)[1])
            step(page, "device")
            page.evaluate("go('network')")  # the network step's tools on their own, with no plug's journey
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


def add_port(page, label: str, url: str) -> None:
    page.evaluate(f"""() => {{ const o = new Option({label!r}, {url!r}); document.getElementById("port").add(o); }}""")


def test_flash_cut_off_then_resumed_from_a_fresh_page(browser, tmp_path):
    """The power goes mid-write; after a reload (the file input is empty again) the journey is
    back at the flash step and Resume finishes from the journal."""
    fw = firmware(tmp_path, "OpenBK7231N_QIO_1.17.9.bin")
    with WebServer(workdir=tmp_path / "web") as web:
        image = tmp_path / "web" / "bk7231n.bin"
        cut = f"sim://bk7231n?time_scale=0.02&image={image}&power_cut_after=30"
        page = browser.new_page(bypass_csp=True)
        page.goto(web.url)
        step(page, "device")
        go_on(page, "to-connect", "connect")
        add_port(page, "N plug, power cut", cut)
        page.select_option("[data-testid=port]", value=cut)
        refresh_ports(page)  # a refresh keeps the chosen port when it is still listed
        assert page.input_value("[data-testid=port]") != cut  # the injected option is gone: chosen port fell back
        add_port(page, "N plug, power cut", cut)
        page.select_option("[data-testid=port]", value=cut)
        page.click("[data-testid=backup]")
        page.wait_for_selector("[data-testid=download]", timeout=60000)
        assert list((tmp_path / "home" / "backups").glob("BK7231N-*.bin"))  # the backup came first
        go_on(page, "next-connect", "pins")
        go_on(page, "to-flash", "flash")
        page.set_input_files("[data-testid=firmware]", str(fw))
        page.uncheck("[data-testid=configure]")
        page.click("[data-testid=flash]")
        page.wait_for_selector("#flash-result.error", timeout=120000)
        assert "stopped answering" in page.inner_text("#flash-result")

        page.reload()
        step(page, "flash")  # the journey: backed up, not flashed
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
            step(page, "device")
            backup_in_page(page, "Simulated BK7231N plug")
            go_on(page, "next-connect", "pins")
            go_on(page, "to-flash", "flash")
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
        step(page, "device")
        go_on(page, "to-connect", "connect")
        swapped = "sim://bk7231n?time_scale=0&wiring=swapped"
        add_port(page, "N plug, TX/RX swapped", swapped)
        page.select_option("[data-testid=port]", value=swapped)
        page.click("[data-testid=backup]")
        page.wait_for_selector("#backup-result.error", timeout=60000)
        text = page.inner_text("[data-testid=backup-result]")
        assert "Nothing arrives on the adapter's RX" in text and "swapping TX and RX" in text, text
        assert "Traceback" not in text and "Error:" not in text
        shot(page, "step-1-link-diagnosis")
        assert page.is_hidden("[data-testid=next-connect]")  # no way on without a backup
        page.close()


def test_the_keyboard_alone_goes_on_and_the_page_fits_1024_px(browser, tmp_path):
    with WebServer(workdir=tmp_path / "web") as web:
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.goto(web.url)
        step(page, "device")
        for _ in range(40):  # Tab through the page as a keyboard user does
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.dataset.testid") == "to-connect":
                break
        else:
            raise AssertionError("the way on cannot be reached with Tab")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("none", ""), outline  # the focus is visible
        page.keyboard.press("Enter")
        step(page, "connect")
        assert page.evaluate("document.activeElement.tagName") == "H2"  # focus follows to the new step
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "family"  # the step's first control: the chip family
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "module"
        page.wait_for_function("document.getElementById('module').options.length > 1")  # the list arrives by fetch
        page.keyboard.press("ArrowDown")  # a module picked with the keyboard draws its wiring
        page.wait_for_selector("[data-testid=wiring]:not([hidden])")
        for name in ("connect", "device"):
            page.evaluate(f"go('{name}', false)")
            assert page.evaluate("document.documentElement.scrollWidth") <= 1024  # no sideways scrolling
        page.close()


def test_a_fresh_browser_lists_the_plugs_in_progress_and_continues_one(browser, tmp_path):
    """Another browser, or the same one after its storage was cleared: freebeken's own records say
    which plugs are half-way, and picking one opens it at its next step."""
    from freebeken.web.chip_jobs import backup
    from freebeken.web.jobs import Job

    for chip in ("bk7231t", "bk7231n"):
        backup(f"sim://{chip}?time_scale=0&image={tmp_path / chip}.bin", 5, Job(chip, "backup"))
    with WebServer(workdir=tmp_path / "web") as web:
        page = browser.new_page()
        page.goto(web.url)
        page.wait_for_selector("[data-testid=plugs]:not([hidden])")
        buttons = page.locator("[data-testid=plug-list] button")
        assert buttons.count() == 2 and "next: the pins" in buttons.first.inner_text()
        page.click("[data-testid=plug-list] button:has-text('BK7231N')")
        step(page, "pins")
        assert "BK7231N plug" in page.inner_text("[data-testid=plug-name]")
        page.click("[data-testid=switch-plug]")  # and back to the list, without the one open
        page.wait_for_selector("[data-testid=plugs]:not([hidden])")
        assert page.locator("[data-testid=plug-list] button").count() == 1
        page.click("[data-testid=new-plug]")
        step(page, "device")
        page.close()


def test_the_page_fits_a_390_px_phone_and_labels_its_fields(browser, tmp_path):
    """Every step on a 390 px phone screen without sideways scrolling; the fields of the flash, Wi-Fi
    and Home Assistant steps carry visible labels (no placeholder standing in for one); the lookup
    answers from the list that works, with a copy of the other given to the page."""
    with WebServer(workdir=tmp_path / "web") as web:
        page = browser.new_page(viewport={"width": 390, "height": 844}, bypass_csp=True)
        page.goto(web.url)
        step(page, "device")
        for name in ("device", "connect", "pins", "flash", "network", "live", "home_assistant", "done", "restore"):
            page.evaluate(f"go('{name}', false)")
            page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (name, width)
            shot(page, f"phone-{name}")
        fields = page.evaluate("""() => [...document.querySelectorAll(
            'section[data-step=flash] input:not([type=radio]):not([type=checkbox]), section[data-step=network] input, '
            + 'section[data-step=home_assistant] input')].map((i) => [i.id, i.placeholder,
            !!document.querySelector(`label[for="${i.id}"]`) && document.querySelector(`label[for="${i.id}"]`).textContent.trim()])""")
        assert fields and all(not placeholder and label for _id, placeholder, label in fields), fields
        data = SHARED / "data"
        if (data / "devices.json").exists():
            page.evaluate("go('device', false)")
            page.set_input_files("[data-testid=copy-devices]", str(data / "devices.json"))
            page.wait_for_function("document.getElementById('log').textContent.includes('Using your copy')")
            page.fill("[data-testid=product]", "Aoycocr U3")
            page.fill("[data-testid=app-firmware]", "1.1.8")
            page.click("[data-testid=lookup]")
            page.wait_for_selector("#lookup-result.ok")
            text = page.inner_text("[data-testid=lookup-result]")
            assert "tuya-cloudcutter not checked" in text and "connection refused" in text and "urlopen" not in text
            assert "OpenBeken template: Aoycocr U3 UK Smart Plug (BK7231T): P" in text
            assert page.locator("#lookup-result a", has_text="wiki").count() >= 1
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            shot(page, "phone-lookup")
        page.close()
