"""The local page's HTTP API without a browser: the guard (token, origin, bodies), security
headers, plain messages for bad templates, the restore step judged by content, and cleanup."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.parse
import urllib.request

import pytest

from freebeken.web.server import WebServer
from helpers import SHARED, require_shared

DUMPS = SHARED / "dumps"


@pytest.fixture
def web(tmp_path):
    with WebServer(workdir=tmp_path / "web") as server:
        yield server


def call(web, path, body=None, *, token=True, headers=None, raw=None, query_token=False):
    url = f"http://127.0.0.1:{web.port}{path}"
    if query_token:
        url += ("&" if "?" in url else "?") + f"token={web.token}"
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if data is not None:
        request.add_header(
            "Content-Type", "application/octet-stream" if raw is not None and "upload" in path else "application/json"
        )
    if token:
        request.add_header("X-Freebeken-Token", web.token)
    for k, v in (headers or {}).items():
        request.add_header(k, v)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def job_result(web, job: str) -> dict:
    """Follow a job's server-sent events to its end: the result, or the error record."""
    url = f"http://127.0.0.1:{web.port}/api/jobs/{job}/events?token={web.token}"
    with urllib.request.urlopen(url, timeout=60) as stream:
        for line in stream:
            if line.startswith(b"data: "):
                record = json.loads(line[6:])
                if record["kind"] in ("done", "error"):
                    return record
    raise AssertionError("the job's events ended without a result")


def test_the_guard_refuses_cleanly(web):
    assert call(web, "/api/ports", token=False, headers={"X-Freebeken-Token": "\u00fcber"})[0] == 403  # was 500
    assert call(web, "/api/ports", token=False, headers={"X-Freebeken-Token": "wrong"})[0] == 403
    assert call(web, "/api/ports", token=False, query_token=True)[0] == 200  # GET (EventSource, links) may
    assert call(web, "/api/template/check", {"text": "{}"}, token=False, query_token=True)[0] == 403  # POST may not
    status, _, body = call(web, "/api/template/check", raw=b"{not json", headers={"Content-Type": "application/json"})
    assert status == 400 and b"not valid JSON" in body
    assert call(web, "/api/template/check", ["a list"])[0] == 400
    evil = call(web, "/api/template/check", {"text": "{}"}, headers={"Origin": "http://evil.example"})
    assert evil[0] == 403
    own = call(web, "/api/template/check", {"text": "{}"}, headers={"Origin": f"http://127.0.0.1:{web.port}"})
    assert own[0] == 200


def test_security_headers_on_page_and_api(web):
    for path in ("/", "/api/ports", "/static/app.js"):
        _, headers, _ = call(web, path)
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"


def test_apply_explains_an_empty_or_broken_template(web):
    status, _, body = call(web, "/api/apply", {"host": "127.0.0.1:1", "template": ""})
    assert status == 400 and "no template yet" in json.loads(body)["error"]
    status, _, body = call(web, "/api/apply", {"host": "127.0.0.1:1", "template": '{"pins": {"7": "Rel;1",}}'})
    error = json.loads(body)["error"]
    assert status == 400 and "not valid JSON (line 1, column" in error and "JSONDecodeError" not in error


@pytest.mark.shared("dumps")
def test_restore_on_the_page_is_judged_by_content(web, tmp_path):
    image = tmp_path / "t.bin"
    shutil.copyfile(DUMPS / "t_wb3l_bulb_sm2135_globe_37783.bin", image)
    port = f"sim://bk7231t?time_scale=0&image={image}"
    before = image.read_bytes()
    _, _, body = call(web, "/api/upload?name=n.bin", raw=(DUMPS / "n_cb2s_plug_mirabella_i003632.bin").read_bytes())
    uploaded = json.loads(body)["path"]
    _, _, body = call(web, "/api/restore", {"port": port, "path": uploaded})
    record = job_result(web, json.loads(body)["job"])
    assert record["kind"] == "error" and "BK7231N dump" in record["message"]
    assert image.read_bytes() == before
    # the chip's own backup, from the list the page shows
    _, _, body = call(web, "/api/backup", {"port": port})
    assert job_result(web, json.loads(body)["job"])["kind"] == "done"
    _, _, body = call(web, "/api/backups")
    [listed] = json.loads(body)["backups"]
    _, _, body = call(web, "/api/restore", {"port": port, "path": listed["path"]})
    assert job_result(web, json.loads(body)["job"])["kind"] == "done"
    assert image.read_bytes() == before
    status, _, body = call(web, "/api/restore", {"port": port, "path": "/etc/passwd"})
    assert status == 400 and "Choose one of the backups" in json.loads(body)["error"]


