"""The local page with an RTL8720CF (Tuya WBR2/WBR3) or LN882H: the family choice and what the
person does differently (the boot pin), the modules' wiring drawn from their pin data, and backup ->
flash -> verify -> restore through the page's jobs on the family simulators, the same journey as
`freebeken convert` keeps."""

from __future__ import annotations

import json
import re

import pytest

from freebeken.convert.journey import Journey
from freebeken.families.registry import spec_by_chip
from freebeken.sim.family_images import release_image
from freebeken.web.server import WebServer
from helpers import releases_stub
from test_family_journey import MAC, RELEASES, sealed_plug
from test_web_api import call, job_result


@pytest.fixture
def web(tmp_path):
    with WebServer(workdir=tmp_path / "web") as server:
        yield server


def get(web, path):
    status, _, body = call(web, path)
    assert status == 200, body
    return json.loads(body)


def run(web, path, body):
    status, _, answer = call(web, path, body)
    assert status == 200, answer
    return job_result(web, json.loads(answer)["job"])


def test_the_page_offers_the_families_and_says_what_is_done_differently(web, tmp_path):
    families = {f["name"]: f for f in get(web, "/api/families")["families"]}
    assert list(families) == ["beken", "rtl8720cf", "ln882h"]
    assert "WBR3" in families["rtl8720cf"]["label"] and "WL2S" in families["ln882h"]["label"]
    assert (
        "PA00 at 3.3 V" in families["rtl8720cf"]["download_mode"]
        and "after freebeken has linked" in families["rtl8720cf"]["download_mode"]
    )
    assert "BOOT (PA09) to GND" in families["ln882h"]["download_mode"]
    assert "take the wire off PA00" in families["rtl8720cf"]["restart"]
    assert families["rtl8720cf"]["release"] == "OpenRTL87X0C_<version>.bin"
    status, _, body = call(web, "/api/backup", {"port": "sim://bk7231t?time_scale=0", "chip": "rtl8720cf"})
    assert status == 400 and b"holds a BK7231T, but the page's chip family is RTL8720CF" in body
    ports = {p.get("family"): p["port"] for p in get(web, "/api/ports")["ports"]}
    assert ports["rtl8720cf"].startswith("sim://rtl8720cf?") and ports["ln882h"].startswith("sim://ln882h?")
    assert len(get(web, "/api/modules")["modules"]) == 16  # Beken's, as before
    status, _, body = call(web, "/api/modules?family=esp8266")
    assert status == 400 and b"No chip family" in body


PADS = {  # the pads each wire must reach, from the modules' pin data (LibreTiny's board files)
    "WBR3": ["pad 9 (GND)", "pad TA_15 (PA15, RX2)", "pad 11 (PA16, TX2)", "pad TA_0 (PA00, boot)", "pad 8 (3V3)"],
    "WBR2": ["pad GND (GND)", "pad RX2 (PA15, RX2)", "pad TX2 (PA16, TX2)", "pad A_0 (PA00, boot)", "pad 3V3 (3V3)"],
    "WL2S": ["pad 3 (GND)", "pad 5 (PA03, RX0)", "pad 7 (PA02, TX0)", "pad TA9 (PA09, BOOT)", "pad 1 (3V3)"],
    "WL2H-U": ["pad 13 (GND)", "pad 16 (PA03, RX0)", "pad 15 (PA02, TX0)", "pad TA9 (PA09, BOOT)", "pad 14 (3V3)"],
}


@pytest.mark.parametrize("family,names", [("rtl8720cf", ["WBR3", "WBR2"]), ("ln882h", ["WL2S", "WL2H-U"])])
def test_the_wiring_of_the_common_modules_is_drawn_with_the_boot_pin(web, family, names):
    modules = {m["name"]: m for m in get(web, f"/api/modules?family={family}")["modules"]}
    assert list(modules) == names
    boot = "3V3 (boot)" if family == "rtl8720cf" else "GND (boot)"
    for name, m in modules.items():
        assert m["family"] == family and m["datasheet"].startswith("https://")
        assert [w["adapter"] for w in m["wires"]] == ["GND", "TX", "RX", boot, "3V3"]
        assert [w["pad"].split(")")[0] + ")" for w in m["wires"]] == PADS[name]
        status, headers, svg = call(web, f"/api/wiring?module={name}")
        assert status == 200 and headers["content-type"].startswith("image/svg+xml")
        text = svg.decode()
        assert text.count("<polyline") == 5 and f">{boot}<" in text
        desc = re.search(r"<desc[^>]*>(.*?)</desc>", text).group(1)  # the picture in words
        for pad in PADS[name]:
            assert pad.split(" (")[0] in desc
        # the pads carrying a wired signal are highlighted (WL2S's second GND on the back too), no others
        from freebeken.web.family_modules import FAMILY_MODULES

        module = FAMILY_MODULES[name]
        wired = {w.signal for w in module.connections}
        assert text.count('fill="#ffd54f"') == sum(1 for _, signal in module.pads if signal in wired) >= 5


