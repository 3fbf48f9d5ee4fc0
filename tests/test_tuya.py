"""Dump analysis: real dumps, synthetic dumps of every shape, mapping rules, robustness."""

from __future__ import annotations

import json
import random
import time

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from freebeken.chips import BK7231N, BK7231T
from freebeken.cli.main import main
from freebeken.errors import UsageError
from freebeken.firmware import obkconfig
from freebeken.sim.image import build_stock_image
from freebeken.templates.model import validate
from freebeken.tuya.analyze import analyze_bytes
from freebeken.tuya.builder import AOYCOCR_U3, DEVICE_KEY, KV_KEY_BLOCK, upk_text, write_config
from freebeken.tuya.kv import encode, read_store
from freebeken.tuya.mapping import map_upk
from freebeken.tuya.upk import parse
from helpers import SHARED

DUMPS = SHARED / "dumps"
needs_dumps = pytest.mark.shared("dumps")


def analyse(image, name="dump"):
    return analyze_bytes(bytes(image), name).as_dict()


def stock(chip=BK7231T, config=None, **kw):
    img = build_stock_image(chip, config=config or dict(AOYCOCR_U3))
    if kw:
        write_config(img, chip.name, config or dict(AOYCOCR_U3), **kw)
    return img


# ---- real dumps (ground truth in ../shared/dumps/README.md) ----


@needs_dumps
@pytest.mark.parametrize(
    "name,chip,pins,command",
    [
        (
            "n_cb2s_plug_mirabella_i003632.bin",
            "BK7231N",
            {"6": "Rel;1", "8": "LED;1", "7": "Btn_Tgl_All;0", "26": "WifiLED;0"},
            None,
        ),
        (
            "n_cb3s_4ch_relay_tywb_rf.bin",
            "BK7231N",
            {
                "6": "Rel;2",
                "7": "Btn_Tgl_All;0",
                "8": "Btn;1",
                "9": "Btn;2",
                "10": "Btn;3",
                "11": "Btn;4",
                "14": "Rel;4",
                "20": "RCRecv;0",
                "22": "WifiLED_n;0",
                "24": "Rel;1",
                "26": "Rel;3",
            },
            None,
        ),
        (
            "t_wb3l_bulb_sm2135_globe_37783.bin",
            "BK7231T",
            {"26": "SM2135DAT;0", "8": "SM2135CLK;0"},
            "LED_Map 2 1 0 4 3\r\nSM2135_Current 20 50",
        ),
    ],
)
def test_real_dumps(name, chip, pins, command):
    data = (DUMPS / name).read_bytes()
    started = time.perf_counter()
    result = analyse(data, name)
    assert time.perf_counter() - started < 2  # the real budget (0.5 s) is measured by the benchmark
    assert result["chip"] == chip and result["firmware"]["kind"] == "tuya"
    assert result["template"]["pins"] == pins
    assert result["template"].get("command") == command
    assert result["bootloader"]["name"].startswith("bl_bk7231")
    # secrets stay hidden unless asked for, and never leak into the JSON
    text = json.dumps(result)
    full = analyze_bytes(data, name).as_dict(show_secrets=True)
    for value in full["secrets"].values():
        if isinstance(value, str) and len(value) > 6:
            assert value not in text


@needs_dumps
def test_mirabella_flags_the_human_disagreement():
    result = analyse((DUMPS / "n_cb2s_plug_mirabella_i003632.bin").read_bytes())
    assert any("WifiLED_n" in n and "pin finder" in n for n in result["notes"])


@needs_dumps
def test_real_dump_rotated_and_partial():
    data = (DUMPS / "n_cb3s_4ch_relay_tywb_rf.bin").read_bytes()
    want = analyse(data)["template"]["pins"]
    rotated = data[0x11000:] + data[:0x11000]  # read from the app start, wrapped
    r = analyse(rotated)
    assert r["shape"] == "rotated" and r["template"]["pins"] == want and r["mac"] == analyse(data)["mac"]
    partial = data[0x1EE000:]  # the 72 KiB config area only
    p = analyse(partial)
    assert p["shape"] == "partial" and p["template"]["pins"] == want


# ---- synthetic dumps ----


def test_seed_u3_from_the_simulator_image():
    result = analyse(build_stock_image(BK7231T))
    assert result["template"]["pins"] == {"1": "LED_n;1", "7": "Rel;1", "8": "Btn;1"}
    assert result["chip"] == "BK7231T" and result["bootloader"]["name"] == "bl_bk7231s_1.0.5"


