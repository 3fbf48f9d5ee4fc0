"""Tuya configuration keys -> OpenBeken pin roles, honouring active levels. Pure.

Rules (reference tuya-storage §6.4): ``X_lv`` 1 = active high, 0 = active low. OBK's Rel/LED/
WifiLED are on when high (``_n``: low); OBK's Btn is an active-low input with pull-up (``Btn_n``
inverts). Anything that cannot be mapped is listed, never dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..chips import CHIPS
from ..templates import chips as gpio
from ..templates.model import PinRole, Template, validate
from ..templates.roles import PWM_ROLES, RELAY_ROLES
from . import modules
from .upk import Value

_NUM = r"(\d*)"
I2C_DRIVERS = {  # dmod -> OBK driver name (LibreTiny docs)
    2: "SM2135", 3: "SM2135", 4: "SM2135", 5: "BP1658CJ", 6: "BP5758D", 7: "SM2235",
}  # fmt: skip
DRIVER_ROLES = {
    "SM2135": ("SM2135DAT", "SM2135CLK"),
    "BP5758D": ("BP5758D_DAT", "BP5758D_CLK"),
    "BP1658CJ": ("BP1658CJ_DAT", "BP1658CJ_CLK"),
    "SM2235": ("SM2235DAT", "SM2235CLK"),
    "KP18058": ("KP18058_DAT", "KP18058_CLK"),
}
REPORT_ONLY = ("ctrl_pin", "buzzer_io", "bz_pin_pin", "buzzer_pwm", "alt_pin_pin", "one_wire_pin", "total_led_pin")


@dataclass
class Mapping:
    template: Template = field(default_factory=Template)
    levels: dict[int, str] = field(default_factory=dict)
    drivers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    module: str | None = None
    chip: str | None = None  # the silicon (RTL8720CF); the template's chip is OpenBeken's platform name (RTL87X0C)
    chip_evidence: list[str] = field(default_factory=list)
    chip_conflicts: list[str] = field(default_factory=list)
    checked: bool = True  # False: no pin facts for the chip, the pins were not checked
    flashable: bool = True  # False: freebeken cannot flash this chip (another tool must)
    tuya_mcu: dict[str, object] | None = None


def _int(v: Value | None) -> int | None:
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) <= 9:  # not '²', not 5000 digits
        return int(v)
    return None


class _Builder:
    def __init__(self, upk: dict[str, Value], rules: gpio.PinRules | None, label: str) -> None:
        self.upk = upk
        self.m = Mapping()
        self.used: set[str] = set()
        self.skipped: set[str] = set()  # keys beyond the config's own count: mapped last, where nothing live is
        self.extra: dict[str, str] = {}  # such a key -> why it is beyond ("above ch_num 2")
        self.owner: dict[int, str] = {}  # pin -> the key that took it
        self.placed: dict[str, int] = {}  # key -> the pin it took
        self.rules = rules  # None: no pin facts, nothing dropped for the pin
        self.label = label  # the chip as said in messages
        self.renumber = gpio.TUYA_TO_OBK.get(label)

    def level(self, key: str, default: int) -> int:
        lv_key = re.sub(r"_pin$", "", key) + "_lv"
        for candidate in (lv_key, key + "_lv"):
            if candidate in self.upk:
                self.used.add(candidate)
                return 1 if _int(self.upk[candidate]) else 0
        return default

    def pin_of(self, key: str) -> int | None:
        """The key's pin in OpenBeken's numbering for the chip; None (said in unmapped) when it has none."""
        pin = _int(self.upk.get(key))
        if pin is None:
            self.m.unmapped.append(f"{key}={self.upk.get(key)!r}: not a pin number")
            return None
        if self.renumber is not None:
            if pin not in self.renumber:
                self.m.unmapped.append(f"{key}={pin}: PA{pin} is not in OpenBeken's {self.label} pin table; dropped")
                return None
            pin = self.renumber[pin]
        rules = self.rules
        if rules is not None and not (0 <= pin < rules.gpio_count and (rules.bonded is None or pin in rules.bonded)):
            self.m.unmapped.append(f"{key}={self.upk.get(key)}: P{pin} does not exist on {self.label} (a placeholder); dropped")
            return None
        return pin

    def put(self, key: str, role: str, channel: int | None, level: int | None = None) -> str | None:
        """Give ``key``'s pin the role; returns the key that already holds the pin (then nothing changes)."""
        self.used.add(key)
        pin = self.pin_of(key)
        if pin is None:
            return None
        existing = self.m.template.pins.get(pin)
        if existing is not None:
            winner = self.owner.get(pin, "another key")
            if existing.role != role and key not in self.extra:  # bt_pin and reset_pin naming one button: one pin
                self.m.notes.append(f"P{pin} is named by two keys; kept {winner} ({existing.role}), ignored {key} ({role})")
            return winner
        self.m.template.pins[pin] = PinRole(role, channel if channel is not None else 0)
        self.owner[pin] = key
        self.placed[key] = pin
        if level is not None:
            self.m.levels[pin] = "active high" if level else "active low"
        return None

    def keys(self, pattern: str) -> list[tuple[str, int | None]]:
        """Keys matching ``pattern`` (with one ``(\\d*)`` group), with their number (None if absent)."""
        out = []
        for key in self.upk:
            m = re.fullmatch(pattern, key) if key not in self.skipped else None
            if m:
                out.append((key, int(m.group(1)) if m.group(1) else None))
        return sorted(out, key=lambda kv: (kv[1] or 0, kv[0]))


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
    b = _Builder(upk, rules, label)
    m = b.m
    m.module, m.chip = module, verdict.chip
    m.chip_evidence, m.chip_conflicts = verdict.evidence, verdict.conflicts
    b.used.update(("module", "chip"))
    m.template.chip = verdict.platform if verdict.chip else ""
    m.checked = rules is not None
    m.flashable = verdict.chip is None or verdict.platform.lower() in CHIPS
    if not m.checked:
        why = (f"freebeken has no pin facts for {verdict.platform}" if verdict.chip else
               "the config names no chip and its pins do not all exist on BK7231T/N")  # fmt: skip
        m.notes.append(f"pins not checked: {why}; they are numbered as the config numbers them")
    elif b.renumber is not None:
        m.notes.append(f"pins renumbered to OpenBeken's {label} pin table (the config numbers them PAn)")

    _unused_slots(b)
    for key, n in b.keys(rf"rl{_NUM}_pin") + [("rl", None)] * ("rl" in upk):
        lv = b.level(key, 1)
        b.put(key, "Rel" if lv else "Rel_n", n or 1, lv)
    for key, n in b.keys(rf"rl_on{_NUM}_pin"):
        b.put(key, "BridgeFWD", n or 1, b.level(key, 1))
    for key, n in b.keys(rf"rl_off{_NUM}_pin"):
        b.put(key, "BridgeREV", n or 1, b.level(key, 1))
    reuse = _int(upk.get("netled_reuse")) == 1
    b.used.add("netled_reuse")
    for key, n in b.keys(rf"led{_NUM}_pin"):
        if reuse:
            b.used.add(key)
            m.notes.append(f"{key}={upk[key]} skipped: netled_reuse=1 (the status LED follows the relay)")
            continue
        lv = b.level(key, 1)
        b.put(key, "LED" if lv else "LED_n", n or 1, lv)
    for pattern in (rf"bt{_NUM}_pin", rf"k{_NUM}pin_pin"):
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
    for key, n in b.keys(rf"onoff{_NUM}"):
        if _int(upk[key]) is not None and key != "onoff":
            b.put(key, "TglChanOnTgl", n or 1)
            if key in b.placed:
                m.notes.append(f"{key}: a wall switch input -> TglChanOnTgl;{n or 1}, every flip toggles channel {n or 1}")
    relays = sorted({r.channel or 0 for r in m.template.pins.values() if r.role in RELAY_ROLES})
    # nety_led 2 / reuse_led_m 1: once on Wi-Fi the network LED shows the relay (the human templates of
    # such plugs use LED;1 there: 3 of 3 on the same hardware); only without an LED of its own. Not for
    # netled_reuse 1, where the human templates split (1 LED;1, 2 WifiLED_n).
    shows_relay = (_int(upk.get("nety_led")) == 2 or _int(upk.get("reuse_led_m")) == 1) and len(relays) == 1
    shows_relay = shows_relay and not any(r.role.startswith("LED") for r in m.template.pins.values())
    for key in ("netled_pin", "netled1_pin", "netled", "wfst_pin", "wfst", "status_led_pin"):
        if key in upk and shows_relay:
            lv = b.level(key, 1)
            b.put(key, "LED" if lv else "LED_n", relays[0], lv)
            m.notes.append(f"{key}: nety_led=2 or reuse_led_m=1 (the network LED shows the relay once on Wi-Fi) -> "
                           f"{'LED' if lv else 'LED_n'};{relays[0]}")  # fmt: skip
            shows_relay = False
            continue
        if key in upk and not any(r.role.startswith("WifiLED") for r in m.template.pins.values()):
            lv = b.level(key, 1)
            b.put(key, "WifiLED" if lv else "WifiLED_n", 0, lv)
            if lv:
                m.notes.append(f"{key}: active high -> WifiLED; many human templates use WifiLED_n - confirm with the pin finder")
    for key, n in b.keys(rf"door{_NUM}_magt_pin") + [(k, None) for k in ("gate_sensor_pin_pin", "basic_pin_pin") if k in upk]:
        lv = b.level(key, 1)
        b.put(key, "dInput" if lv else "dInput_n", n or 1, lv)
    for key, _n in b.keys(rf"i_dctr{_NUM}_pin"):  # a 3-way switch senses the load's state here
        lv = b.level(key, 1)
        b.put(key, "dInput" if lv else "dInput_n", _free_channel(m), lv)
    _metering(b)
    _lights(b)
    # after every output: these take a channel no output uses
    if "backlit_io_pin" in upk:  # the backlight of a wall switch's buttons (the web app maps it to LED)
        lv = b.level("backlit_io_pin", 1)
        b.put("backlit_io_pin", "LED" if lv else "LED_n", _free_channel(m), lv)
    _device_buttons(b)
    for key, role in (("ir", "IRRecv"), ("irpin", "IRRecv"), ("infrr", "IRRecv"), ("infre", "IRSend"),
                      ("remote_io", "RCRecv"), ("mic", "ADC"), ("micpin", "ADC"), ("mosi", "SM16703P_DIN"),
                      ("samp_pin", "BAT_ADC")):  # fmt: skip
        if key in upk:
            b.put(key, role, 0)
    if "samp_sw_pin" in upk:
        lv = b.level("samp_sw_pin", 1)
        b.put("samp_sw_pin", "BAT_Relay" if lv else "BAT_Relay_n", 0, lv)
    _extras(b)
    if "pwmhz" in upk:
        b.used.add("pwmhz")
        _command(m, f"PWMFrequency {upk['pwmhz']}")
    _tuya_mcu(b)
    for key, value in upk.items():
        if key in b.used:
            continue
        if key in REPORT_ONLY or key.startswith("pir"):
            m.unmapped.append(f"{key}={value}: no OpenBeken role (set it up by hand if needed)")
        elif re.search(r"(_pin|pin|_io)$", key) and _int(value) is not None:
            m.unmapped.append(f"{key}={value}: unknown key, not mapped")
    if m.checked:
        _drop_rejected(m)
    return m


