"""Known devices (issue 17): the device lists, match, lookup, roles, and submit without duplicates.
The lists are the snapshots in ../shared/data (skipped when absent); downloads come from 127.0.0.1."""

from __future__ import annotations

import json
import os
import time

import pytest
from click.testing import CliRunner

from freebeken.cli.main import main
from freebeken.templates import cloudcutter, lists
from freebeken.templates.known import compare, load_devices, match
from freebeken.templates.model import from_entry
from helpers import SHARED, HttpStub

DATA = SHARED / "data"
DEVICES, CUTTER = DATA / "devices.json", DATA / "cloudcutter.json"
needs_data = pytest.mark.shared("data/devices.json", "data/cloudcutter.json")
SEED = {"chip": "BK7231T", "pins": {"7": "Rel;1", "1": "LED_n;1", "8": "Btn;1"}}


def run(*args: str) -> tuple[int, dict | str]:
    result = CliRunner().invoke(main, list(args))
    lines = [ln for ln in result.output.strip().splitlines() if ln.startswith("{")]
    return result.exit_code, json.loads(lines[-1]) if "--json" in args and lines else result.output


@needs_data
def test_the_seeds_plug_is_known(tmp_path):
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(SEED))
    code, out = run("--json", "template", "match", str(path), "--devices-json", str(DEVICES))
    assert code == 0
    best = out["matches"][0]
    assert best["identical"] and best["title"] == "Aoycocr U3 UK Smart Plug" and best["differences"] == []


@needs_data
def test_close_matches_say_exactly_what_differs():
    known = load_devices(json.loads(DEVICES.read_text()))
    assert len(known) == 863 and sum(1 for k in known if k.template.pins) == 687  # 176 have no pins (TuyaMCU)
    mine = from_entry({"chip": "BK7231T", "pins": {"7": "Rel;1", "1": "LED;1", "8": "Btn;1", "26": "WifiLED_n;0"}})[0]
    found = [m for m in match(mine, known) if m.known.template.name == "Aoycocr U3 UK Smart Plug"]
    assert found and not found[0].identical
    assert set(found[0].differences) == {"P1 is LED here, LED_n in the entry", "P26 WifiLED_n;0 is not in the entry"}
    other_chip = from_entry({**SEED, "chip": "BK7231N"})[0]
    verdict = compare(other_chip, found[0].known.template)
    assert verdict == (False, ["the list's entry is for BK7231T, this is BK7231N"])
    unrelated = from_entry({"pins": {"7": "PWM;1", "1": "LED_n;1", "8": "Btn;1"}})[0]
    assert compare(unrelated, found[0].known.template) is None  # a relay is not a PWM: not the same device


@needs_data
def test_analyze_says_what_the_backup_is_known_as():
    code, out = run(
        "--json", "analyze", str(SHARED / "dumps" / "n_cb2s_plug_mirabella_i003632.bin"), "--devices-json", str(DEVICES)
    )
    assert code == 0
    known = out["known_as"]
    assert "Genio" in known["title"] and not known["identical"]
    assert "P7 is Btn_Tgl_All here, Btn in the entry" in known["differences"]


@needs_data
def test_lookup_answers_no_solder_per_entry():
    code, out = run("--json", "lookup", "aoycocr", "--devices-json", str(DEVICES), "--cloudcutter", str(CUTTER))
    assert code == 0
    assert {h["title"] for h in out["openbeken"]} >= {"Aoycocr U3 UK Smart Plug"}
    answers = {h["title"]: h["no_solder"] for h in out["cloudcutter"]}
    assert set(answers) == {"Aoycocr E14 Candle RGBCT Bulb v2.9.6", "Aoycocr X5P Smart Plug"}
    assert "if it still runs firmware 1.1.8" in answers["Aoycocr X5P Smart Plug"]
    assert all(a.startswith("likely") for a in answers.values())  # likely, never guaranteed
    # the version the app shows decides; typos and word order are tolerated
    code, out = run(
        "--json",
        "lookup",
        "plug",
        "x5p",
        "aoycorc",
        "--firmware",
        "1.1.8",
        "--chip",
        "bk7231t",
        "--devices-json",
        str(DEVICES),
        "--cloudcutter",
        str(CUTTER),
    )
    assert [h["title"] for h in out["cloudcutter"]] == ["Aoycocr X5P Smart Plug"]
    assert out["cloudcutter"][0]["no_solder"].startswith(
        "likely without opening it: tuya-cloudcutter has a profile for firmware 1.1.8"
    )
    assert any(p.startswith("oem_bk7231s_rnd_switch 1.1.8") for p in out["firmware_profiles"])
    code, out = run(
        "--json", "lookup", "x5p", "--firmware", "9.9.9", "--devices-json", str(DEVICES), "--cloudcutter", str(CUTTER)
    )
    assert "UART it is" in out["cloudcutter"][0]["no_solder"] and out["firmware_profiles"] == []


