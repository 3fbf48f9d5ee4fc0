"""Tuya configuration keys -> OpenBeken pin roles, honouring active levels. Pure.

Rules (reference tuya-storage §6.4): ``X_lv`` 1 = active high, 0 = active low. OBK's Rel/LED/
WifiLED are on when high (``_n``: low); OBK's Btn is an active-low input with pull-up (``Btn_n``
inverts). Anything that cannot be mapped is listed, never dropped silently.
"""

from __future__ import annotations

import re

from ..chips import CHIPS
from ..families.registry import spec_by_chip
from ..templates import chips as gpio
from ..templates.model import validate
from ..templates.roles import PWM_ROLES, RELAY_ROLES
from . import modules
from .drivers import lights, metering, tuya_mcu
from .pinmap import NUM, Builder, Mapping, add_command, as_int, free_channel
from .upk import Value

__all__ = ["Mapping", "map_upk", "module_chip"]

REPORT_ONLY = ("ctrl_pin", "buzzer_io", "bz_pin_pin", "buzzer_pwm", "alt_pin_pin", "one_wire_pin", "total_led_pin")


def module_chip(module: str) -> str | None:
    """The chip of a Tuya module family (``tuya/modules.py`` holds the table and its sources)."""
    return modules.chip_of_module(module)


