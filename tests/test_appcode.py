"""The application as Beken stores it (CRC'd, encrypted): checked on the real dumps, and the
config that exists only inside it."""

from __future__ import annotations

import pytest

from freebeken.chips import BK7231N, BK7231T, appcode
from freebeken.sim.image import build_stock_image
from freebeken.tuya.analyze import analyze_bytes
from helpers import SHARED

DUMPS = SHARED / "dumps"
needs_dumps = pytest.mark.shared("dumps")
REAL = ["n_cb2s_plug_mirabella_i003632", "n_cb3s_4ch_relay_tywb_rf", "t_wb3l_bulb_sm2135_globe_37783"]
ONLY_BUILTIN = {
    "Jsonver": "1.1.8",
    "module": "CB2S",
    "rl1_pin": 6,
    "rl1_lv": 1,
    "bt1_pin": 7,
    "bt1_lv": 0,
    "netled1_pin": 8,
    "netled1_lv": 0,
    "crc": 71,
}


def test_crc16_is_the_cms_variant():
    assert appcode.crc16_cms(b"123456789") == 0xAEE7  # the catalogue's check value for CRC-16/CMS


@needs_dumps
@pytest.mark.parametrize("name", REAL)
def test_real_applications_decrypt_to_arm_code(name):
    image = (DUMPS / f"{name}.bin").read_bytes()
    app = appcode.read_app(image, 0x129F0A)
    assert app is not None and app.damaged_blocks == 0
    assert app.looks_like_code  # exception vectors: the key and the address mapping are right
    assert b"user_param_key\x00" in app.code  # the firmware's own strings read in clear
    sealed = appcode.Cipher(appcode.TUYA_KEY).crypt(app.code, appcode.APP_MAPPED)
    stored = appcode.add_crc(sealed)  # and the stored form is rebuilt byte for byte
    assert image[0x11000 : 0x11000 + len(stored)] == stored


def test_the_cipher_is_its_own_inverse_and_depends_on_the_address():
    cipher = appcode.Cipher(appcode.TUYA_KEY)
    plain = bytes(range(256)) * 4
    sealed = cipher.crypt(plain, 0x10000)
    assert sealed != plain and cipher.crypt(sealed, 0x10000) == plain
    assert cipher.crypt(plain, 0x20000) != sealed
    assert appcode.Cipher((0, 0, 0, 0)).crypt(plain, 0x10000) == plain  # zero keys: stored in clear


@needs_dumps
def test_a_real_dump_whose_stored_config_is_gone_falls_back_to_the_built_in_default():
    # The Globe bulb's firmware carries a default (a PWM light on a WB3S) next to its stored SM2135 config.
    image = bytearray((DUMPS / "t_wb3l_bulb_sm2135_globe_37783.bin").read_bytes())
    assert analyze_bytes(bytes(image)).config_source == "tuya kv user_param_key"  # stored wins
    image[0x1E2000:] = b"\xff" * (len(image) - 0x1E2000)  # storage and UF copies erased
    a = analyze_bytes(bytes(image))
    assert a.config_source == "tuya application built-in user_param_key"
    assert a.module == "WB3S" and a.tuya_config["cmod"] == "rgbcw"
    assert a.template.to_entry()["pins"] == {"6": "PWM;4", "7": "PWM;5", "8": "PWM;3"}
    assert any("built into the Tuya firmware" in w for w in a.warnings)


@pytest.mark.parametrize("chip", [BK7231T, BK7231N])
def test_a_config_that_exists_only_inside_the_encrypted_application(chip):
    image = build_stock_image(chip, seed=3, builtin=ONLY_BUILTIN, stored=False)
    assert b"rl1_pin" not in image  # nowhere in clear
    a = analyze_bytes(bytes(image))
    assert a.config_source == "tuya application built-in user_param_key"
    assert a.template.to_entry()["pins"] == {"6": "Rel;1", "7": "Btn;1", "8": "WifiLED_n;0"}
    assert not any("no device configuration found" in w for w in a.warnings)


def test_a_stored_config_wins_over_the_built_in_one():
    image = build_stock_image(BK7231T, builtin=ONLY_BUILTIN)
    a = analyze_bytes(bytes(image))
    assert a.config_source == "tuya kv user_param_key"
    assert a.template.to_entry()["pins"] == {"1": "LED_n;1", "7": "Rel;1", "8": "Btn;1"}


def test_without_stored_or_built_in_config_the_answer_is_still_the_pin_finder():
    a = analyze_bytes(bytes(build_stock_image(BK7231N, stored=False)))
    assert a.mapping is None and any("pin finder" in w for w in a.warnings)


def test_an_application_under_another_key_is_said_not_misread():
    image = build_stock_image(BK7231N, builtin=ONLY_BUILTIN, stored=False)
    stored, _ = appcode.strip_crc(image[0x11000:0x129F0A])
    other = appcode.Cipher((0x11111111, 0x22222222, 0x33333333, 0xC7ADEB03))
    resealed = other.crypt(appcode.Cipher(appcode.TUYA_KEY).crypt(stored, 0x10000), 0x10000)
    image[0x11000 : 0x11000 + len(resealed) // 32 * 34] = appcode.add_crc(resealed)
    a = analyze_bytes(bytes(image))
    assert a.mapping is None
    assert any("neither Tuya's usual key nor none" in w for w in a.warnings)


def test_a_zero_key_application_stored_in_clear_is_read_too():
    # BK7231M: the eFuse key is all zero, so the application sits in flash unencrypted
    image = build_stock_image(BK7231N, builtin=ONLY_BUILTIN, stored=False)
    stored, _ = appcode.strip_crc(image[0x11000:0x129F0A])
    plain = appcode.Cipher(appcode.TUYA_KEY).crypt(stored, 0x10000)
    image[0x11000 : 0x11000 + len(plain) // 32 * 34] = appcode.add_crc(plain)
    a = analyze_bytes(bytes(image))
    assert a.template.to_entry()["pins"] == {"6": "Rel;1", "7": "Btn;1", "8": "WifiLED_n;0"}
    assert any("zero eFuse key" in e for e in a.chip_evidence)


def test_damaged_application_blocks_are_counted_and_said():
    image = build_stock_image(BK7231N, builtin=ONLY_BUILTIN, stored=False)
    image[0x11000 + 34 * 10 + 5] ^= 0x40
    a = analyze_bytes(bytes(image))
    assert a.template is not None
    assert any("1 block(s) of the application failed their CRC" in w for w in a.warnings)
