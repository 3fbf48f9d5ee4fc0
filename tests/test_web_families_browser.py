"""The page in headless Chromium with a WBR3 (RTL8720CF) plug: the family chosen, the boot pin said
before anything links, the module's wiring drawn, backup -> pins -> flash (no "set it up while
flashing") -> verify -> the access point of the plug on the simulated OpenBeken device. Screenshots
go to ``artifacts/`` (``FREEBEKEN_ARTIFACTS=docs/screens`` for docs/web.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from freebeken.sim.family_images import release_image
from freebeken.web.server import WebServer
from test_family_journey import MAC, RELEASES, sealed_plug
from test_web import CHROMIUM, accessible, add_port, browser, chromium, go_on, shot, step  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing: run scripts/test")


def test_a_wbr3_plug_through_the_page(browser, tmp_path):  # noqa: F811
    image = sealed_plug(tmp_path, "rtl8720cf")
    fw = tmp_path / RELEASES["rtl8720cf"]
    fw.write_bytes(release_image("rtl8720cf"))
    url = f"sim://rtl8720cf?time_scale=0.02&mac={MAC['rtl8720cf']}&image={image}"
    with WebServer(workdir=tmp_path / "web") as web:
        page = browser.new_page(viewport={"width": 1024, "height": 900}, bypass_csp=True)
        page.goto(web.url)
        step(page, "device")
        go_on(page, "to-connect", "connect")
        page.wait_for_selector("#family option[value=rtl8720cf]", state="attached")
        assert page.is_hidden("[data-testid=download-mode]")  # a Beken needs no boot pin
        page.select_option("[data-testid=family]", "rtl8720cf")
        page.wait_for_selector("#module option[value=WBR3]", state="attached")
        assert page.locator("#module option[value=WB2S]").count() == 0  # only the family's modules
        said = page.inner_text("[data-testid=download-mode]")
        assert "PA00 at 3.3 V" in said and "after freebeken has linked" in said
        page.select_option("[data-testid=module]", "WBR3")
        page.wait_for_function("document.getElementById('wiring').complete && document.getElementById('wiring').naturalWidth > 0")
        wires = page.inner_text("[data-testid=wires]")
        assert "Adapter TX → pad TA_15 (PA15, RX2) (a test point on the back)" in wires
        assert "Adapter 3V3 (boot) → pad TA_0 (PA00, boot)" in wires and "take it off before the first boot" in wires
        assert "pad 11 (PA16, TX2)" in page.get_attribute("[data-testid=wiring]", "alt")
        accessible(page)
        shot(page, "family-wbr3-wiring")
        add_port(page, "WBR3 plug on the adapter", url)
        page.select_option("[data-testid=port]", value=url)
        page.click("[data-testid=backup]")
        page.wait_for_selector("[data-testid=download]", timeout=120000)
        assert "RTL8720CF" in page.inner_text("[data-testid=backup-result]")
        go_on(page, "next-connect", "pins")
        page.wait_for_selector("#problems li.ok")
        assert '"18": "Rel;1"' in page.input_value("[data-testid=template]")
        assert "WBR3" in page.inner_text("[data-testid=analysis]")
        go_on(page, "to-flash", "flash")
        assert page.is_hidden("#configure-box") and not page.is_checked("[data-testid=configure]")
        assert "take the wire off PA00" in page.inner_text("[data-testid=family-flash-note]")
        page.check("[data-testid=fw-own]")
        page.set_input_files("[data-testid=firmware]", str(fw))
        page.click("[data-testid=flash]")
        page.wait_for_selector("#flash-result.ok", timeout=120000)
        result = page.inner_text("#flash-result")
        assert "all verified" in result and "sha256" in result and "take the wire off PA00" in result
        shot(page, "family-wbr3-flashed")
        page.click("[data-testid=verify]")
        page.wait_for_function("document.getElementById('flash-result').textContent.startsWith('The chip holds')", timeout=120000)
        assert RELEASES["rtl8720cf"] in page.inner_text("#flash-result")
        go_on(page, "next-flash", "network")
        assert page.is_visible("#access-point") and page.inner_text("#ap-name") == "OpenRTL87X0C_…"
        page.click("[data-testid=sim-power]")  # the simulated plug, off the adapter, without the boot pin
        page.wait_for_function("document.getElementById('sim-words').textContent.includes('powered on')")
        assert page.input_value("[data-testid=ap]").startswith("127.0.0.1:")  # its access point, served here
        shot(page, "family-wbr3-access-point")
        page.close()