def test_wbr3_backup_flash_verify_restore_from_the_page(web, tmp_path, monkeypatch):
    """A sealed WBR3 on the simulated adapter: backed up (its pins read: RTL87X0C template), a Beken
    image refused by its bytes, the newest RTL87X0C release flashed and proven, verified by the chip's
    SHA-256, the configuration refused with words, then the backup restored byte for byte."""
    from helpers import firmware_file

    server = releases_stub({name: release_image(chip) for chip, name in RELEASES.items()}, "1.18.230")
    monkeypatch.setenv("FREEBEKEN_RELEASES_URL", f"{server.base}/releases")
    image = sealed_plug(tmp_path, "rtl8720cf")
    stock = image.read_bytes()
    port = f"sim://rtl8720cf?time_scale=0&mac={MAC['rtl8720cf']}&image={image}"
    try:
        done = run(web, "/api/backup", {"port": port})
        assert done["kind"] == "done", done
        view = done["result"]["journey"]
        assert view["family"] == "rtl8720cf" and view["chip"] == "RTL8720CF" and view["next"] == "pins"
        assert view["steps"]["analyze"]["template"]["chip"] == "RTL87X0C"
        assert view["steps"]["analyze"]["template"]["pins"] == {"13": "LED;1", "14": "Btn;1", "18": "Rel;1"}
        backup = view["steps"]["backup"]["path"]
        assert open(backup, "rb").read() == stock

        beken, _ = firmware_file(tmp_path, "bk7231n")
        _, _, body = call(web, f"/api/upload?name={beken.name}", raw=beken.read_bytes())
        refused = run(web, "/api/flash", {"port": port, "firmware": json.loads(body)["path"]})
        assert refused["kind"] == "error" and "this chip is an RTL8720CF" in refused["message"]
        status, _, body = call(
            web, "/api/flash", {"port": port, "firmware": "latest", "configure": {"ssid": "x", "broker": "mqtt://127.0.0.1"}}
        )
        assert status == 400 and b"not available for the RTL8720CF" in body  # before linking
        assert image.read_bytes() == stock  # nothing was written by either

        flashed = run(web, "/api/flash", {"port": port, "firmware": "latest"})
        assert flashed["kind"] == "done", flashed
        result = flashed["result"]
        assert result["firmware"] == RELEASES["rtl8720cf"] and result["proven_by"] == "sha256" and result["kept"] == 1
        assert "take the wire off PA00" in result["restart"] and result["journey"]["next"] == "network"
        release = release_image("rtl8720cf")
        now = image.read_bytes()
        assert now[0xC000 : len(release)] == release[0xC000:] and now[0x2000:0x3000] == stock[0x2000:0x3000]

        verified = run(web, "/api/verify", {"port": port})
        assert verified["kind"] == "done" and verified["result"]["file"] == RELEASES["rtl8720cf"], verified
        status, _, body = call(web, "/api/verify", {"port": "sim://bk7231n?time_scale=0"})
        assert status == 400 and b"RTL8720CF and LN882H" in body

        restored = run(web, "/api/restore", {"port": port, "path": backup})
        assert restored["kind"] == "done", restored
        assert image.read_bytes() == stock
        back = restored["result"]["journey"]
        assert "flash" not in back["steps"] and back["next"] == "pins" and back["restored"]["path"] == backup  # flash again
        again = run(web, "/api/verify", {"port": port, "path": backup})
        assert again["kind"] == "done" and again["result"]["file"].startswith("rtl8720cf-")
        # backing up the restored chip again: its existing backup is found by its content (this device's calibration)
        twice = run(web, "/api/backup", {"port": port})["result"]["journey"]["steps"]["backup"]
        assert twice["made"] is False and twice["path"] == backup
        assert len(list((tmp_path / "home" / "backups").glob("rtl8720cf-*.bin"))) == 1
    finally:
        server.stop()


def test_ln882h_through_the_page_with_the_family_chosen_and_a_resumed_flash(web, tmp_path):
    """The family is named by the page's choice as well as by the port; a flash cut by a power loss
    is finished by “Resume”; the read-back family proves what it wrote."""
    image = sealed_plug(tmp_path, "ln882h", config=None)
    fw = tmp_path / RELEASES["ln882h"]
    fw.write_bytes(release_image("ln882h"))
    _, _, body = call(web, f"/api/upload?name={fw.name}", raw=fw.read_bytes())
    uploaded = json.loads(body)["path"]
    base = f"sim://ln882h?time_scale=0&mac={MAC['ln882h']}&image={image}"
    done = run(web, "/api/backup", {"port": base, "chip": "ln882h"})
    assert done["kind"] == "done" and done["result"]["journey"]["family"] == "ln882h", done
    cut = run(web, "/api/flash", {"port": base + "&power_cut_after=200", "firmware": uploaded, "chip": "ln882h"})
    assert cut["kind"] == "error", cut
    ident = done["result"]["journey"]["identity"]
    assert Journey.load(ident).flashed is None
    resumed = run(web, "/api/resume", {"port": base, "chip": "ln882h"})
    assert resumed["kind"] == "done" and resumed["result"]["pending"] is True, resumed
    assert resumed["result"]["resumed"] is True and resumed["result"]["proven_by"] == "readback"
    release = release_image("ln882h")
    keep = spec_by_chip("ln882h").region("calibration")
    now = image.read_bytes()
    assert keep.start > len(release) and now[: len(release)] == release
    nothing = run(web, "/api/resume", {"port": base, "chip": "ln882h"})
    assert nothing["result"]["pending"] is False


@pytest.mark.parametrize(
    "module,pins,pads",
    [
        ("WBR3", {"18": "Rel;1", "14": "Btn;1"}, ["pad 13 · relay", "pad 16 · button"]),  # PA18, PA14
        ("WL2S", {"19": "Rel;1", "3": "LED;1"}, ["pad 9 · relay", "pad 5 · LED"]),  # B3 = 19, A3 = 3 (OpenBeken's numbering)
    ],
)
def test_the_template_picture_names_the_family_modules_pads(web, module, pins, pads):
    chip = "RTL87X0C" if module.startswith("WBR") else "LN882H"
    _, _, body = call(
        web, "/api/template/picture", {"text": json.dumps({"name": "x", "chip": chip, "pins": pins}), "module": module}
    )
    svg = json.loads(body)["svg"]
    for pad in pads:
        assert pad in svg, svg
