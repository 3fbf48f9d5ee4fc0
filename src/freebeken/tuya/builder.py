"""Write a Tuya-style configuration into a flash image: the encrypted KV store (and optionally a
plaintext UF copy), as stock firmware leaves it. Used by the chip simulator's default image and
by tests; its output is checked against bk7231tools' decoder too. Pure."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping

from ..chips import chip_by_name
from .kv import SECTOR, encode

KV_KEY_BLOCK = 0x1EE000
SWAP = 0x1FD000
DEVICE_KEY = bytes.fromhex("cb4e3ea400309dab656d8dbfe4b93f35")  # the key all T dumps share (public fact)


def upk_text(config: Mapping[str, object]) -> str:
    """Tuya's quote-less format, trailing comma included: ``{rl1_pin:7,rl1_lv:1,crc:12,}``."""
    return "{" + "".join(f"{k}:{v}," for k, v in config.items()) + "}"


def tuya_values(
    config: Mapping[str, object] | None, chip: str, seed: int = 0, extra: Mapping[str, bytes] | None = None
) -> dict[str, bytes]:
    rng = random.Random(seed)
    values: dict[str, bytes] = {
        "gw_bi": json.dumps(
            {"uuid": f"uuid{rng.getrandbits(48):012x}", "auth_key": rng.randbytes(16).hex(), "ap_ssid": "SmartLife"}
        ).encode(),
        "gw_di": json.dumps(
            {"id": f"bf{rng.getrandbits(64):016x}", "swv": "1.0.5", "bv": "40.00", "pv": "2.2", "pk": "keysimulatorxxxx"}
        ).encode(),
        "gw_wsm": json.dumps({"ssid": "SG9tZVdpRmk=", "passwd": "c2VjcmV0cGFzcw==", "wfb64": 1}).encode(),
        "em_sys_env": chip_by_name(chip).em_sys_env.encode().ljust(32, b"\x00"),
    }
    if config is not None:
        values["user_param_key"] = upk_text(config).encode()
    values.update(extra or {})
    return values


def write_config(
    image: bytearray,
    chip: str,
    config: Mapping[str, object] | None,
    *,
    seed: int = 0,
    plaintext_copy: bool = True,
    extra: Mapping[str, bytes] | None = None,
    stale_copy: Mapping[str, object] | None = None,
) -> None:
    """Put ``config`` (the user_param_key keys) into ``image`` where stock firmware keeps it.

    ``stale_copy``: an older config left in the swap area with a lower generation, as real
    stores have; a correct reader ignores it.
    """
    blob = encode(tuya_values(config, chip, seed, extra), DEVICE_KEY, generation=5)
    image[KV_KEY_BLOCK : KV_KEY_BLOCK + len(blob)] = blob
    if stale_copy is not None:
        old = encode(tuya_values(stale_copy, chip, seed), DEVICE_KEY, generation=4)
        # the swap area holds copies of the first data blocks (ids 0..2)
        image[SWAP : SWAP + 3 * SECTOR] = old[SECTOR : 4 * SECTOR]
    if plaintext_copy and config is not None:
        text = upk_text(config).encode()
        address = chip_by_name(chip).tuya_uf
        image[address : address + SECTOR] = text.ljust(SECTOR, b"\x00")


#: The seed thread's Aoycocr U3 plug (relay P7, LED_n P1, button P8), as its stock config would say.
AOYCOCR_U3 = {
    "Jsonver": "1.1.8",
    "module": "WB3S",
    "rl1_pin": 7,
    "rl1_lv": 1,
    "led1_pin": 1,
    "led1_lv": 0,
    "bt1_pin": 8,
    "bt1_lv": 0,
    "netled_reuse": 0,
    "ch_num": 1,
    "crc": 86,
}
#: A typical CB2S plug with BL0937 power metering.
CB2S_METERING_PLUG = {
    "Jsonver": "1.1.8",
    "module": "CB2S",
    "rl1_pin": 6,
    "rl1_lv": 1,
    "bt1_pin": 7,
    "bt1_lv": 0,
    "netled1_pin": 8,
    "netled1_lv": 0,
    "ele_pin": 24,
    "vi_pin": 26,
    "sel_pin_pin": 11,
    "sel_pin_lv": 1,
    "chip_type": 0,
    "crc": 45,
}