def test_bk7231tools_reads_the_builders_store():
    from bk7231tools.analysis.kvstorage import KVStorage

    img = stock()
    kv = KVStorage.decrypt_and_unpack(bytes(img), find=True)
    values = kv.read_all_values_parsed()
    assert values["user_param_key"] == {k: v for k, v in sorted(parse(upk_text(AOYCOCR_U3)).items())}
    assert read_store(bytes(img)).values["user_param_key"] == upk_text(AOYCOCR_U3).encode()


def test_values_spanning_blocks_and_beyond_32k_are_kept():
    """bk7231tools reads only the first 32 KiB of the store; we read all 14 blocks."""
    from bk7231tools.analysis.kvstorage import KVStorage

    filler = {f"filler{i}": bytes([i]) * 1500 for i in range(20)}  # pushes user_param_key far out
    img = bytearray(b"\xff" * 0x200000)
    write_config(img, "BK7231N", {"rl1_pin": 6, "rl1_lv": 0, "module": "CB2S"}, extra=filler, plaintext_copy=False)
    # our extra filler comes after the UPK in insertion order; re-encode with UPK last
    values = {**filler, "user_param_key": b"{rl1_pin:6,rl1_lv:0,module:CB2S,}"}
    img[KV_KEY_BLOCK : KV_KEY_BLOCK + 15 * 0x1000] = encode(values, DEVICE_KEY)
    store = read_store(bytes(img))
    assert store.values == values
    result = analyse(img)
    assert result["template"]["pins"] == {"6": "Rel_n;1"}
    peer = KVStorage.decrypt_and_unpack(bytes(img), find=True).read_all_values()
    assert "user_param_key" not in peer  # the peer silently loses it


def test_live_copy_wins_over_swap():
    img = stock(config=AOYCOCR_U3, stale_copy={**AOYCOCR_U3, "rl1_pin": 24})
    assert analyse(img)["template"]["pins"]["7"] == "Rel;1"


def test_plaintext_fallback_when_kv_has_no_config():
    img = build_stock_image(BK7231T)
    write_config(img, "BK7231T", None)  # the KV holds no user_param_key now
    img[0x1E5000:0x1E6000] = upk_text(AOYCOCR_U3).encode().ljust(0x1000, b"\x00")
    result = analyse(img)
    assert result["template"]["pins"] == {"1": "LED_n;1", "7": "Rel;1", "8": "Btn;1"}
    assert "plaintext" in result["config_source"]


def test_no_config_anywhere_is_said_not_guessed():
    img = build_stock_image(BK7231N)
    write_config(img, "BK7231N", None, plaintext_copy=False)
    img[0x1D6000:0x1D7000] = b"\xff" * 0x1000
    result = analyse(img)
    assert result["template"] is None
    assert any("pin finder" in w for w in result["warnings"])


def test_tuya_mcu_device():
    img = build_stock_image(BK7231N)
    write_config(img, "BK7231N", None, extra={"baud_cfg": b'{"baud":9600}'}, plaintext_copy=False)
    img[0x1D6000:0x1D7000] = b"\xff" * 0x1000
    result = analyse(img)
    assert result["tuya_mcu"] == {"baud": 9600, "uart": "UART1: RX1 = P10, TX1 = P11"}
    assert result["template"]["pins"] == {} and "tuyaMcu_setBaudRate 9600" in result["template"]["command"]


def test_damaged_block_is_skipped_with_a_warning():
    img = stock()
    img[KV_KEY_BLOCK + 0x1000 + 200] ^= 0xFF  # block 0 holds the index pages
    result = analyse(img)
    assert any("damaged" in w for w in result["warnings"])
    assert result["template"]["pins"] == {"1": "LED_n;1", "7": "Rel;1", "8": "Btn;1"}  # plaintext copy