def map_upk(upk: dict[str, Value], chip: str | None = None, profiles: tuple[str, ...] = ()) -> Mapping:
    """The template ``upk`` implies. ``chip``: what the bytes of a dump say; ``profiles``: firmware
    profile names (cloudcutter's) that name the chip. Without either, the module name decides."""
    module = str(upk["module"]) if "module" in upk else None
    chip_value = upk.get("chip")
    chip_key = chip_value if isinstance(chip_value, str) else None
    verdict = modules.decide(module, profiles, chip_key, chip)
    rules, label = _rules(upk, verdict.platform)
    b = Builder(upk, rules, label)
    m = b.m
    m.module, m.chip = module, verdict.chip
    m.chip_evidence, m.chip_conflicts = verdict.evidence, verdict.conflicts
    b.used.update(("module", "chip"))
    m.template.chip = verdict.platform if verdict.chip else ""
    m.checked = rules is not None
    family = spec_by_chip(verdict.platform) if verdict.chip else None
    m.flashable = verdict.chip is None or verdict.platform.lower() in CHIPS or family is not None
    if family is not None:
        m.notes.append(f"freebeken flashes the {verdict.chip} with --chip {family.name}; download mode: {family.download_mode}")
    if not m.checked:
        why = (
            f"freebeken has no pin facts for {verdict.platform}"
            if verdict.chip
            else "the config names no chip and its pins do not all exist on BK7231T/N"
        )
        m.notes.append(f"pins not checked: {why}; they are numbered as the config numbers them")
    elif b.renumber is not None:
        m.notes.append(f"pins renumbered to OpenBeken's {label} pin table (the config numbers them PAn)")

    _unused_slots(b)
    for key, n in b.keys(rf"rl{NUM}_pin") + [("rl", None)] * ("rl" in upk):
        lv = b.level(key, 1)
        b.put(key, "Rel" if lv else "Rel_n", n or 1, lv)
    for key, n in b.keys(rf"rl_on{NUM}_pin"):
        b.put(key, "BridgeFWD", n or 1, b.level(key, 1))
    for key, n in b.keys(rf"rl_off{NUM}_pin"):
        b.put(key, "BridgeREV", n or 1, b.level(key, 1))
    reuse = as_int(upk.get("netled_reuse")) == 1
    b.used.add("netled_reuse")
    for key, n in b.keys(rf"led{NUM}_pin"):
        if reuse:
            b.used.add(key)
            m.notes.append(f"{key}={upk[key]} skipped: netled_reuse=1 (the status LED follows the relay)")
            continue
        lv = b.level(key, 1)
        b.put(key, "LED" if lv else "LED_n", n or 1, lv)
    for pattern in (rf"bt{NUM}_pin", rf"k{NUM}pin_pin"):
        for key, n in b.keys(pattern) + [("bt", None)] * (pattern.startswith("bt") and "bt" in upk):
            if key == "bt_pin":
                continue  # the plain one is the pairing button: below, with a channel of its own
            lv = b.level(key, 0)
            role = "Btn_n" if lv else "Btn"
            b.put(key, role, n or 1, lv)
            if key in b.placed:
                high = " (lv 1, active high; human templates often use Btn here - confirm with the pin finder)" if lv else ""
                m.notes.append(f"{key}: button {n or 1} -> {role};{n or 1}, a click toggles channel {n or 1}{high}")
    if "total_bt_pin" in upk:
        lv = b.level("total_bt_pin", 0)
        b.put("total_bt_pin", "Btn_Tgl_All_n" if lv else "Btn_Tgl_All", 0, lv)
        if "total_bt_pin" in b.placed:
            m.notes.append("total_bt_pin: Tuya's all-relays button -> Btn_Tgl_All, a click toggles every relay")
    for key, n in b.keys(rf"onoff{NUM}"):
        if as_int(upk[key]) is not None and key != "onoff":
            b.put(key, "TglChanOnTgl", n or 1)
            if key in b.placed:
                m.notes.append(f"{key}: a wall switch input -> TglChanOnTgl;{n or 1}, every flip toggles channel {n or 1}")
    relays = sorted({r.channel or 0 for r in m.template.pins.values() if r.role in RELAY_ROLES})
    # nety_led 2 / reuse_led_m 1: once on Wi-Fi the network LED shows the relay (the human templates of
    # such plugs use LED;1 there: 3 of 3 on the same hardware); only without an LED of its own. Not for
    # netled_reuse 1, where the human templates split (1 LED;1, 2 WifiLED_n).
    shows_relay = (as_int(upk.get("nety_led")) == 2 or as_int(upk.get("reuse_led_m")) == 1) and len(relays) == 1
    shows_relay = shows_relay and not any(r.role.startswith("LED") for r in m.template.pins.values())
    for key in ("netled_pin", "netled1_pin", "netled", "wfst_pin", "wfst", "status_led_pin"):
        if key in upk and shows_relay:
            lv = b.level(key, 1)
            b.put(key, "LED" if lv else "LED_n", relays[0], lv)
            m.notes.append(
                f"{key}: nety_led=2 or reuse_led_m=1 (the network LED shows the relay once on Wi-Fi) -> "
                f"{'LED' if lv else 'LED_n'};{relays[0]}"
            )
            shows_relay = False
            continue
        if key in upk and not any(r.role.startswith("WifiLED") for r in m.template.pins.values()):
            lv = b.level(key, 1)
            b.put(key, "WifiLED" if lv else "WifiLED_n", 0, lv)
            if lv:
                m.notes.append(f"{key}: active high -> WifiLED; many human templates use WifiLED_n - confirm with the pin finder")
    _sensor_inputs(b)
    for key, _n in b.keys(rf"i_dctr{NUM}_pin"):  # a 3-way switch senses the load's state here
        lv = b.level(key, 1)
        b.put(key, "dInput" if lv else "dInput_n", free_channel(m), lv)
    metering(b)
    lights(b)
    # after every output: these take a channel no output uses
    if "backlit_io_pin" in upk:  # the backlight of a wall switch's buttons (the web app maps it to LED)
        lv = b.level("backlit_io_pin", 1)
        b.put("backlit_io_pin", "LED" if lv else "LED_n", free_channel(m), lv)
    _device_buttons(b)
    for key, role in (
        ("ir", "IRRecv"),
        ("irpin", "IRRecv"),
        ("infrr", "IRRecv"),
        ("infre", "IRSend"),
        ("remote_io", "RCRecv"),
        ("mic", "ADC"),
        ("micpin", "ADC"),
        ("mosi", "SM16703P_DIN"),
        ("samp_pin", "BAT_ADC"),
    ):
        if key in upk:
            b.put(key, role, 0)
    if "samp_sw_pin" in upk:
        lv = b.level("samp_sw_pin", 1)
        b.put("samp_sw_pin", "BAT_Relay" if lv else "BAT_Relay_n", 0, lv)
    _extras(b)
    if "pwmhz" in upk:
        b.used.add("pwmhz")
        add_command(m, f"PWMFrequency {upk['pwmhz']}")
    tuya_mcu(b)
    for key, value in upk.items():
        if key in b.used:
            continue
        if key in REPORT_ONLY or key.startswith("pir"):
            m.unmapped.append(f"{key}={value}: no OpenBeken role (set it up by hand if needed)")
        elif re.search(r"(_pin|pin|_io)$", key) and as_int(value) is not None:
            m.unmapped.append(f"{key}={value}: unknown key, not mapped")
    if m.checked:
        _drop_rejected(m)
    return m