def _rules(upk: dict[str, Value], platform: str) -> tuple[gpio.PinRules | None, str]:
    """The chip's pin rules and its name for messages. A config naming no chip is read as BK7231T/N
    (what freebeken flashes) only if every pin in it exists there: otherwise no rules are applied."""
    if platform:
        return gpio.rules_for(platform), platform
    pins = [p for k, v in upk.items() if re.search(r"(_pin|pin|_io)$", k) and (p := _int(v)) is not None]
    if all(p in gpio.EXISTING for p in pins) or not pins:
        return gpio.DEFAULT, "BK7231T/N"
    return None, ""


def _device_buttons(b: _Builder) -> None:
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
            why = (f"{key}: the light's own button -> {role} (click toggles the light, double click next colour, "
                   "triple click next temperature, hold dims)")  # fmt: skip
        elif len(relays) == 1:
            role, channel = f"Btn{n}", relays[0]
            why = f"{key}: the button of a one-relay device -> {role};{channel} (a click toggles the relay)"
        elif relays:
            role, channel = f"Btn_Tgl_All{n}", 0
            why = f"{key}: the device's button with {len(relays)} relays -> {role} (a click toggles every relay)"
        else:  # a sensor's pairing button: on channel 1 it would flip the sensor's state
            role, channel = f"Btn{n}", _free_channel(m)
            why = (f"{key} (the pairing button) got channel {channel} of its own; set it to a relay's channel "
                   "if it should switch that relay")  # fmt: skip
        b.put(key, role, channel, lv)
        if key in b.placed:
            m.notes.append(why)