def test_openbeken_dump_reads_its_config_back():
    img = build_stock_image(BK7231T)
    cfg = obkconfig.defaults("BK7231T", bytes(6))
    cfg.set_pins({7: (1, 1, 0), 1: (6, 1, 0), 8: (3, 1, 0)})
    for name, value in (
        ("short_name", "u3"),
        ("long_name", "Aoycocr U3"),
        ("mqtt_host", "192.168.1.2"),
        ("mqtt_client", "u3plug"),
        ("wifi_pass", "hunter22"),
    ):
        cfg[name] = value
    img[0x1E1000:0x1E2000] = cfg.to_sector()
    result = analyse(img)
    assert result["firmware"]["kind"] == "openbeken"
    assert result["openbeken"]["pins"] == {"1": "LED_n;1", "7": "Rel;1", "8": "Btn;1"}
    assert result["openbeken"]["mqtt"]["client"] == "u3plug" and result["openbeken"]["crc_ok"]
    assert "hunter22" not in json.dumps(result)
    assert analyze_bytes(bytes(img)).as_dict(True)["secrets"]["openbeken.wifi_pass"] == "hunter22"
    img[0x1E1000 + 0x100] ^= 1  # one flipped bit: the firmware would ignore the config, and we say so
    damaged = analyse(img)
    assert not damaged["openbeken"]["crc_ok"] and any("damaged" in w for w in damaged["warnings"])


def test_config_json_inputs():
    text = upk_text(AOYCOCR_U3).encode()
    assert analyse(text)["template"]["pins"]["7"] == "Rel;1"
    profile = json.dumps({"device_configuration": {"rl1_pin": "6", "bt1_pin": "7", "bt1_lv": "0", "module": "CB2S"}})
    r = analyse(profile.encode())
    assert r["template"]["pins"] == {"6": "Rel;1", "7": "Btn;1"} and r["chip"] == "BK7231N"


@pytest.mark.parametrize("junk", [b"", b"hello", b"\x00" * 100, b"{not json"])
def test_non_dumps_are_rejected_clearly(junk):
    with pytest.raises(UsageError):
        analyze_bytes(junk, "junk")


STORE = bytes(stock()[0x1EE000:0x1F4000])


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=0x400), st.integers(0, 0x5FFF))
def test_fuzzed_inputs_never_crash(blob, cut):
    data = bytearray(STORE)
    data[cut : cut + len(blob)] = blob
    try:
        analyze_bytes(bytes(data), "fuzz")
    except UsageError:
        pass


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)), min_size=1, max_size=12))
def test_fuzzed_decrypted_structures_never_crash(edits):
    """Corrupt the plaintext (index pages, headers, lengths) and re-encrypt: the checksum-valid
    paths of the parser get exercised, not only the 'damaged block' one."""
    import struct

    from freebeken.tuya.kv import byte_sum, data_key, decrypt, encrypt

    key = data_key(DEVICE_KEY)
    data = bytearray(STORE)
    block = bytearray(decrypt(key, bytes(data[0x1000:0x2000])))
    for pos, value in edits:
        block[max(pos, 8)] = value
    struct.pack_into("<I", block, 4, byte_sum(bytes(block[8:])))
    data[0x1000:0x2000] = encrypt(key, bytes(block))
    try:
        analyze_bytes(bytes(data), "fuzz")
    except UsageError:
        pass


# ---- round trip: random config -> synthetic dump -> analyze ----