def _sensor_inputs(b: Builder) -> None:
    """Door magnets and motion sensors. On a battery device (``samp_pin``/``samp_sw_pin``) they become
    ``DoorSnsrWSleep``: OpenBeken starts its deep-sleep driver only for that role (user_main.c), so with
    ``dInput`` the device never sleeps and drains its batteries in days; 6 of the 9 battery door and
    motion sensors in OpenBeken's list use it. Its inversion is the device-wide flag 42
    (OBK_FLAG_DOORSENSOR_INVERT_STATE), so the inputs' levels must agree for it."""
    upk, m = b.upk, b.m
    found = b.keys(rf"door{NUM}_magt_pin") + [(k, None) for k in ("gate_sensor_pin_pin", "basic_pin_pin") if k in upk]
    levels = {key: b.level(key, 1) for key, _ in found}
    sleeps = any(k in upk for k in ("samp_pin", "samp_sw_pin")) and len(set(levels.values())) == 1
    for key, n in found:
        lv = levels[key]
        if not sleeps:
            b.put(key, "dInput" if lv else "dInput_n", n or 1, lv)
            continue
        b.put(key, "DoorSnsrWSleep", n or 1, lv)
        if key in b.placed:
            m.notes.append(
                f"{key}: a battery device's sensor -> DoorSnsrWSleep;{n or 1}, so it sleeps between changes "
                "(it stays awake 60 s after reporting; DSTime sets that)"
            )
    if sleeps and 0 in levels.values() and any(k in b.placed for k in levels):
        m.template.flags = (m.template.flags or 0) | (1 << 42)
        m.notes.append("flag 42 (invert the door sensor's state): the config says the sensor is active low")
    elif len(set(levels.values())) > 1 and any(k in upk for k in ("samp_pin", "samp_sw_pin")):
        m.notes.append(
            "the sensors' levels differ, so they stay dInput (DoorSnsrWSleep inverts all of them or none): "
            "this battery device will not sleep until one is changed by hand"
        )


def _rules(upk: dict[str, Value], platform: str) -> tuple[gpio.PinRules | None, str]:
    """The chip's pin rules and its name for messages. A config naming no chip is read as BK7231T/N
    (what freebeken flashes) only if every pin in it exists there: otherwise no rules are applied."""
    if platform:
        return gpio.rules_for(platform), platform
    pins = [p for k, v in upk.items() if re.search(r"(_pin|pin|_io)$", k) and (p := as_int(v)) is not None]
    if all(p in gpio.EXISTING for p in pins) or not pins:
        return gpio.DEFAULT, "BK7231T/N"
    return None, ""