def test_the_temporary_folder_goes_when_the_server_stops():
    server = WebServer().start()
    folder = server.workdir
    call(server, "/api/upload?name=fw.bin", raw=b"x" * 100)
    assert (folder / "uploads" / "fw.bin").exists()
    server.stop()
    assert not folder.exists()


def test_template_check_with_a_lone_surrogate_answers_with_a_problem(web):
    status, _, body = call(web, "/api/template/check", {"text": '{"name": "\\ud800", "pins": {"\\ud800": "Rel;1"}}'})
    result = json.loads(body)
    assert status == 200 and not result["ok"] and any("cannot be stored" in p["message"] for p in result["problems"])


def test_lookup_before_opening_the_plug(web, tmp_path, monkeypatch):
    """The page's first question, answered from both lists (the cloudcutter one in its API format)."""
    data = SHARED / "data"
    require_shared("data/cloudcutter.json")
    snap = json.loads((data / "cloudcutter.json").read_text())
    api = tmp_path / "api"
    api.mkdir()
    (api / "devices.json").write_text(json.dumps([{**d, "slug": s} for s, d in snap["devices"].items()]))
    (api / "profiles.json").write_text(json.dumps([{**p, "slug": s} for s, p in snap["profiles"].items()]))
    monkeypatch.setenv("FREEBEKEN_DEVICES_URL", (data / "devices.json").as_uri())
    monkeypatch.setenv("FREEBEKEN_CLOUDCUTTER_URL", api.as_uri())
    status, _, body = call(web, "/api/lookup", {"text": "aoycocr x5p", "firmware": "1.1.8"})
    assert status == 200, body
    found = json.loads(body)
    assert found["cloudcutter"][0]["no_solder"].startswith(
        "likely without opening it: tuya-cloudcutter has a profile for firmware 1.1.8"
    )
    status, _, body = call(web, "/api/lookup", {"text": ""})
    assert status == 400 and b"Type what the box" in body


@pytest.mark.parametrize("chip", ["bk7231u", "bk7231m", "bk7238", "bk7252n"])
def test_the_page_backs_up_flashes_and_restores_every_chip(web, tmp_path, chip):
    from helpers import firmware_file

    image = tmp_path / "chip.bin"
    port = f"sim://{chip}?time_scale=0&image={image}"
    fw, body_at_app = firmware_file(tmp_path, chip)
    _, _, body = call(web, f"/api/upload?name={fw.name}", raw=fw.read_bytes())
    _, _, body = call(web, "/api/flash", {"port": port, "firmware": json.loads(body)["path"]})
    record = job_result(web, json.loads(body)["job"])
    assert record["kind"] == "done", record
    assert record["result"]["backup"] and chip.upper() in record["result"]["backup"]  # made first, as everywhere
    assert image.read_bytes()[0x11000 : 0x11000 + len(body_at_app)] == body_at_app
    _, _, body = call(web, "/api/backups")
    [listed] = json.loads(body)["backups"]
    _, _, body = call(web, "/api/restore", {"port": port, "path": listed["path"]})
    assert job_result(web, json.loads(body)["job"])["kind"] == "done"
    assert image.read_bytes() == open(listed["path"], "rb").read()