PLUG_KEYS = st.fixed_dictionaries(
    {
        "relays": st.lists(
            st.tuples(st.sampled_from([6, 7, 8, 24, 26, 14]), st.integers(0, 1)), min_size=1, max_size=4, unique_by=lambda t: t[0]
        ),
        "button": st.tuples(st.sampled_from([9, 20, 21, 22, 23]), st.integers(0, 1)),
        "netled": st.none() | st.tuples(st.sampled_from([0, 1, 15, 16, 17, 28]), st.integers(0, 1)),
        "chip": st.sampled_from([BK7231T, BK7231N]),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PLUG_KEYS, st.sampled_from(["full", "rotated", "partial"]))
def test_round_trip_random_plug_configs(spec, shape):
    config: dict[str, object] = {"module": "WB3S" if spec["chip"] is BK7231T else "CB2S"}
    expected = {}
    for n, (pin, lv) in enumerate(spec["relays"], start=1):
        config[f"rl{n}_pin"], config[f"rl{n}_lv"] = pin, lv
        expected[str(pin)] = f"{'Rel' if lv else 'Rel_n'};{n}"
    pin, lv = spec["button"]
    config["bt1_pin"], config["bt1_lv"] = pin, lv
    expected[str(pin)] = f"{'Btn_n' if lv else 'Btn'};1"
    if spec["netled"]:
        pin, lv = spec["netled"]
        config["netled1_pin"], config["netled1_lv"] = pin, lv
        expected[str(pin)] = f"{'WifiLED' if lv else 'WifiLED_n'};0"
    config["crc"] = random.Random(str(config)).randrange(200)
    img = bytes(build_stock_image(spec["chip"], config=config))
    if shape == "rotated":
        img = img[0x11000:] + img[:0x11000]
    elif shape == "partial":
        img = img[0x1EE000:]
    result = analyse(img)
    assert result["template"]["pins"] == expected
    assert result["tuya_config"]["crc"] == config["crc"]
    if shape != "partial":
        assert result["chip"] == spec["chip"].name


# ---- mapping table coverage ----


@pytest.mark.parametrize(
    "upk,pins,extra",
    [
        (
            {"rl1_pin": 7, "rl1_lv": 1, "led1_pin": 1, "led1_lv": 0, "bt1_pin": 8, "bt1_lv": 0},
            {7: "Rel;1", 1: "LED_n;1", 8: "Btn;1"},
            {},
        ),
        ({"rl1_pin": 6, "rl1_lv": 0}, {6: "Rel_n;1"}, {}),
        ({"rl1_pin": 6, "rl2_pin": 7, "rl3_pin": 8, "rl4_pin": 9}, {6: "Rel;1", 7: "Rel;2", 8: "Rel;3", 9: "Rel;4"}, {}),
        ({"rl1_pin": 6, "led1_pin": 8, "netled_reuse": 1}, {6: "Rel;1"}, {"notes": "netled_reuse"}),
        ({"netled_pin": 22, "netled_lv": 0}, {22: "WifiLED_n;0"}, {}),
        ({"wfst": 9, "wfst_lv": 1}, {9: "WifiLED;0"}, {}),
        ({"total_bt_pin": 7, "total_bt_lv": 1}, {7: "Btn_Tgl_All_n;0"}, {}),
        ({"k1pin_pin": 14, "k1pin_lv": 0}, {14: "Btn;1"}, {}),
        (
            {"ele_pin": 24, "vi_pin": 26, "sel_pin_pin": 11, "sel_pin_lv": 0, "chip_type": 0},
            {24: "BL0937CF;0", 26: "BL0937CF1;0", 11: "BL0937SEL_n;0"},
            {"drivers": "BL0937"},
        ),
        ({"chip_type": 3, "rl1_pin": 6}, {6: "Rel;1"}, {"command": "startDriver BL0942"}),
        ({"r_pin": 26, "g_pin": 24, "b_pin": 6}, {26: "PWM;1", 24: "PWM;2", 6: "PWM;3"}, {}),
        (
            {"r_pin": 26, "g_pin": 24, "b_pin": 6, "c_pin": 8, "w_pin": 7, "w_lv": 0},
            {26: "PWM;1", 24: "PWM;2", 6: "PWM;3", 8: "PWM;4", 7: "PWM_n;5"},
            {},
        ),
        ({"c_pin": 8, "w_pin": 7, "cwtype": 1}, {7: "PWM;1", 8: "PWM;2"}, {"flags": 256}),
        ({"c_pin": 8, "pwmhz": 1000}, {8: "PWM;1"}, {"command": "PWMFrequency 1000"}),
        (
            {
                "iicscl": 8,
                "iicsda": 26,
                "dccur": 3,
                "drgbcur": 2,
                "dwcur": 4,
                "iicr": 1,
                "iicg": 0,
                "iicb": 2,
                "iicc": 4,
                "iicw": 3,
            },
            {26: "BP5758D_DAT;0", 8: "BP5758D_CLK;0"},
            {"command": "BP5758D_Current 2 4"},
        ),
        (
            {"iicscl": 7, "iicsda": 6, "dmod": 5, "cjccur": 10, "cjwcur": 20},
            {6: "BP1658CJ_DAT;0", 7: "BP1658CJ_CLK;0"},
            {"command": "BP1658CJ_Current 10 20"},
        ),
        (
            {"iicscl": 7, "iicsda": 6, "2235ccur": 5, "2235wcur": 8},
            {6: "SM2235DAT;0", 7: "SM2235CLK;0"},
            {"command": "SM2235_Current 5 8"},
        ),
        ({"ir": 26, "remote_io": 20, "infre": 9}, {26: "IRRecv;0", 20: "RCRecv;0", 9: "IRSend;0"}, {}),
        ({"rl_on1_pin": 6, "rl_off1_pin": 7}, {6: "BridgeFWD;1", 7: "BridgeREV;1"}, {}),
        ({"door1_magt_pin": 14, "door1_magt_lv": 0}, {14: "dInput_n;1"}, {}),
        ({"buzzer_io": 9, "mystery_pin": 20}, {}, {"unmapped": "mystery_pin"}),
    ],
)
def test_mapping_rules(upk, pins, extra):
    m = map_upk(upk)
    assert {p: r.text() for p, r in m.template.pins.items()} == pins
    if "notes" in extra:
        assert any(extra["notes"] in n for n in m.notes)
    if "drivers" in extra:
        assert any(extra["drivers"] in x for x in m.drivers)
    if "command" in extra:
        assert extra["command"] in m.template.command
    if "flags" in extra:
        assert m.template.flags == extra["flags"]
    if "unmapped" in extra:
        assert any(extra["unmapped"] in u for u in m.unmapped) and any("buzzer_io" in u for u in m.unmapped)


def test_upk_parsing_keeps_text_values():
    upk = parse("{Jsonver:1.1.8,category:0505,cmod:rgbcw,rl1_pin:7,crc:100,}")
    assert upk == {"Jsonver": "1.1.8", "category": "0505", "cmod": "rgbcw", "rl1_pin": 7, "crc": 100}
    old = parse(
        json.dumps(
            {
                "sw": {"ch": [{"bt": {"pin": {"value": 15}, "lv": {"value": False}}, "rl": {"pin": {"value": 6}}}]},
                "net": {"wfst": {"pin": {"value": 8}}},
            }
        )
    )
    m = map_upk(old)
    assert {p: r.text() for p, r in m.template.pins.items()} == {15: "Btn;1", 6: "Rel;1", 8: "WifiLED;0"}


# ---- bad input: a clear error (exit 2), never a traceback or a wrong answer ----


@pytest.mark.parametrize(
    "text, where",
    [
        ('{"user_param_key": {"gpio_num": 7,},}', "line 1, column 35"),
        ('{\n  "user_param_key": {\n    "rl1_pin": 7\n    "rl1_lv": 1\n  }\n}', "line 4, column 5"),
        ('[{"a": 1}, {"b": }]', "line 1, column 18"),
    ],
)
def test_broken_config_json_is_reported_where_it_breaks(tmp_path, text, where):
    path = tmp_path / "config.json"
    path.write_text(text)
    result = CliRunner().invoke(main, ["analyze", str(path)])
    assert result.exit_code == 2 and where in result.output and "Traceback" not in result.output


def test_tuya_key_value_text_is_still_accepted():
    analysis = analyze_bytes(b"{Jsonver:1.1.8,module:CB2S,rl1_pin:6,rl1_lv:1,crc:31}", "upk.txt")
    assert analysis.kind == "config json" and analysis.template.pins[6].role == "Rel"


@pytest.mark.parametrize("size", [0x2000, 0x200000])
def test_bytes_that_are_no_dump_are_an_error(tmp_path, size):
    path = tmp_path / "noise.bin"
    path.write_bytes(random.Random(size).randbytes(size))
    result = CliRunner().invoke(main, ["analyze", str(path)])
    assert result.exit_code == 2 and "neither a Beken flash dump nor a Tuya config" in result.output


UPK_VALUES = st.one_of(st.integers(), st.text(max_size=12), st.sampled_from(["²", "٣", "9" * 5000, "-0", "1e999"]))


def _analyze_never_crashes(data: bytes) -> None:
    try:
        result = analyze_bytes(data, "fuzz").as_dict()
        json.dumps(result)  # the --json output can always be written
    except UsageError:
        pass


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["rl1_pin", "rl1_lv", "bt1_pin", "module", "netled_reuse", "dmod", "cwtype", "Jsonver"]),
        UPK_VALUES,
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(["json", "field", "text"]),
)
def test_fuzzed_configs_never_crash(keys, form):
    if form == "json":
        data = json.dumps(keys).encode()
    elif form == "field":
        data = json.dumps({"user_param_key": keys}).encode()
    else:
        data = ("{" + ",".join(f"{k}:{v}" for k, v in keys.items()) + "}").encode()
    _analyze_never_crashes(data)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_as_a_config_never_crashes(text):
    _analyze_never_crashes(("{" + text).encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize(
    "data",
    [
        b'{"user_param_key": {"rl1_pin": ' + b"9" * 5000 + b"}}",
        b"{Jsonver:1.1,rl1_pin:" + b"9" * 5000 + b",crc:1}",
        '{"user_param_key": {"rl1_pin": "²"}}'.encode(),
        "{Jsonver:1.1,rl1_pin:²,crc:1}".encode(),
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
        json.dumps({"user_param_key": '{"a":' * 3000 + "1" + "}" * 3000}).encode(),
        b"[" * 3000 + b"]" * 3000,
    ],
)
def test_the_config_crash_signatures_found_by_fuzzing(data):
    _analyze_never_crashes(data)


def test_a_stored_value_nested_absurdly_deep_does_not_crash_analyze():
    values = {"gw_di": b'{"a":' * 3000 + b"1" + b"}" * 3000, "user_param_key": upk_text({"rl1_pin": 6, "rl1_lv": 1}).encode()}
    image = bytearray(b"\xff" * 0x200000)
    image[KV_KEY_BLOCK : KV_KEY_BLOCK + 15 * 0x1000] = encode(values, DEVICE_KEY)
    analysis = analyze_bytes(bytes(image), "deep.bin")
    assert analysis.template.pins[6].role == "Rel"


# ---- the last mapping gaps (issue 17) ----


def _pins(upk):
    return {str(p): r.text() for p, r in sorted(map_upk(upk).template.pins.items())}


def test_the_pairing_button_gets_a_channel_of_its_own():
    sensor = {"module": "CB3S", "door1_magt_pin": 14, "door1_magt_lv": 1, "bt_pin": 20, "bt_lv": 0, "reset_pin": 20}
    m = map_upk(sensor)
    assert _pins(sensor) == {"14": "dInput;1", "20": "Btn;2"}  # pressing it no longer flips the sensor's channel
    assert not any("named by two keys" in n for n in m.notes)  # bt_pin and reset_pin are the same button
    assert any("pairing button" in n for n in m.notes)
    result = analyse(stock(config={"Jsonver": "1.0.0", "crc": 1, **sensor}))  # through a synthetic image
    assert result["template"]["pins"] == {"14": "dInput;1", "20": "Btn;2"}


def test_keys_beyond_the_counts_are_mapped_unless_a_live_role_holds_the_pin():
    bulb = {
        "module": "WB2L",
        "cmod": "rgb",
        "r_pin": 26,
        "g_pin": 24,
        "b_pin": 6,
        "c_pin": 8,
        "knum": 1,
        "k1pin_pin": 7,
        "k2pin_pin": 26,
        "netled1_pin": 31,
        "rl1_pin": 9,
        "rl2_pin": 8,
        "ch_num": 1,
    }
    m = map_upk(bulb)
    # rl2 is above ch_num 1 but P8 is free: kept; c_pin (outside cmod) then meets rl2 on P8; k2pin meets r_pin on P26
    assert _pins(bulb) == {"6": "PWM;3", "7": "Btn;1", "8": "Rel;2", "9": "Rel;1", "24": "PWM;2", "26": "PWM;1"}
    unmapped, notes = " | ".join(m.unmapped), " | ".join(m.notes)
    assert "rl2_pin is above ch_num 1: kept, the module drives it" in notes
    assert "k2pin_pin=26 is above knum 1 and its pin is r_pin's (PWM;1); dropped" in unmapped
    assert "c_pin=8 is colour 'c', not in cmod='rgb' and its pin is rl2_pin's (Rel;2); dropped" in unmapped
    assert "P31 does not exist on BK7231T" in unmapped
    assert not [p for p in validate(m.template) if p.severity == "error"]  # what template check accepts


def test_keys_that_were_dropped_are_mapped_or_listed():
    switch = {
        "module": "CB3S",
        "rl": 6,
        "bt": 7,
        "backlit_io_pin": 8,
        "backlit_io_lv": 0,
        "firstpin_pin": 24,
        "secpin_pin": 26,
        "mystery_pin": 14,
    }
    m = map_upk(switch)
    assert _pins(switch) == {"6": "Rel;1", "7": "Btn;1", "8": "LED_n;4", "24": "PWM;2", "26": "PWM;3"}
    assert any(u.startswith("mystery_pin=14: unknown key") for u in m.unmapped)
    pwm_on_a_plain_pin = map_upk({"module": "CB3S", "r_pin": 14})  # P14 cannot do PWM: check would reject it
    assert pwm_on_a_plain_pin.template.pins == {} and any("cannot do PWM" in u for u in pwm_on_a_plain_pin.unmapped)
