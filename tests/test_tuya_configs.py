"""Real Tuya configurations read right (issue 31): the chip they are for, the relays they drive,
buttons that do what the device's button did. The configurations are those of public device
profiles (tuya-cloudcutter), reduced to the keys that matter here."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from freebeken.chips import BK7231N
from freebeken.cli.main import main
from freebeken.sim.image import build_stock_image
from freebeken.templates.model import validate
from freebeken.tuya.analyze import analyze_bytes
from freebeken.tuya.builder import write_config
from freebeken.tuya.mapping import map_upk
from freebeken.tuya.modules import chip_in_name, chip_of_module, decide

# Eightree ET31 plug (profile oem-rtl8720cf-dltj-1.3.5): a Tuya WBR2 module, BL0937 metering
WBR2_PLUG = {
    "module": "WBR2",
    "ch_num": 1,
    "rl1_pin": 18,
    "led1_pin": 13,
    "netled1_pin": 12,
    "bt1_pin": 14,
    "ele_pin": 17,
    "vi_pin": 19,
    "sel_pin_pin": 11,
    "sel_pin_lv": 1,
}
# Tuya generic 2-channel curtain module (CBU): ch_num 2, open/close pairs on rl1/rl3 and rl4/rl6
CURTAIN = {
    "module": "CBU",
    "ch_num": 2,
    "rl1_pin": 20,
    "rl3_pin": 28,
    "rl4_pin": 17,
    "rl6_pin": 16,
    "bt1_pin": 26,
    "bt3_pin": 6,
    "bt4_pin": 7,
    "bt6_pin": 8,
    "netled1_pin": 9,
}
BULB = {
    "module": "CB2L",
    "cmod": "rgbcw",
    "r_pin": 24,
    "g_pin": 26,
    "b_pin": 6,
    "c_pin": 8,
    "w_pin": 7,
    "key_pin": 14,
    "key_lv": 0,
    "keyfunc": 1,
}


def _pins(m):
    return {p: r.text() for p, r in sorted(m.template.pins.items())}


def _analyze(obj):
    return analyze_bytes(json.dumps(obj).encode(), "config.json").as_dict()


# ---- 1. a configuration of another chip is read for that chip ----


def test_a_wbr_config_is_an_rtl8720cf_with_its_pins_kept_in_openbekens_numbering():
    result = _analyze({"profiles": ["oem-rtl8720cf-dltj-1.3.5-sdk-2.3.2-40.00"], "device_configuration": WBR2_PLUG})
    assert result["chip"] == "RTL8720CF" and result["template"]["chip"] == "RTL87X0C"
    assert result["template"]["pins"] == {
        "11": "BL0937SEL;0",
        "12": "WifiLED;0",
        "13": "LED;1",
        "14": "Btn;1",
        "17": "BL0937CF;0",
        "18": "Rel;1",
        "19": "BL0937CF1;0",
    }
    assert not [u for u in result["unmapped"] if "does not exist" in u]
    assert "BK7231" not in json.dumps({k: result[k] for k in ("chip", "chip_evidence", "template", "unmapped")})
    assert not any("cannot flash" in w for w in result["warnings"])  # the family seam flashes it
    assert any("--chip rtl8720cf" in n and "PA00" in n for n in result["notes"])
    # the module name alone says the same; the pin rules applied are RTL87X0C's (PA7..PA10 cannot do PWM)
    alone = map_upk({"module": "WBR3", "r_pin": 18, "g_pin": 8, "rl1_pin": 21})
    assert alone.chip == "RTL8720CF" and alone.checked and _pins(alone) == {18: "PWM;1"}
    assert any("cannot do PWM" in u for u in alone.unmapped)
    assert any("P21 does not exist on RTL87X0C" in u for u in alone.unmapped)


def test_analyze_says_the_chip_and_the_other_tool_in_its_own_words(tmp_path):
    config, devices = tmp_path / "wbr2.json", tmp_path / "devices.json"
    config.write_text(json.dumps({"user_param_key": WBR2_PLUG}))
    devices.write_text('{"devices": []}')
    result = CliRunner().invoke(main, ["analyze", str(config), "--devices-json", str(devices)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "RTL8720CF" in text and "BK7231T" not in text and "BK7231N" not in text and "P18 Rel;1" in text
    assert "cannot flash" not in text and "--chip rtl8720cf" in text


def test_a_config_naming_no_chip_is_not_called_a_beken_when_its_pins_say_otherwise():
    m = map_upk({k: v for k, v in WBR2_PLUG.items() if k != "module"})
    assert m.chip is None and not m.checked and m.template.pins[18].text() == "Rel;1" and m.template.pins[19].role == "BL0937CF1"
    assert any("pins not checked" in n for n in m.notes)
    fits = map_upk({"rl1_pin": 6, "bt1_pin": 7})  # every pin exists on BK7231T/N: checked as one
    assert fits.checked and fits.chip is None


def test_rtl8710bn_pins_are_renumbered_to_openbekens_table():
    m = map_upk({"module": "WR3", "rl1_pin": 14, "bt1_pin": 5, "led1_pin": 13})  # PA14, PA5; PA13 is not in the table
    assert m.chip == "RTL8710BN" and m.template.chip == "RTL8710B"
    assert _pins(m) == {9: "Rel;1", 1: "Btn;1"}
    assert any("PA13 is not in OpenBeken's RTL8710B pin table" in u for u in m.unmapped)


def test_the_chip_witnesses_are_weighed_and_disagreement_is_said():
    # Tuya reuses a WB3S config on a CB3S board; the firmware profile (read from the binary) decides
    verdict = decide("WB3S", ("oem-bk7231n-15aplug-kjd-1.0.4-sdk-2.3.1-40.00",))
    assert verdict.chip == "BK7231N" and "module WB3S" in verdict.conflicts[0] and "BK7231T" in verdict.conflicts[0]
    assert decide("CBU", ("oem-bk7231n-plug",)).conflicts == []
    config = {"module": "WB3S", "rl1_pin": 6}
    result = _analyze({"profiles": ["oem-bk7231n-light3-string-jt-1.0.8"], "device_configuration": config})
    assert result["chip"] == "BK7231N" and any("module WB3S" in w for w in result["warnings"])


def test_a_dumps_layout_outweighs_the_module_name():
    config = {"Jsonver": "1.0.0", "crc": 1, **WBR2_PLUG}
    img = build_stock_image(BK7231N, config=config)
    write_config(img, BK7231N.name, config)
    result = analyze_bytes(bytes(img), "n.bin").as_dict()
    assert result["chip"] == "BK7231N" and any("module WBR2" in w and "BK7231N" in w for w in result["warnings"])


@pytest.mark.parametrize(
    "module,chip",
    [
        ("WB3S", "BK7231T"),
        ("WB2L_M1", "BK7231N"),
        ("CBU", "BK7231N"),
        ("CB3SE", "BK7231N"),
        ("WBR3", "RTL8720CF"),
        ("WBR2", "RTL8720CF"),
        ("WR3E", "RTL8710BN"),
        ("CR3L", "RTL8720CM"),
        ("WL2S", "LN882H"),
        ("T1-2S", "BK7238"),
        ("T2-U", "BK7231N"),
        ("T34", "BK7231N"),
        ("T3E", "BK7236"),
        ("T4", "BK7252N"),
        ("T5-E1", "BK7258"),
        ("TYWE3S", "ESP8266"),
        ("XR3", "XR809"),
        ("ZS3L", None),
        ("", None),
    ],
)
def test_module_names_to_chip_families(module, chip):
    assert chip_of_module(module) == chip


def test_firmware_profile_names_spell_the_chip():
    names = {
        "oem-bk7231s-plug-1.0": "BK7231T",
        "19dwt-cbu-7231nl-1-1.0.2": "BK7231N",
        "oem-rtlbn-dltj-2m-ota1": "RTL8710BN",
        "rtl8720cf-common-user-config-ty-2.5.2": "RTL8720CF",
        "as90-1.2.7-sdk-2.3.3": None,
    }
    assert {n: chip_in_name(n) for n in names} == names


# ---- 2. relays the config really drives ----


def test_a_curtain_modules_relays_above_ch_num_are_mapped():
    m = map_upk(CURTAIN)
    pins = _pins(m)
    assert {p: pins[p] for p in (20, 28, 17, 16)} == {20: "Rel;1", 28: "Rel;3", 17: "Rel;4", 16: "Rel;6"}
    assert {p: pins[p] for p in (26, 6, 7, 8)} == {26: "Btn;1", 6: "Btn;3", 7: "Btn;4", 8: "Btn;6"}
    notes = " | ".join(m.notes)
    for key in ("rl3_pin", "rl4_pin", "rl6_pin"):
        assert f"{key} is above ch_num 2: kept, the module drives it" in notes
    assert not [p for p in validate(m.template) if p.severity == "error"]


def test_a_leftover_key_on_a_live_pin_is_dropped_naming_the_winner():
    m = map_upk({"module": "WB2S", "ch_num": 1, "rl1_pin": 6, "rl2_pin": 6, "bt1_pin": 7})
    assert _pins(m) == {6: "Rel;1", 7: "Btn;1"}
    assert any(u == "rl2_pin=6 is above ch_num 1 and its pin is rl1_pin's (Rel;1); dropped" for u in m.unmapped)


# ---- 3. buttons that work ----


@pytest.mark.parametrize("level,role", [(0, "Btn_SmartLED;0"), (1, "Btn_SmartLED_n;0")])
def test_a_lights_key_pin_is_its_smart_button(level, role):
    m = map_upk({**BULB, "key_lv": level})
    assert _pins(m)[14] == role
    assert not any(r.role.startswith("Btn") and r.role != role.split(";")[0] for r in m.template.pins.values())
    assert any(n.startswith("key_pin: the light's own button") for n in m.notes)
    driver_bulb = map_upk({"module": "WB3L", "iicscl": 8, "iicsda": 26, "dmod": 2, "key_pin": 7})
    assert _pins(driver_bulb)[7] == "Btn_SmartLED;0"


def test_a_relay_devices_button_toggles_its_relays():
    plug = map_upk({"module": "CB2S", "rl1_pin": 6, "bt_pin": 7, "bt_lv": 0})
    assert _pins(plug) == {6: "Rel;1", 7: "Btn;1"} and any("toggles the relay" in n for n in plug.notes)
    strip = map_upk({"module": "CB3S", "rl1_pin": 6, "rl2_pin": 7, "rl3_pin": 8, "bt_pin": 9})
    assert _pins(strip)[9] == "Btn_Tgl_All;0" and any("toggles every relay" in n for n in strip.notes)
    sensor = map_upk({"module": "CB3S", "door1_magt_pin": 14, "bt_pin": 20})  # no relay: a pairing button, off channel 1
    assert _pins(sensor)[20] == "Btn;2"


# ---- what the corpus taught (benchmarks/corpus_analyze.py) ----


def test_a_network_led_that_shows_the_relay_is_the_relays_led():
    # nety_led 2: once on Wi-Fi the net LED shows the relay (the human templates of such plugs agree)
    plug = map_upk({"module": "CB2S", "rl1_pin": 26, "bt1_pin": 10, "netled1_pin": 6, "netled1_lv": 0, "nety_led": 2})
    assert _pins(plug)[6] == "LED_n;1" and any("nety_led=2" in n for n in plug.notes)
    own_led = map_upk({"module": "CB2S", "rl1_pin": 26, "led1_pin": 8, "netled1_pin": 6, "netled1_lv": 0, "nety_led": 2})
    assert _pins(own_led)[6] == "WifiLED_n;0"  # an LED of its own shows the relay: the net LED stays the status LED
    reuse = map_upk({"module": "CB2S", "rl1_pin": 26, "netled1_pin": 6, "netled1_lv": 0, "netled_reuse": 1})
    assert _pins(reuse)[6] == "WifiLED_n;0"  # the human templates split on netled_reuse: unchanged


def test_a_three_way_switch_input_and_a_projectors_laser_and_motor_are_mapped():
    switch = map_upk({"module": "WB3S", "rl1_pin": 24, "bt1_pin": 6, "i_dctr1_pin": 26, "i_dctr1_lv": 0})
    assert _pins(switch)[26] == "dInput_n;2"
    projector = map_upk({"module": "CBU", "cmod": "rgb", "r_pin": 6, "g_pin": 7, "b_pin": 8, "l_pin": 24, "m_pin": 26})
    assert {p: _pins(projector)[p] for p in (24, 26)} == {24: "PWM;4", 26: "PWM;5"}


def test_a_chip_without_pin_facts_keeps_its_pins_unchecked_and_says_so():
    result = _analyze({"module": "XR3", "rl1_pin": 18, "bt1_pin": 3, "r_pin": 40})
    assert result["chip"] == "XR809" and result["template"]["chip"] == "XR809"
    assert result["template"]["pins"] == {"3": "Btn;1", "18": "Rel;1", "40": "PWM;1"}
    assert any(n.startswith("pins not checked: freebeken has no pin facts for XR809") for n in result["notes"])
    assert any("freebeken cannot flash XR809" in w for w in result["warnings"])


def test_a_chip_with_pin_facts_from_the_firmware_is_checked():
    """LN882H's pins are known now (OpenBeken's numbering, 26 GPIOs): P40 is no pin of it."""
    result = _analyze({"module": "WL2S", "rl1_pin": 18, "bt1_pin": 3, "r_pin": 40})
    assert result["chip"] == "LN882H" and result["template"]["pins"] == {"3": "Btn;1", "18": "Rel;1"}
    assert not any(n.startswith("pins not checked") for n in result["notes"])


def test_analyze_asks_cloudcutters_profile_list_when_a_profile_name_hides_the_chip(tmp_path):
    device = tmp_path / "device.json"
    device.write_text(
        json.dumps({"profiles": ["as90-1.2.7-sdk-2.3.3-40.00"], "device_configuration": {"module": "WB3S", "rl1_pin": 6}})
    )
    snapshot = tmp_path / "cutter.json"
    snapshot.write_text(
        json.dumps({"devices": {}, "profiles": {"as90-1.2.7-sdk-2.3.3-40.00": {"firmware": {"chip": "BK7231N"}}}})
    )
    devices = tmp_path / "devices.json"
    devices.write_text('{"devices": []}')
    common = ["--json", "analyze", str(device), "--devices-json", str(devices)]
    told = _last(CliRunner().invoke(main, [*common, "--cloudcutter", str(snapshot)]).stdout)
    assert told["chip"] == "BK7231N"  # read from the firmware, over the module name's BK7231T
    assert any("as90" in e and "BK7231N" in e for e in told["chip_evidence"])
    assert any("module WB3S" in w and "BK7231T" in w for w in told["warnings"])
    offline = CliRunner().invoke(main, common)  # the download goes to 127.0.0.1:9 in tests: refused
    assert offline.exit_code == 0 and _last(offline.stdout)["chip"] == "BK7231T"
    assert "module name alone" in offline.output


def _last(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("chip", ["rtl8720cf", "ln882h"])
def test_a_family_dump_is_read_as_that_chip_without_bekens_layout(chip):
    from freebeken.sim.family_images import STOCK_CONFIG, TUYA_KV_AT, stock_image

    result = analyze_bytes(bytes(stock_image(chip, 0, bytes(6))), "dump.bin").as_dict()
    assert result["chip"] == chip.upper() and result["chip_evidence"][0].startswith("the dump's flash layout")
    assert result["warnings"] == []  # no "application header" or RF talk: that is Beken's layout
    assert result["layout"]["tuya kv key block"] == f"0x{TUYA_KV_AT[chip]:X}" and "bootloader" in result["layout"]
    relay = str(STOCK_CONFIG[chip]["rl1_pin"])
    assert result["template"]["pins"][relay] == "Rel;1" and result["template"]["chip"] == (
        "RTL87X0C" if chip == "rtl8720cf" else "LN882H"
    )
    bare = analyze_bytes(bytes(stock_image(chip, 0, bytes(6), {})), "dump.bin").as_dict()  # no Tuya store: no error
    assert bare["template"] is None and any("pin finder" in w for w in bare["warnings"])
