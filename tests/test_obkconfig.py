"""OpenBeken's configuration sector: layout, checksum and loading exactly as the firmware's.

The expected numbers come from the firmware itself (OpenBK7231T_App e1a809755): its
``mainConfig_t`` compiled for a 32-bit target with unsigned ``char`` (as on the Beken chips)
and ``offsetof`` printed; its ``Tiny_CRC8`` compiled with unsigned and with signed ``char`` and
run on the vectors below; its ``CFG_InitAndLoad`` run on our default sector (it loaded it with
no change to save). See the note of issue 14."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from freebeken.errors import ConfigSectorError, UsageError
from freebeken.firmware import obkconfig as oc
from freebeken.firmware.settings import Settings, apply, check_wifi
from freebeken.ha.broker import Broker
from freebeken.templates.model import from_entry
from helpers import SHARED, require_shared

# offsetof / sizeof from the firmware's header, Beken layout (32-bit, 32 GPIOs)
FIRMWARE_OFFSETS = {
    "version": (0x004, 4),
    "change_counter": (0x010, 2),
    "ota_counter": (0x012, 2),
    "wifi_ssid": (0x014, 64),
    "wifi_pass": (0x054, 64),
    "mqtt_host": (0x094, 256),
    "mqtt_client": (0x194, 64),
    "mqtt_user": (0x1D4, 64),
    "mqtt_pass": (0x214, 128),
    "mqtt_port": (0x294, 4),
    "webapp_root": (0x298, 64),
    "mac": (0x2D8, 6),
    "short_name": (0x2DE, 32),
    "long_name": (0x2FE, 64),
    "roles": (0x33E, 32),
    "channels": (0x35E, 32),
    "channels2": (0x37E, 32),
    "channel_types": (0x39E, 64),
    "start_values": (0x3DE, 128),
    "log2lfs": (0x45E, 1),
    "dgr_send_flags": (0x460, 4),
    "dgr_recv_flags": (0x464, 4),
    "dgr_name": (0x468, 16),
    "ntp_server": (0x478, 32),
    "calibration": (0x498, 32),
    "button_short": (0x4B8, 1),
    "button_long": (0x4B9, 1),
    "button_repeat": (0x4BA, 1),
    "lfs_size": (0x4BC, 4),
    "logger_flags": (0x4C0, 4),
    "led_remap": (0x537, 5),
    "led_corr": (0x53C, 24),
    "mqtt_group": (0x554, 64),
    "boot_ok_seconds": (0x597, 1),
    "ping_interval": (0x598, 4),
    "ping_seconds": (0x59C, 4),
    "ping_host": (0x5A0, 64),
    "startup": (0x5E0, 1568),
    "wifi_ssid2": (0xC00, 64),
    "wifi_pass2": (0xC40, 68),
    "web_password": (0xC84, 33),
    "mqtt_tls": (0xCA5, 1),
    "mqtt_verify_tls": (0xCA6, 1),
    "mqtt_cert_file": (0xCA7, 20),
    "disable_web_server": (0xCBB, 1),
}
MAC = bytes.fromhex("c8478c43f310")


def pattern(version: int, fill) -> bytes:
    raw = bytearray(fill(i) & 0xFF for i in range(4096))
    raw[:3] = b"CFG"
    struct.pack_into("<i", raw, 4, version)
    return bytes(raw)


# (sector, Tiny_CRC8 with unsigned char = a plug, with signed char = the x86 simulator build)
VECTORS = [
    (pattern(5, lambda i: i * 37 + 11), 31, 164),
    (pattern(3, lambda i: i * 101 + 7), 255, 21),
    (pattern(4, lambda i: 0x80 | (i * 13 & 0x7F)), 59, 16),
]


def test_the_layout_is_the_firmwares():
    for name, (offset, size) in FIRMWARE_OFFSETS.items():
        f = oc.BY_NAME[name]
        assert (f.offset, f.size) == (offset, size), name
    spans = sorted((f.offset, f.offset + f.size) for f in oc.FIELDS)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False)), "fields overlap"
    assert spans[-1][1] <= oc.SIZE == 3584 and oc.SIZE_V3 == 2016


@pytest.mark.parametrize("sector,arm,x86", VECTORS)
def test_checksum_matches_the_firmwares_tiny_crc8(sector, arm, x86):
    body = sector[4 : oc.covered(struct.unpack_from("<i", sector, 4)[0])]
    assert oc.tiny_crc8(body) == arm
    assert oc.tiny_crc8(body, signed=True) == x86
    on_plug = sector[:3] + bytes([arm]) + sector[4:]
    assert oc.parse(on_plug).variant == "arm"
    from_simulator = sector[:3] + bytes([x86]) + sector[4:]
    assert oc.parse(from_simulator).variant == "x86"


def test_defaults_are_what_the_firmware_makes_and_loads():
    sector = oc.defaults("BK7231N", MAC).to_sector()
    assert sector[3] == 181  # the firmware's loader accepted exactly this sector
    assert sector[oc.SIZE :] == b"\xff" * (oc.SECTOR - oc.SIZE)  # erased, then 3584 bytes written
    cfg = oc.parse(sector)
    assert (cfg["short_name"], cfg["long_name"], cfg["mqtt_client"]) == ("obk8C43F310", "OpenBK7231N_8C43F310", "obk8C43F310")
    assert (cfg["mqtt_port"], cfg["mqtt_user"], cfg["mqtt_group"], cfg.flag(10)) == (1883, "homeassistant", "bekens_n", True)
    assert (cfg["button_short"], cfg["button_long"], cfg["button_repeat"], cfg["boot_ok_seconds"]) == (3, 10, 5, 5)
    assert struct.unpack("<6f", cfg["led_corr"])[3] == pytest.approx(2.2)
    assert oc.defaults("BK7231T", MAC)["mqtt_group"] == "bekens_t"


def test_what_the_firmware_would_reject_is_named():
    good = oc.defaults("BK7231T", MAC).to_sector()
    with pytest.raises(ConfigSectorError, match="erased"):
        oc.parse(b"\xff" * 4096)
    with pytest.raises(ConfigSectorError, match="holds no OpenBeken configuration"):
        oc.parse(b"\x12\x34" * 2048)
    damaged = bytearray(good)
    damaged[0x20] ^= 0x01
    with pytest.raises(ConfigSectorError, match="damaged") as err:
        oc.parse(bytes(damaged))
    assert err.value.exit_code == 13 and "access point" in err.value.hint
    with pytest.raises(ConfigSectorError, match="too short"):
        oc.parse(good[:100])
    beyond = bytearray(good)
    beyond[oc.SIZE + 10] = 0  # outside the struct: the firmware never reads it
    assert oc.parse(bytes(beyond))["short_name"] == "obk8C43F310"


def test_a_version_3_config_is_read_and_upgraded_as_the_firmware_does():
    cfg = oc.defaults("BK7231T", MAC)
    cfg["version"] = 3
    cfg["wifi_ssid2"] = "other"  # beyond 2016 bytes: a version-3 firmware never stored it
    raw = bytearray(cfg.raw)
    raw[3] = oc.tiny_crc8(bytes(raw[4 : oc.SIZE_V3]))
    old = oc.parse(bytes(raw[: oc.SIZE_V3]) + b"\xff" * (4096 - oc.SIZE_V3))
    assert old.version == 3 and old["wifi_ssid2"] == "" and old["short_name"] == "obk8C43F310"
    new = oc.parse(old.to_sector())
    assert new.version == 5 and new["short_name"] == "obk8C43F310"


def test_real_stock_dumps_hold_no_config_there():
    dumps = sorted((SHARED / "dumps").glob("*.bin"))
    if not dumps:
        require_shared("dumps/n_cb2s_plug_mirabella_i003632.bin")
    for path in dumps:
        data = path.read_bytes()
        at = oc.ADDRESS["BK7231N" if path.name.startswith("n_") else "BK7231T"]
        with pytest.raises(ConfigSectorError, match="erased"):
            oc.parse(data[at : at + 4096])


def test_settings_become_fields_and_secrets_stay_hidden():
    cfg = oc.defaults("BK7231T", MAC)
    template = from_entry({"pins": {"7": "Rel;1", "1": "LED_n;1", "8": "Btn;1;2"}, "flags": "1024", "command": "PowerSave 1"})[0]
    changed = apply(
        cfg,
        Settings(
            wifi_ssid="Home",
            wifi_password="hunter2hunter2",
            broker=Broker("10.0.0.2", 1884, "ha", "pw"),
            name="Kitchen Plug!",
            template=template,
        ),
    )
    assert {"wifi_ssid", "wifi_pass", "mqtt_host", "mqtt_port", "mqtt_user", "mqtt_pass", "roles", "startup"} <= set(changed)
    loaded = oc.parse(cfg.to_sector())
    assert loaded.pins() == {1: (6, 1, 0), 7: (1, 1, 0), 8: (3, 1, 2)}
    assert (loaded["short_name"], loaded["mqtt_client"], loaded["long_name"]) == ("kitchen_plug", "kitchen_plug", "Kitchen Plug_")
    assert loaded.flag(27) and loaded.flag(10) and loaded["startup"] == "PowerSave 1" and loaded["mqtt_port"] == 1884
    shown = loaded.as_dict()
    assert "hunter2hunter2" not in str(shown) and shown["wifi_pass"] == "(set, hidden)" and shown["mqtt_pass"] == "(set, hidden)"
    assert loaded.as_dict(show_secrets=True)["wifi_pass"] == "hunter2hunter2"
    assert shown["pins"] == {"1": "LED_n;1", "7": "Rel;1", "8": "Btn;1;2"}
    # a broker without a login keeps the firmware's default user; nothing given changes nothing
    assert apply(loaded, Settings()) == []


@pytest.mark.parametrize(
    "ssid,password,message",
    [
        ("", "password1", "empty"),
        ("x" * 33, "password1", "at most 32"),
        ("Home", "short", "8 to 63"),
        ("Home", "z" * 64, "8 to 63"),
        ("Home", "ab" * 32, "64-digit hex"),
        ("Home", "pässwörd1", "other characters"),
    ],
)
def test_wifi_input_the_plug_could_not_use_is_refused(ssid, password, message):
    with pytest.raises(UsageError, match=message):
        check_wifi(ssid, password)


def test_values_that_do_not_fit_are_refused_before_anything_is_written():
    cfg = oc.defaults("BK7231T", MAC)
    with pytest.raises(ConfigSectorError, match="too long"):
        apply(cfg, Settings(startup="x" * 1568))
    with pytest.raises(UsageError, match="cannot be written"):
        apply(cfg, Settings(template=from_entry({"pins": {"40": "Rel;1"}})[0]))
    with pytest.raises(UsageError, match="does not exist"):
        apply(cfg, Settings(flags={64: True}))
    with pytest.raises(ConfigSectorError, match="NUL"):
        cfg["mqtt_host"] = "a\x00b"
    apply(cfg, Settings(startup="x" * 1567))  # the longest that fits


@settings(max_examples=60, deadline=None)
@given(
    ssid=st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_categories=("Cs",)), min_size=1, max_size=10),
    password=st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=8, max_size=63),
    host=st.from_regex(r"[a-z0-9.-]{1,40}", fullmatch=True),
    port=st.integers(1, 65535),
    name=st.text(min_size=1, max_size=20),
    startup=st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=200),
)
def test_whatever_is_written_loads_back_the_same(ssid, password, host, port, name, startup):
    cfg = oc.defaults("BK7231N", MAC)
    try:
        apply(cfg, Settings(wifi_ssid=ssid, wifi_password=password, broker=Broker(host, port), name=name, startup=startup))
    except (UsageError, ConfigSectorError):
        return  # refused with a reason (too long in bytes): nothing half-applied is written
    back = oc.parse(cfg.to_sector())
    assert (back["wifi_ssid"], back["wifi_pass"], back["mqtt_host"], back["mqtt_port"], back["startup"]) == (
        ssid,
        password,
        host,
        port,
        startup,
    )