def _extras(b: _Builder) -> None:
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
            role, channel = ("PWM" if lv else "PWM_n"), _free_channel(m)
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


def _free_channel(m: Mapping) -> int:
    """The lowest channel no pin uses yet (never 0, which many roles treat as none)."""
    used = {r.channel for r in m.template.pins.values()} | {r.channel2 for r in m.template.pins.values()}
    return next(ch for ch in range(1, 64) if ch not in used)


def _unused_slots(b: _Builder) -> None:
    """Keys beyond the config's own counts (a button above ``knum``, a relay above ``ch_num``, a colour
    not in ``cmod``): mapped last by ``_extras``, so that they never take a live role's pin."""
    upk = b.upk
    limits = {rf"k{_NUM}pin_pin": _int(upk.get("knum")), rf"rl{_NUM}_pin": _int(upk.get("ch_num"))}
    names = {rf"k{_NUM}pin_pin": "knum", rf"rl{_NUM}_pin": "ch_num"}
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


def _command(m: Mapping, line: str) -> None:
    m.template.command = f"{m.template.command}\r\n{line}" if m.template.command else line


def _metering(b: _Builder) -> None:
    upk, m = b.upk, b.m
    chip_type = _int(upk.get("chip_type"))
    b.used.add("chip_type")
    for keys, role in ((("ele_pin", "epin"), "BL0937CF"), (("vi_pin", "ivpin"), "BL0937CF1")):
        for key in keys:
            if key in upk:
                b.put(key, role, 0)
                break
    for key in ("sel_pin_pin", "ivcpin"):
        if key in upk:
            lv = b.level(key, 1)
            b.put(key, "BL0937SEL" if lv else "BL0937SEL_n", 0, lv)
            break
    if any(r.role.startswith("BL0937") for r in m.template.pins.values()):
        m.drivers.append("BL0937 (starts by itself when its three pins are set)")
    if chip_type in (3, 4) or "ele_rx" in upk:
        b.used.update({"ele_rx", "ele_tx"})
        m.drivers.append("BL0942 on UART1 (P10/P11)")
        _command(m, "startDriver BL0942")
    if chip_type == 2:
        m.unmapped.append("chip_type=2: HLW8032 power metering is not supported by OpenBeken")


