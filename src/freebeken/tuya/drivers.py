"""Tuya's metering and light keys -> OpenBeken roles and driver commands (BL0937/BL0942, PWM
colours, I2C LED drivers, TuyaMCU). Pure."""

from __future__ import annotations

from .pinmap import Builder, add_command, as_int, free_channel
from .upk import Value

I2C_DRIVERS = {  # dmod -> OBK driver name (LibreTiny docs)
    2: "SM2135",
    3: "SM2135",
    4: "SM2135",
    5: "BP1658CJ",
    6: "BP5758D",
    7: "SM2235",
}
DRIVER_ROLES = {
    "SM2135": ("SM2135DAT", "SM2135CLK"),
    "BP5758D": ("BP5758D_DAT", "BP5758D_CLK"),
    "BP1658CJ": ("BP1658CJ_DAT", "BP1658CJ_CLK"),
    "SM2235": ("SM2235DAT", "SM2235CLK"),
    "KP18058": ("KP18058_DAT", "KP18058_CLK"),
}


def metering(b: Builder) -> None:
    upk, m = b.upk, b.m
    chip_type = as_int(upk.get("chip_type"))
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
        add_command(m, "startDriver BL0942")
    if chip_type == 2:
        m.unmapped.append("chip_type=2: HLW8032 power metering is not supported by OpenBeken")


def lights(b: Builder) -> None:
    upk, m = b.upk, b.m
    colours = [c for c in "rgbcw" if f"{c}_pin" in upk and f"{c}_pin" not in b.skipped]
    cw_mode = as_int(upk.get("cwtype")) == 1
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
            b.put(key, "PWM" if lv else "PWM_n", free_channel(m), lv)
    if "iicscl" in upk or "iicsda" in upk:
        driver = I2C_DRIVERS.get(as_int(upk.get("dmod")) or -1) or _driver_by_current(upk)
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
        if all(as_int(v) is not None for v in order):
            b.used.update(f"iic{c}" for c in "rgbcw")
            add_command(m, "LED_Map " + " ".join(str(v) for v in order))
        current = _current_command(driver, upk)
        if current:
            add_command(m, current)


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
        cw = max(as_int(upk.get("dwcur")) or 0, as_int(upk.get("dccur")) or 0)
        return f"BP5758D_Current {upk['drgbcur']} {cw}"
    if driver == "BP1658CJ" and "cjccur" in upk:
        return f"BP1658CJ_Current {upk['cjccur']} {upk.get('cjwcur')}"
    if driver == "SM2235" and "2235ccur" in upk:
        return f"SM2235_Current {upk['2235ccur']} {upk.get('2235wcur')}"
    if driver == "KP18058" and "kp58wcur" in upk:
        return f"KP18058_Current {upk['kp58wcur']} {upk.get('kp58ccur')}"
    return None


def tuya_mcu(b: Builder) -> None:
    """``baud_cfg``/``uart_adapt_params`` and no GPIO roles: a TuyaMCU device on UART1."""
    baud = b.upk.get("baud")
    if baud is None or b.m.template.pins:
        return
    b.used.add("baud")
    b.m.tuya_mcu = {"baud": as_int(baud) or baud, "uart": "UART1: RX1 = P10, TX1 = P11"}
    b.m.drivers.append(f"TuyaMCU at {baud} baud")
    add_command(b.m, f"startDriver TuyaMCU\r\ntuyaMcu_setBaudRate {baud}")