def test_roles_explain_and_suggest():
    code, out = run("--json", "template", "roles")
    assert code == 0 and len(out["roles"]) == 98
    roles = {r["role"]: r for r in out["roles"]}
    assert roles["Rel"]["channel"] and not roles["WifiLED_n"]["channel"] and not roles["SM2135DAT"]["channel"]
    assert all(r["meaning"] and r["meaning"] != "see the OpenBeken documentation" for r in out["roles"])
    for wrong, right in (("WiFi_LED_n", "WifiLED_n"), ("Btn_NextColour", "Btn_NextColor"), ("relay", "Rel")):
        code, text = run("template", "roles", wrong)
        assert code == 0 and right in text
    code, text = run("template", "roles", "xyzzy")
    assert code == 2 and "none is close" in text


@needs_data
def test_submit_refuses_a_duplicate_and_updates_a_near_one(tmp_path):
    same = tmp_path / "same.json"
    same.write_text(json.dumps({**SEED, "vendor": "Aoycocr", "name": "U3"}))
    code, text = run("template", "submit", str(same), "--devices-json", str(DEVICES), "-d", str(tmp_path / "out"))
    assert code == 2 and "already has these pins: Aoycocr U3 UK Smart Plug" in text
    near = tmp_path / "near.json"
    near.write_text(
        json.dumps({"vendor": "Aoycocr", "name": "U3", "chip": "BK7231T", "pins": {"7": "Rel;1", "1": "LED;1", "8": "Btn;1"}})
    )
    code, out = run("--json", "template", "submit", str(near), "--devices-json", str(DEVICES), "-d", str(tmp_path / "out"))
    assert code == 0 and out["updates"] == "Aoycocr U3 UK Smart Plug"
    assert "Device+template+update" in out["issue_link"] or "Device%20template%20update" in out["issue_link"]
    patch = (tmp_path / "out" / "aoycocr-u3.update.patch").read_text()
    other_chip = tmp_path / "n.json"  # the same pins on a BK7231N: another product, so a new entry, not an update
    other_chip.write_text(json.dumps({**SEED, "chip": "BK7231N", "vendor": "Aoycocr", "name": "U3 N"}))
    code, out = run("--json", "template", "submit", str(other_chip), "--devices-json", str(DEVICES), "-d", str(tmp_path / "n"))
    assert code == 0 and out["updates"] is None and any(f.endswith(".devices-entry.json") for f in out["files"])
    changed = [ln for ln in patch.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]
    assert sorted(changed) == ['+        "1": "LED;1",', '-        "1": "LED_n;1",']


def test_lists_are_downloaded_cached_and_said_so_when_offline(tmp_path, monkeypatch):
    body = json.dumps({"devices": [SEED | {"vendor": "Aoycocr", "name": "U3 UK Smart Plug"}]}).encode()
    server = HttpStub(lambda path, base: body)
    monkeypatch.setenv("FREEBEKEN_DEVICES_URL", f"{server.base}/devices.json")
    try:
        assert [k.title for k in lists.devices()] == ["Aoycocr U3 UK Smart Plug"]
        lists.devices()
        assert server.hits == ["/devices.json"]  # the second time from the cache
    finally:
        server.stop()
    cache = next((tmp_path / "home" / "lists").glob("openbeken-devices-*.json"))
    week_old = time.time() - 8 * 86400
    os.utime(cache, (week_old, week_old))
    from freebeken.events import ListReporter

    reporter = ListReporter()
    assert lists.devices(reporter=reporter)  # offline: the old copy, with a warning
    warned = [e.message for e in reporter.kinds("warning")]
    assert warned and "using the copy from 8 days ago" in warned[0]
    cache.unlink()
    with pytest.raises(lists.ListError) as err:
        lists.devices()
    assert err.value.exit_code == 14 and "no copy of it yet" in str(err.value) and "as a file" in err.value.hint


def test_the_cloudcutter_api_format_is_read_too():
    devices = [{"slug": "acme-plug", "manufacturer": "Acme", "name": "Plug", "profiles": [{"slug": "p1"}]}]
    profiles = [
        {
            "slug": "p1",
            "name": "1.2.3 - BK7231N",
            "sub_name": "acme_fw",
            "firmware": {"chip": "BK7231N", "name": "acme_fw", "version": "1.2.3", "sdk": "2.3.1"},
        }
    ]
    cat = cloudcutter.parse(devices, profiles)
    assert cat.devices[0].profiles[0].version == "1.2.3"
    assert cat.devices[0].no_solder("1.2.3", "BK7231N").startswith("likely without opening it")
    assert cat.devices[0].no_solder(None, "BK7231T").startswith("no over-the-air profile")
    with pytest.raises(Exception, match="not tuya-cloudcutter"):
        cloudcutter.parse({"something": 1})


@needs_data
def test_convert_begins_with_the_lookup_when_the_product_is_named(tmp_path):
    from freebeken.convert.wizard import Options, convert
    from freebeken.errors import PortError
    from freebeken.events import ListReporter

    reporter = ListReporter()
    no_adapter = str(tmp_path / "ttyUSB-not-plugged-in")  # fails at once, where a dead chip takes the 15 s link wait
    options = Options(port=no_adapter, product="aoycocr x5p", devices_json=str(DEVICES), cloudcutter=str(CUTTER))
    with pytest.raises(PortError):  # no adapter yet: the answer came before any linking
        convert(options, None, reporter)
    said = [e.message for e in reporter.kinds("info")]
    assert any(m.startswith("Aoycocr X5P Smart Plug: likely without opening it") for m in said)