def _device_buttons(b: Builder) -> None:
    """``bt_pin``/``reset_pin``/``key_pin``: the device's own button, doing what it did under Tuya."""
    upk, m = b.upk, b.m
    roles = list(m.template.pins.values())
    relays = sorted({r.channel or 0 for r in roles if r.role in RELAY_ROLES | {"BridgeFWD"}})
    light = not relays and any(r.role in PWM_ROLES or r.role.endswith(("DAT", "_DIN")) for r in roles)
    for key in ("bt_pin", "reset_pin", "key_pin"):
        if key not in upk:
            continue
        lv = b.level(key, 0)
        n = "_n" if lv else ""
        if light:
            role, channel = f"Btn_SmartLED{n}", 0
            why = (
                f"{key}: the light's own button -> {role} (click toggles the light, double click next colour, "
                "triple click next temperature, hold dims)"
            )
        elif len(relays) == 1:
            role, channel = f"Btn{n}", relays[0]
            why = f"{key}: the button of a one-relay device -> {role};{channel} (a click toggles the relay)"
        elif relays:
            role, channel = f"Btn_Tgl_All{n}", 0
            why = f"{key}: the device's button with {len(relays)} relays -> {role} (a click toggles every relay)"
        else:  # a sensor's pairing button: on channel 1 it would flip the sensor's state
            role, channel = f"Btn{n}", free_channel(m)
            why = (
                f"{key} (the pairing button) got channel {channel} of its own; set it to a relay's channel "
                "if it should switch that relay"
            )
        b.put(key, role, channel, lv)
        if key in b.placed:
            m.notes.append(why)


def _extras(b: Builder) -> None:
    """Keys above ``ch_num``/``knum`` or colours outside ``cmod``: real wiring on many modules (a
    curtain's open/close relays sit on rl1/rl3/rl4/rl6 with ch_num 2). Mapped where no live role
    holds the pin; dropped only on a collision, naming the key that keeps the pin."""
    upk, m = b.upk, b.m
    for key, why in b.extra.items():
        colour = re.fullmatch(r"([rgbcw])_pin", key)
        number = re.search(r"(\d+)", key)
        n = int(number.group(1)) if number and not colour else None
        lv = b.level(key, 0 if key.startswith("k") else 1)
        if colour:
            role, channel = ("PWM" if lv else "PWM_n"), free_channel(m)
        elif key.startswith("rl"):
            role, channel = ("Rel" if lv else "Rel_n"), n or 1
        else:
            role, channel = ("Btn_n" if lv else "Btn"), n or 1
        winner = b.put(key, role, channel, lv)
        if winner is not None:
            held = next((r for p, r in m.template.pins.items() if b.owner.get(p) == winner), None)
            holds = held.text() if held else "taken"
            m.unmapped.append(f"{key}={upk[key]} is {why} and its pin is {winner}'s ({holds}); dropped")
        elif key in b.placed:
            m.notes.append(f"{key} is {why}: kept, the module drives it ({role};{channel})")


def _unused_slots(b: Builder) -> None:
    """Keys beyond the config's own counts (a button above ``knum``, a relay above ``ch_num``, a colour
    not in ``cmod``): mapped last by ``_extras``, so that they never take a live role's pin."""
    upk = b.upk
    limits = {rf"k{NUM}pin_pin": as_int(upk.get("knum")), rf"rl{NUM}_pin": as_int(upk.get("ch_num"))}
    names = {rf"k{NUM}pin_pin": "knum", rf"rl{NUM}_pin": "ch_num"}
    for pattern, limit in limits.items():
        for key, n in b.keys(pattern):
            if limit is not None and n is not None and n > limit:
                b.skipped.add(key)
                b.extra[key] = f"above {names[pattern]} {limit}"
    cmod = upk.get("cmod")
    if isinstance(cmod, str) and cmod.isalpha():
        for colour in "rgbcw":
            if f"{colour}_pin" in upk and colour not in cmod.lower():
                b.skipped.add(f"{colour}_pin")
                b.extra[f"{colour}_pin"] = f"colour {colour!r}, not in cmod={cmod!r}"
    b.used.update(k for k in ("knum", "ch_num", "cmod") if k in upk)


def _drop_rejected(m: Mapping) -> None:
    """Never propose a template that `template check` rejects: such pins go to ``unmapped``."""
    for problem in validate(m.template):
        if problem.severity == "error" and problem.where.startswith("pins."):
            pin = int(problem.where.split(".")[1])
            role = m.template.pins.pop(pin, None)
            if role is not None:
                m.unmapped.append(f"P{pin} {role.text()}: {problem.message}; dropped")