def _lights(b: _Builder) -> None:
    upk, m = b.upk, b.m
    colours = [c for c in "rgbcw" if f"{c}_pin" in upk and f"{c}_pin" not in b.skipped]
    cw_mode = _int(upk.get("cwtype")) == 1
    b.used.add("cwtype")
    if cw_mode and {"c", "w"} <= set(colours):
        # CCT driver: w carries temperature on the lower channel, c brightness (OBK flag 8)
        colours = [c for c in colours if c not in "cw"] + ["w", "c"]
        m.template.flags = (m.template.flags or 0) | (1 << 8)
        m.notes.append("cwtype=1: OBK flag 8 (alternate CW mode) set; check brightness/temperature on the device")
    for channel, colour in enumerate(colours, start=1):
        key = f"{colour}_pin"
        lv = b.level(key, 1)
        b.put(key, "PWM" if lv else "PWM_n", channel, lv)
    # PWM on channels no one uses: firstpin/secpin as OpenBeken's web app maps them; a star projector's
    # laser (l_pin, laserbrig) and motor (m_pin, motorspd) are dimmed outputs too
    for key in ("firstpin_pin", "secpin_pin", "l_pin", "m_pin"):
        if key in upk:
            lv = b.level(key, 1)
            b.put(key, "PWM" if lv else "PWM_n", _free_channel(m), lv)
    if "iicscl" in upk or "iicsda" in upk:
        driver = I2C_DRIVERS.get(_int(upk.get("dmod")) or -1) or _driver_by_current(upk)
        b.used.update({"dmod"})
        if driver is None:
            m.unmapped.append("iicscl/iicsda: I2C LED driver not recognised (no dmod or current keys)")
            b.used.update({"iicscl", "iicsda"})
            return
        dat, clk = DRIVER_ROLES[driver]
        b.put("iicsda", dat, 0)
        b.put("iicscl", clk, 0)
        m.drivers.append(f"{driver} I2C LED driver")
        order = [upk.get(f"iic{c}") for c in "rgbcw"]
        if all(_int(v) is not None for v in order):
            b.used.update(f"iic{c}" for c in "rgbcw")
            _command(m, "LED_Map " + " ".join(str(v) for v in order))
        current = _current_command(driver, upk)
        if current:
            _command(m, current)


