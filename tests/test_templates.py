"""Templates: the seed's entry, validation rules, renderings, and the CLI (check/show/new/submit)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from freebeken.cli.main import main
from freebeken.errors import FreebekenError
from freebeken.sim.image import build_stock_image
from freebeken.templates import TemplateSyntaxError, from_entry, load
from freebeken.templates import submit as sub
from freebeken.templates.chips import rules_for
from freebeken.templates.model import validate
from helpers import SHARED

SEED = """{
      "vendor": "Aoycocr",
      "name": "UK Smart Plug",
      "model": "U3",
      "chip": "BK7231T",
      "board": "WB3",
      "keywords": ["switch"],
      "pins": {
        "7": "Relay;1",
        "1": "LED_n;1",
        "8": "Button;1",
      },
"""
CORRECTED = SEED.replace('"Button;1",', '"Button;1"').replace("      },", "      }") + "}\n"


def test_seed_trailing_comma_gets_a_precise_error():
    with pytest.raises(TemplateSyntaxError) as err:
        load(SEED + "}\n", "u3.json")
    assert (err.value.line, err.value.column) == (11, 24)  # the comma after "Button;1"
    assert "trailing comma" in str(err.value) and str(err.value).startswith("u3.json:11:24")


def test_corrected_seed_validates_and_renders_like_the_web_app():
    [(t, problems)] = load(CORRECTED)
    assert not [p for p in problems if p.severity == "error"]
    assert {str(p.where) for p in problems} == {"pins.7", "pins.8"}  # legacy names normalised
    assert t.to_entry()["pins"] == {"1": "LED_n;1", "7": "Rel;1", "8": "Btn;1"}
    assert t.backlog() == [
        "ClearIO",
        "lfs_format",
        'StartupCommand ""',
        "stopDriver *",
        "backlog setPinRole 1 LED_n; setPinChannel 1 1",
        "backlog setPinRole 7 Rel; setPinChannel 7 1",
        "backlog setPinRole 8 Btn; setPinChannel 8 1",
    ]


@pytest.mark.parametrize(
    "pins,message",
    [
        ({"7": "SM2135_DAT;0"}, "did you mean SM2135DAT"),
        ({"7": "Buzzer;1"}, "not accepted by the firmware"),
        ({"14": "PWM;1"}, "cannot do PWM"),
        ({"3": "Rel;1"}, "not bonded out"),
        ({"40": "Rel;1"}, "does not exist"),
        ({"7": "Rel;70"}, "outside 0..63"),
        ({"x": "Rel;1"}, "not a GPIO number"),
    ],
)
def test_validation_errors(pins, message):
    _, problems = from_entry({"name": "x", "chip": "BK7231N", "pins": pins})
    assert any(p.severity == "error" and message in p.message for p in problems), problems


def test_duplicate_pins_are_caught_even_though_json_collapses_them():
    [(_, problems)] = load('{"name": "x", "pins": {"7": "Rel;1", "7": "LED;1"}}')
    assert any("listed twice" in p.message for p in problems)


def test_warnings_do_not_block():
    _, problems = from_entry({"name": "x", "pins": {"8": "Btn;2", "7": "Rel;1"}})
    assert [p.severity for p in problems] == ["warning"] and "channel 2" in problems[0].message


def test_whole_devices_json():
    text = json.dumps({"devices": [json.loads(CORRECTED), {"name": "bad", "pins": {"9": "Nope;1"}}]})
    results = load(text)
    assert len(results) == 2 and any(p.severity == "error" for p in results[1][1])


def test_issue_link_and_patch():
    [(t, _)] = load(CORRECTED)
    link = sub.issue_link(t)
    query = parse_qs(urlsplit(link).query)
    assert link.startswith("https://github.com/OpenBekenIOT/webapp/issues/new?")
    assert '"7": "Rel;1"' in query["body"][0] and "U3" in query["title"][0]
    base = json.dumps({"devices": [{"name": "Other", "pins": {}}]}, indent=2) + "\n"
    diff = sub.patch(t, base)
    assert diff.startswith("--- a/devices.json")
    assert any(line.startswith("+") and '"7": "Rel;1"' in line for line in diff.splitlines())
    patched = json.loads(sub.patch_text(t, base))
    assert patched["devices"][-1] == t.to_entry() and len(patched["devices"]) == 2
    empty = json.dumps({"devices": []}) + "\n"
    assert "+" in sub.patch(t, empty)


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_cli_check_show_new_submit(tmp_path):
    bad = tmp_path / "u3.json"
    bad.write_text(SEED + "}\n")
    result = run("template", "check", str(bad))
    assert result.exit_code == 2 and "11:24" in result.output
    good = tmp_path / "u3-fixed.json"
    good.write_text(CORRECTED)
    assert run("template", "check", str(good)).exit_code == 0
    shown = run("template", "show", str(good), "--as", "backlog", "--no-wipe")
    assert shown.output.splitlines()[0] == "backlog setPinRole 1 LED_n; setPinChannel 1 1"
    backup = tmp_path / "backup.bin"
    backup.write_bytes(build_stock_image())
    made = run("template", "new", "--from", str(backup), "--vendor", "Aoycocr", "--name", "UK Smart Plug", "--model", "U3")
    assert made.exit_code == 0, made.output
    entry = json.loads(made.output[made.output.index("{") :])
    assert entry["pins"] == {"1": "LED_n;1", "7": "Rel;1", "8": "Btn;1"} and entry["chip"] == "BK7231T"
    rejected = run("template", "new", "--name", "x", "--pin", "14=PWM;1")
    assert rejected.exit_code == 2 and "cannot do PWM" in rejected.output
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps({"devices": []}, indent=2) + "\n")
    out = run("--json", "template", "submit", str(good), "--devices-json", str(devices), "-d", str(tmp_path / "out"))
    record = json.loads(out.output.strip().splitlines()[-1])
    assert record["ok"] and record["issue_link"].startswith("https://github.com/OpenBekenIOT/webapp/issues/new")
    names = sorted(p.rsplit("/", 1)[-1] for p in record["files"])
    assert names == ["aoycocr-uk-smart-plug-u3.devices-entry.json", "aoycocr-uk-smart-plug-u3.patch"]
    patch = (tmp_path / "out" / names[1]).read_text()
    assert '"Rel;1"' in patch and patch.startswith("--- a/devices.json")


def test_cli_analyze_json_shape(tmp_path):
    backup = tmp_path / "b.bin"
    backup.write_bytes(build_stock_image())
    result = run("--json", "analyze", str(backup))
    record = json.loads(result.output.strip().splitlines()[-1])
    for key in (
        "chip",
        "bootloader",
        "firmware",
        "layout",
        "mac",
        "module",
        "template",
        "levels",
        "notes",
        "unmapped",
        "warnings",
        "secrets",
    ):
        assert key in record
    assert record["template"]["pins"]["7"] == "Rel;1" and "gw_wsm.passwd" in record["secrets"]["hidden"]
    shown = run("--json", "analyze", "--show-secrets", str(backup))
    assert json.loads(shown.output.strip().splitlines()[-1])["secrets"]["gw_wsm.passwd"] == "secretpass"


# ---- any input: a clear error or a list of problems, never a crash (issue 20 §3) ----

JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
ENTRY_VALUES = st.fixed_dictionaries(
    {}, optional={k: JSON_VALUES for k in ("name", "vendor", "flags", "command", "pins", "keywords", "chip")}
)
PIN_TEXT = st.text(alphabet=st.sampled_from(list("Rel;LEDn_Btn0123456789-²٣ \\ud800")), max_size=12)


def _never_crashes(text: str) -> None:
    try:
        for template, problems in load(text):
            for p in problems:
                str(p).encode("utf-8")  # printable, storable
            if not [p for p in problems if p.severity == "error"]:
                json.dumps(template.to_entry(), ensure_ascii=False).encode("utf-8")
    except FreebekenError:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_any_text_as_a_template(text):
    _never_crashes(text)


@settings(max_examples=300, deadline=None)
@given(ENTRY_VALUES, st.dictionaries(st.text(max_size=6), PIN_TEXT, max_size=5))
def test_any_json_as_a_template(entry, pins):
    _never_crashes(json.dumps({**entry, "pins": pins} if not isinstance(entry.get("pins"), dict) else entry))


@pytest.mark.parametrize(
    "text",
    [
        "[" * 2000,
        '{"pins": {"7": "Rel;' + "9" * 5000 + '"}}',
        '{"flags": ' + "9" * 5000 + "}",
        '{"name": "x",',
        '{"flags": 1e999}',
        '{"flags": 2.5}',
        '{"name": "\\ud800", "pins": {"7": "Rel;1"}}',
        '{"pins": {"\\ud800": "Rel;1"}}',
    ],
)
def test_the_crash_signatures_found_by_fuzzing(text):
    _never_crashes(text)


# ---- chip-aware pin rules ----


DEVICES_JSON = SHARED / "data" / "devices.json"


def _problems(entry: dict) -> list:
    template, problems = from_entry(entry)
    return problems + validate(template)


def test_chips_without_pin_facts_get_their_roles_checked_not_their_pins():
    problems = _problems({"name": "x", "chip": "BL602", "pins": {"2": "PWM;1", "3": "Rel;1", "40": "Btn;1"}})
    assert not [p for p in problems if p.severity == "error"]
    assert any("pins were not checked" in p.message for p in problems)
    bad_role = _problems({"name": "x", "chip": "BL602", "pins": {"2": "SM2135_DAT;0"}})
    assert any(p.severity == "error" and "SM2135DAT" in p.message for p in bad_role)


def test_the_families_freebeken_flashes_are_not_called_unflashable():
    for chip in ("RTL87X0C", "LN882H"):
        problems = _problems({"name": "x", "chip": chip, "pins": {"0": "Rel;1"}})
        assert not any("does not flash" in p.message for p in problems), chip
    other = _problems({"name": "x", "chip": "BL602", "pins": {}})
    assert any("does not flash" in p.message and "RTL87X0C" in p.message and "LN882H" in p.message for p in other)


@pytest.mark.parametrize(
    "chip,pins,error",
    [
        ("BK7238", {"27": "Rel;1", "20": "ADC;2"}, None),  # range only: BK7238 packages are not in our facts
        ("BK7238", {"20": "PWM;1"}, "cannot do PWM on BK7238"),
        ("BK7231N", {"24": "ADC;1"}, None),  # ADC2 on N (OpenBeken's pin names)
        ("BK7231N", {"20": "PWM;1"}, "cannot do PWM on BK7231N"),
        ("BK7231M", {"25": "Rel;1"}, "not bonded out on BK7231M"),
        ("BK7252N", {"35": "Rel;1"}, None),  # 40 GPIOs
        ("BK7252N", {"40": "Rel;1"}, "does not exist on BK7252N"),
        ("", {"25": "Rel;1"}, "not bonded out on BK7231T/N"),  # no chip named: the usual T/N plug
    ],
)
def test_pin_rules_follow_the_chip(chip, pins, error):
    errors = [p.message for p in _problems({"name": "x", "chip": chip, "pins": pins}) if p.severity == "error"]
    assert (error is None and not errors) or (error is not None and any(error in e for e in errors)), errors


def test_negative_flags_are_read_as_32_bit_values():
    template, problems = from_entry({"name": "x", "chip": "BL602", "flags": "-2080373664", "pins": {}})
    assert template.flags == 2214593632 and not [p for p in problems if p.severity == "error"]
    assert any("32-bit" in p.message for p in problems)


@pytest.mark.shared("data/devices.json")
def test_openbekens_own_list_keeps_only_the_true_catches():
    result = CliRunner().invoke(main, ["--json", "template", "check", str(DEVICES_JSON)])
    record = json.loads(result.output.strip().splitlines()[-1])
    devices = json.loads(DEVICES_JSON.read_text())["devices"]
    failing: dict[int, list[str]] = {}
    for p in record["problems"]:
        if p["severity"] == "error":
            failing.setdefault(int(p["where"].split("[")[1].split("]")[0]), []).append(p["message"])
    unknown_chip_pin_errors = [
        i
        for i, msgs in failing.items()
        if rules_for(str(devices[i].get("chip", ""))) is None and not all("role" in m for m in msgs)
    ]
    assert unknown_chip_pin_errors == []  # was 95 entries rejected for BK7231 pin rules
    text = json.dumps(failing)
    for catch in ("SM2135_DAT", "WiFi_LED_n", "Btn_NextColour", "Buzzer", "Btn;1,2", "P20 cannot do PWM on BK7231N"):
        assert catch in text
    role_or_pwm = [i for i, msgs in failing.items() if any("role" in m or "PWM" in m or "Role;channel" in m for m in msgs)]
    assert len(role_or_pwm) >= 22