@pytest.mark.parametrize("chip", ["bk7231t", "bk7231n", "bk7238"])
def test_the_page_flashes_the_newest_release_for_the_chip_it_finds(web, tmp_path, monkeypatch, chip):
    """No file to pick: the server links, sees the chip, and fetches that chip's release (checked)."""
    from freebeken.chips import CHIPS
    from helpers import firmware_file, releases_stub

    files = {}
    for name in CHIPS:
        path, _ = firmware_file(tmp_path, name, size=60_000)
        files[path.name.replace("1.17.1", "1.18.0")] = path.read_bytes()

    server = releases_stub(files)
    monkeypatch.setenv("FREEBEKEN_RELEASES_URL", f"{server.base}/releases")
    image = tmp_path / "chip.bin"
    try:
        _, _, body = call(web, "/api/flash", {"port": f"sim://{chip}?time_scale=0&image={image}", "firmware": "latest"})
        record = job_result(web, json.loads(body)["job"])
    finally:
        server.stop()
    want = f"{CHIPS[chip].firmware_prefix}1.18.0.bin"
    assert record["kind"] == "done" and record["result"]["firmware"] == want, record
    app = files[want] if CHIPS[chip].is_bim else files[want][0x11000:]
    assert image.read_bytes()[0x11000 : 0x11000 + len(app)] == app


class Stop(Exception):
    pass


class StopAtTheAccessPoint:
    """A person at the terminal who walks away when told to join the plug's access point."""

    def confirm(self, question: str) -> bool:
        return True

    def pause(self, instruction: str) -> None:
        raise Stop(instruction)

    def ask(self, question: str, default: str = "") -> str:
        raise AssertionError(question)


def test_the_page_and_convert_continue_each_others_journey(web, tmp_path):
    """The page backs the plug up and keeps an edited template; `freebeken convert` then uses
    that backup (no second one) and flashes; the page sees convert's flash and goes on."""
    from freebeken.convert.wizard import Options, convert
    from helpers import firmware_file

    image = tmp_path / "chip.bin"
    port = f"sim://bk7231t?time_scale=0&image={image}"
    _, _, body = call(web, "/api/backup", {"port": port})
    done = job_result(web, json.loads(body)["job"])["result"]
    view = done["journey"]
    assert view["next"] == "pins" and view["steps"]["backup"]["made"] is True
    backup = view["steps"]["backup"]
    assert len(backup["sha256"]) == 64 and backup["size"] == 0x200000
    edited = json.dumps({"name": "Hall plug", "chip": "BK7231T", "pins": {"7": "Rel;1", "8": "Btn;1"}})
    status, _, body = call(web, "/api/journey/template", {"journey": view["identity"], "text": edited})
    assert status == 200 and json.loads(body)["next"] == "flash"
    status, _, body = call(web, "/api/journey/template", {"journey": view["identity"], "text": '{"pins": {"7": "Nope;1"}}'})
    assert status == 400 and b"Nope" in body  # a template the firmware refuses is not kept

    fw, _ = firmware_file(tmp_path, "bk7231t")
    with pytest.raises(Stop):
        convert(Options(port=port, firmware=str(fw)), StopAtTheAccessPoint())
    assert len(list((tmp_path / "home" / "backups").glob("*.bin"))) == 1  # convert used the page's backup
    _, _, body = call(web, "/api/journeys")
    [listed] = json.loads(body)["journeys"]
    assert listed["identity"] == view["identity"] and listed["next"] == "network"
    _, _, body = call(web, f"/api/journey?id={view['identity']}")
    seen = json.loads(body)
    assert seen["steps"]["flash"]["firmware"] == fw.name and seen["steps"]["flash"]["verified"] is True
    assert seen["steps"]["backup"]["path"] == backup["path"]

    from freebeken.convert.journey import Journey

    assert Journey.load(view["identity"]).chosen_template().to_entry()["pins"] == {"7": "Rel;1", "8": "Btn;1"}


def test_journey_names_are_not_paths(web):
    for name in ("../../etc/passwd", "", "BK7231T-NOSUCH"):
        status, _, body = call(web, f"/api/journey?id={urllib.parse.quote(name)}")
        assert status == 400 and b"no conversion of a plug called" in body, (name, body)