def _driver_by_current(upk: dict[str, Value]) -> str | None:
    if any(k in upk for k in ("ehccur", "wampere", "iicccur")):
        return "SM2135"
    if "dccur" in upk:
        return "BP5758D"
    if "cjwcur" in upk:
        return "BP1658CJ"
    if "2235ccur" in upk or "2335ccur" in upk:
        return "SM2235"
    if "kp58wcur" in upk:
        return "KP18058"
    return None


def _current_command(driver: str, upk: dict[str, Value]) -> str | None:
    def first(*keys: str) -> Value | None:
        return next((upk[k] for k in keys if k in upk), None)

    if driver == "SM2135":
        rgb, cw = first("ehccur", "iicccur", "campere"), first("ehwcur", "iicwcur", "wampere")
        return f"SM2135_Current {rgb} {cw}" if rgb is not None and cw is not None else None
    if driver == "BP5758D" and "drgbcur" in upk:
        cw = max(_int(upk.get("dwcur")) or 0, _int(upk.get("dccur")) or 0)
        return f"BP5758D_Current {upk['drgbcur']} {cw}"
    if driver == "BP1658CJ" and "cjccur" in upk:
        return f"BP1658CJ_Current {upk['cjccur']} {upk.get('cjwcur')}"
    if driver == "SM2235" and "2235ccur" in upk:
        return f"SM2235_Current {upk['2235ccur']} {upk.get('2235wcur')}"
    if driver == "KP18058" and "kp58wcur" in upk:
        return f"KP18058_Current {upk['kp58wcur']} {upk.get('kp58ccur')}"
    return None


def _tuya_mcu(b: _Builder) -> None:
    """``baud_cfg``/``uart_adapt_params`` and no GPIO roles: a TuyaMCU device on UART1."""
    baud = b.upk.get("baud")
    if baud is None or b.m.template.pins:
        return
    b.used.add("baud")
    b.m.tuya_mcu = {"baud": _int(baud) or baud, "uart": "UART1: RX1 = P10, TX1 = P11"}
    b.m.drivers.append(f"TuyaMCU at {baud} baud")
    _command(b.m, f"startDriver TuyaMCU\r\ntuyaMcu_setBaudRate {baud}")