def test_errors_reach_the_page_in_plain_words(web, monkeypatch):
    status, _, body = call(web, "/api/backup", {})
    said = json.loads(body)
    assert status == 400 and said["error"] == "The page's request lacks 'port'" and "KeyError" not in body.decode()

    from freebeken.web import chip_jobs

    def broken(*args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(chip_jobs, "backup", broken)
    _, _, body = call(web, "/api/backup", {"port": "sim://bk7231t?time_scale=0"})
    record = job_result(web, json.loads(body)["job"])
    assert record["kind"] == "error" and "internal error" in record["message"]
    assert "ZeroDivision" not in json.dumps(record) and "division by zero" not in json.dumps(record)


def test_every_module_has_a_wiring_picture_with_five_wires(web):
    from freebeken.chips import CHIPS

    _, _, body = call(web, "/api/modules")
    modules = json.loads(body)["modules"]
    assert {m["chip"] for m in modules} <= set(c.upper() for c in CHIPS) and len(modules) == 16
    for m in modules:
        status, headers, svg = call(web, f"/api/wiring?module={m['name']}")
        assert status == 200 and headers["content-type"].startswith("image/svg+xml")
        assert svg.count(b"<polyline") == 5 and m["datasheet"].startswith("https://developer.tuya.com/")
        assert [w["adapter"] for w in m["wires"]] == ["GND", "TX", "RX", "RTS", "3V3"]
        assert "(P10, RX1)" in m["wires"][1]["pad"] and "(P11, TX1)" in m["wires"][2]["pad"]
    assert call(web, "/api/wiring?module=ESP-12F")[0] == 404


def test_the_template_picture_names_each_pin(web):
    text = json.dumps({"name": "x", "pins": {"7": "Rel;1", "26": "PWM;2", "10": "Btn_n;1"}})
    _, _, body = call(web, "/api/template/picture", {"text": text, "module": "CB2S"})
    svg = json.loads(body)["svg"]
    assert "P7: relay, channel 1" in svg and "P26: light (PWM), channel 2" in svg and "pad 11" in svg
    assert "P10: button (inverted), channel 1" in svg


def test_home_assistant_with_nothing_to_switch_is_a_warning_not_green():
    from freebeken.convert.journey import verdict
    from freebeken.ha.operations import SetupResult

    def result(problems):
        return SetupResult("plug", "Plug", True, [], "round trip ok", problems)

    assert verdict(result([])) == "verified"
    assert verdict(result(["the template gives Home Assistant nothing to switch or show (no relay, light, ...)"])) == "warning"
    assert verdict(result(["switch.plug_1: no state topic", "the template gives Home Assistant nothing to switch"])) == "failed"


def test_flashing_the_same_image_again_with_a_configuration_still_has_its_backup(web, tmp_path):
    """Nothing to write (the image is already there): the configuration step still finds the
    backup it reads the stock pins from, instead of failing on a missing one."""
    from helpers import firmware_file

    image = tmp_path / "chip.bin"
    port = f"sim://bk7231t?time_scale=0&image={image}"
    fw, _ = firmware_file(tmp_path, "bk7231t")
    _, _, body = call(web, f"/api/upload?name={fw.name}", raw=fw.read_bytes())
    path = json.loads(body)["path"]
    assert job_result(web, json.loads(call(web, "/api/flash", {"port": port, "firmware": path})[2])["job"])["kind"] == "done"
    for backup in (tmp_path / "home" / "backups").glob("*"):
        backup.unlink()  # as if it were made elsewhere: the journey must not lean on a missing file
    from freebeken.convert.journey import folder

    [state] = folder().glob("*.json")  # the journey file as a crash or an older version may leave it
    record = json.loads(state.read_text())
    record["steps"].pop("backup")
    state.write_text(json.dumps(record))
    settings = {"ssid": "HomeWiFi", "password": "secret-pass", "broker": "mqtt://127.0.0.1:1883", "name": "Hall"}
    record = job_result(
        web, json.loads(call(web, "/api/flash", {"port": port, "firmware": path, "configure": settings})[2])["job"]
    )
    assert record["kind"] == "done", record
    assert record["result"]["written"] == 0 and record["result"]["configured"]["client_id"] == "hall"
    assert record["result"]["journey"]["steps"]["backup"]["made"] is True


def test_a_key_error_from_a_bug_is_an_internal_error_not_the_pages_fault(web, monkeypatch):
    """Only what the request lacks is the page's fault: a KeyError deep in freebeken is a bug, said
    as one (and printed in the terminal), never "the page's request lacks 'steps'"."""
    from freebeken.web import chip_jobs

    def buggy(*args):
        return {}["steps"]

    monkeypatch.setattr(chip_jobs, "backup", buggy)
    _, _, body = call(web, "/api/backup", {"port": "sim://bk7231t?time_scale=0"})
    record = job_result(web, json.loads(body)["job"])
    assert record["kind"] == "error" and "internal error" in record["message"] and "lacks" not in record["message"]
    status, _, body = call(web, "/api/backup", {"port": "sim://bk7231t?time_scale=0", "timeout": "soon"})
    assert status == 400 and b"timeout must be a number" in body


def test_lookup_answers_from_the_list_that_works_and_takes_a_local_copy(web, tmp_path):
    """Offline (both lists point at a dead port): the answer names each list not checked with its
    reason in words; a copy of the OpenBeken list given to the page answers, pins and wiki link
    included, while the cloudcutter one is still said to be missing."""
    data = SHARED / "data"
    require_shared("data/devices.json")
    status, _, body = call(web, "/api/lookup", {"text": "aoycocr u3"})
    assert status == 400 and b"Neither public list" in body and b"urlopen" not in body and b"Errno" not in body
    _, _, body = call(web, "/api/upload?name=devices.json", raw=(data / "devices.json").read_bytes())
    copy = json.loads(body)["path"]
    status, _, body = call(web, "/api/lookup", {"text": "aoycocr u3", "firmware": "1.1.8", "devices_json": copy})
    found = json.loads(body)
    assert status == 200, body
    hit = next(h for h in found["openbeken"] if h["title"] == "Aoycocr U3 UK Smart Plug")
    assert "P7 Rel;1" in hit["pins"] and (hit["wiki"] or "").startswith("http")
    assert [u["list"] for u in found["unavailable"]] == ["tuya-cloudcutter"]
    assert "connection refused" in found["unavailable"][0]["error"] and "urlopen" not in found["unavailable"][0]["error"]
    status, _, body = call(web, "/api/lookup", {"text": "x", "devices_json": str(data / "devices.json")})
    assert status == 400 and b"not one given to this page" in body  # only copies given to the page are read


def test_no_submit_for_pins_the_list_already_has_and_never_an_empty_title(web, tmp_path):
    data = SHARED / "data"
    require_shared("data/devices.json")
    entries = json.loads((data / "devices.json").read_text())["devices"]
    known = next(e for e in entries if e.get("pins") and e.get("name") and e.get("chip"))
    _, _, body = call(web, "/api/upload?name=devices.json", raw=(data / "devices.json").read_bytes())
    copy = json.loads(body)["path"]
    _, _, body = call(web, "/api/template/check", {"text": json.dumps(known), "devices_json": copy})
    result = json.loads(body)
    assert result["ok"] and result["issue_link"] == "" and "Already in OpenBeken's device list" in result["share"]
    nameless = {"chip": "BK7231T", "pins": {"7": "Rel;1", "8": "Btn;1", "26": "LED;1"}}
    _, _, body = call(web, "/api/template/check", {"text": json.dumps(nameless), "devices_json": copy})
    result = json.loads(body)
    assert result["ok"] and result["issue_link"] == "" and '"vendor"' in result["share"]
    named = {**nameless, "vendor": "Acme", "name": "Test Plug"}
    _, _, body = call(web, "/api/template/check", {"text": json.dumps(named), "devices_json": copy})
    link = json.loads(body)["issue_link"]
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["title"] == ["Device template: Acme Test Plug"]
    from freebeken.templates.model import Template
    from freebeken.templates.submit import issue_link

    title = urllib.parse.parse_qs(urllib.parse.urlsplit(issue_link(Template(chip="BK7231T"))).query)["title"][0]
    assert title.strip() != "Device template:" and "BK7231T" in title  # the CLI's link is never untitled either


def test_offline_the_page_points_to_its_own_file_in_words(web, tmp_path, monkeypatch):
    """The newest release cannot be downloaded: the page says so in words (no urlopen text), and
    points to "My own file" on the page - not to a command line, not to Resume; nothing is written."""
    monkeypatch.setenv("FREEBEKEN_RELEASES_URL", "http://127.0.0.1:9/releases")
    image = tmp_path / "chip.bin"
    port = f"sim://bk7231n?time_scale=0&image={image}"
    _, _, body = call(web, "/api/backup", {"port": port})
    assert job_result(web, json.loads(body)["job"])["kind"] == "done"
    before = image.read_bytes()
    _, _, body = call(web, "/api/flash", {"port": port, "firmware": "latest"})
    record = job_result(web, json.loads(body)["job"])
    said = record["message"] + " " + record["hint"]
    assert record["kind"] == "error" and "Cannot download OpenBeken for the BK7231N (connection refused)" in said
    assert "“My own file”" in said and "freebeken" not in said and "Resume" not in said and "urlopen" not in said
    assert image.read_bytes() == before


def test_the_bar_shows_the_firmware_not_the_configuration_sector(web, tmp_path):
    """Flash with the configuration: the one-sector configuration write is in the log, not on the bar."""
    from helpers import firmware_file

    image = tmp_path / "chip.bin"
    port = f"sim://bk7231t?time_scale=0&image={image}"
    fw, _ = firmware_file(tmp_path, "bk7231t")
    _, _, body = call(web, f"/api/upload?name={fw.name}", raw=fw.read_bytes())
    configure = {"ssid": "HomeWiFi", "password": "secret-pass", "broker": "mqtt://127.0.0.1:1883", "name": "Bar Plug"}
    _, _, body = call(web, "/api/flash", {"port": port, "firmware": json.loads(body)["path"], "configure": configure})
    job = json.loads(body)["job"]
    assert job_result(web, job)["kind"] == "done"
    url = f"http://127.0.0.1:{web.port}/api/jobs/{job}/events?token={web.token}"
    with urllib.request.urlopen(url, timeout=60) as stream:
        records = [json.loads(line[6:]) for line in stream if line.startswith(b"data: ")]
    drawn = [r for r in records if r["kind"] == "progress" and r.get("bar") is not False]
    assert drawn and drawn[-1]["total"] > 0x1000  # the last thing the bar shows is the firmware's write
    assert any(r["kind"] == "progress" and r["bar"] is False and r["total"] == 0x1000 for r in records)  # the sector: logged only


def test_a_simulated_plug_is_powered_and_pressed_from_the_page_and_says_where_it_serves(web, tmp_path):
    """Off the adapter, the simulated plug boots from the flash file the page's chip was written
    through; its own web server says the host:port it serves; its button is pressed from the page;
    the address box replaces a remembered address; opening the chip again switches the plug off."""
    from freebeken.device.client import ObkClient
    from freebeken.sim.obk.board import board
    from freebeken.sim.obk.device import ObkDevice
    from freebeken.sim.obk.server import DeviceServer
    from helpers import firmware_file

    image = tmp_path / "chip.bin"
    port = f"sim://bk7231t?time_scale=0&image={image}"
    _, _, body = call(web, "/api/backup", {"port": port})
    view = job_result(web, json.loads(body)["job"])["result"]["journey"]
    assert view["simulated"] == {"image": str(image.resolve()), "powered": False, "address": None, "buttons": 0}
    fw, _ = firmware_file(tmp_path, "bk7231t")
    _, _, body = call(web, f"/api/upload?name={fw.name}", raw=fw.read_bytes())
    _, _, body = call(web, "/api/flash", {"port": port, "firmware": json.loads(body)["path"]})
    ident = job_result(web, json.loads(body)["job"])["result"]["journey"]["identity"]
    status, _, body = call(web, "/api/sim/press", {"journey": ident})
    assert status == 400 and b"not powered" in body
    status, _, body = call(web, "/api/sim/power", {"journey": ident})
    assert status == 200, body
    sim = json.loads(body)["journey"]["simulated"]
    assert sim["powered"] and sim["buttons"] == 1 and sim["address"].startswith("127.0.0.1:")
    assert ObkClient(sim["address"]).info().ip == sim["address"]  # over HTTP, the address it really serves
    status, _, body = call(web, "/api/sim/press", {"journey": ident, "button": 1})
    assert status == 200 and json.loads(body)["pin"] == 8
    other = DeviceServer(ObkDevice(board("u3"))).start()
    try:
        for host in (sim["address"], other.address):  # the address box: the last one given is kept
            status, _, body = call(web, "/api/journey/device", {"journey": ident, "host": host})
            assert status == 200 and json.loads(body)["device"] == host
    finally:
        other.stop()
    _, _, body = call(web, "/api/backup", {"port": port})  # the plug goes back on the adapter
    assert job_result(web, json.loads(body)["job"])["result"]["journey"]["simulated"]["powered"] is False
