"""OpenBeken pin roles: the short names ``SetPinRole`` accepts, by numeric id (IOR_* order).

Facts from OBK's ``htmlPinRoleNames`` (reference: openbeken-device-api §4.2). Id 0 is "None".
"""

from __future__ import annotations

ROLE_NAMES: tuple[str, ...] = (
    "None",
    "Rel",
    "Rel_n",
    "Btn",
    "Btn_n",
    "LED",
    "LED_n",
    "PWM",
    "WifiLED",
    "WifiLED_n",
    "Btn_Tgl_All",
    "Btn_Tgl_All_n",
    "dInput",
    "dInput_n",
    "TglChanOnTgl",
    "dInput_NoPullUp",
    "dInput_NoPullUp_n",
    "BL0937SEL",
    "BL0937CF",
    "BL0937CF1",
    "ADC",
    "SM2135DAT",
    "SM2135CLK",
    "BP5758D_DAT",
    "BP5758D_CLK",
    "BP1658CJ_DAT",
    "BP1658CJ_CLK",
    "PWM_n",
    "IRRecv",
    "IRSend",
    "Btn_NextColor",
    "Btn_NextColor_n",
    "Btn_NextDimmer",
    "Btn_NextDimmer_n",
    "AlwaysHigh",
    "AlwaysLow",
    "UCS1912_DIN",
    "SM16703P_DIN",
    "Btn_NextTemperature",
    "Btn_NextTemperature_n",
    "Btn_ScriptOnly",
    "Btn_ScriptOnly_n",
    "DHT11",
    "DHT12",
    "DHT21",
    "DHT22",
    "CHT83XX_SDA",
    "CHT83XX_SCK",
    "SHT3X_SDA",
    "SHT3X_SCK",
    "SoftSDA",
    "SoftSCL",
    "SM2235DAT",
    "SM2235CLK",
    "BridgeFWD",
    "BridgeREV",
    "Btn_SmartLED",
    "Btn_SmartLED_n",
    "DoorSnsrWSleep",
    "DoorSnsrWSleep_nPup",
    "BAT_ADC",
    "BAT_Relay",
    "TM1637_DIO",
    "TM1637_CLK",
    "BL0937SEL_n",
    "DoorSnsrWSleep_pd",
    "SGP_CLK",
    "SGP_DAT",
    "ADC_Button",
    "GN6932_CLK",
    "GN6932_DAT",
    "GN6932_STB",
    "TM1638_CLK",
    "TM1638_DAT",
    "TM1638_STB",
    "BAT_Relay_n",
    "KP18058_CLK",
    "KP18058_DAT",
    "DS1820_IO",
    "PWM_ScriptOnly",
    "PWM_ScriptOnly_n",
    "Counter_f",
    "Counter_r",
    "IRRecv_nPup",
    "StripState",
    "StripState_n",
    "HLW_8112_SCSN",
    "RCRecv",
    "RCRecv_nPup",
    "Btn_pd",
    "Btn_pd_n",
    "TglChanOnTgl_pd",
    "ShutterA",
    "ShutterB",
    "BtnShutterUp",
    "BtnShutterDown",
    "BL0939_SCLK",
    "BL0939_MOSI",
    "BL0939_MISO",
)

ROLE_IDS: dict[str, int] = {name.lower(): i for i, name in enumerate(ROLE_NAMES)}

#: Long names the web app rewrites before sending (reference §3.8).
LEGACY: dict[str, str] = {"relay": "Rel", "relay_n": "Rel_n", "button": "Btn", "button_n": "Btn_n"}

#: Names seen in devices.json that the firmware rejects, with the accepted spelling.
MISSPELLINGS: dict[str, str] = {
    "sm2135_dat": "SM2135DAT",
    "sm2135_clk": "SM2135CLK",
    "sm2235_dat": "SM2235DAT",
    "sm2235_clk": "SM2235CLK",
    "bp5758_dat": "BP5758D_DAT",
    "bp5758_clk": "BP5758D_CLK",
    "bp1658_dat": "BP1658CJ_DAT",
    "bp1658_clk": "BP1658CJ_CLK",
}

#: Roles whose channel is meaningless (drivers, status LEDs).
CHANNEL_UNUSED = {
    "None",
    "WifiLED",
    "WifiLED_n",
    "BL0937SEL",
    "BL0937SEL_n",
    "BL0937CF",
    "BL0937CF1",
    "SM2135DAT",
    "SM2135CLK",
    "BP5758D_DAT",
    "BP5758D_CLK",
    "BP1658CJ_DAT",
    "BP1658CJ_CLK",
    "SM2235DAT",
    "SM2235CLK",
    "KP18058_CLK",
    "KP18058_DAT",
    "IRRecv",
    "IRSend",
    "SM16703P_DIN",
    "RCRecv",
    "RCRecv_nPup",
    "AlwaysHigh",
    "AlwaysLow",
}

PWM_ROLES = {"PWM", "PWM_n", "PWM_ScriptOnly", "PWM_ScriptOnly_n"}
RELAY_ROLES = frozenset({"Rel", "Rel_n"})
#: Inputs the firmware announces to Home Assistant as a binary_sensor (new_pins.c h_isChannelDigitalInput).
BINARY_INPUT_ROLES = frozenset(
    {"dInput", "dInput_n", "dInput_NoPullUp", "dInput_NoPullUp_n", "DoorSnsrWSleep", "DoorSnsrWSleep_nPup", "DoorSnsrWSleep_pd"}
)
OUTPUT_ROLES = RELAY_ROLES | {"LED", "LED_n", "BridgeFWD", "BridgeREV"} | PWM_ROLES


def canonical(name: str) -> str | None:
    """The accepted short name for ``name`` (case-insensitive, legacy long names mapped), or None."""
    key = name.strip().lower()
    if key in LEGACY:
        return LEGACY[key]
    if key in ROLE_IDS:
        return ROLE_NAMES[ROLE_IDS[key]]
    return None


# ---- what each role means (our words), for `freebeken template roles` ----

_MEANING = {
    "None": "not used",
    "Rel": "relay: on when its channel is 1",
    "Btn": "push button to GND (internal pull-up): a click toggles its channel",
    "Btn_pd": "push button to VCC (internal pull-down): a click toggles its channel",
    "Btn_Tgl_All": "push button: a click toggles every relay",
    "Btn_NextColor": "push button: the next colour of the light",
    "Btn_NextDimmer": "push button: the next brightness step",
    "Btn_NextTemperature": "push button: the next colour temperature",
    "Btn_ScriptOnly": "push button that only runs scripts (no channel is toggled)",
    "Btn_SmartLED": "a light's own button: click toggles the light, double click next colour, triple click next "
    "temperature, hold dims (new_pins.c)",
    "LED": "indicator LED: lit when its channel is 1",
    "WifiLED": "status LED: blinks while connecting, lit once on Wi-Fi",
    "PWM": "dimmable output (a light colour or brightness) on its channel, 0-100",
    "PWM_ScriptOnly": "PWM output driven by scripts only",
    "dInput": "digital input (pull-up): its channel follows the level",
    "dInput_NoPullUp": "digital input without pull-up: its channel follows the level",
    "TglChanOnTgl": "input (pull-up): every change of level toggles its channel (a wall switch)",
    "TglChanOnTgl_pd": "input (pull-down): every change of level toggles its channel",
    "ADC": "analog input: its channel shows the voltage reading",
    "BAT_ADC": "battery voltage input",
    "BAT_Relay": "turns the battery measurement on",
    "AlwaysHigh": "held high at boot",
    "AlwaysLow": "held low at boot",
    "IRRecv": "infrared receiver",
    "IRRecv_nPup": "infrared receiver without pull-up",
    "IRSend": "infrared LED",
    "RCRecv": "433 MHz receiver",
    "RCRecv_nPup": "433 MHz receiver without pull-up",
    "BL0937SEL": "BL0937 energy meter: SEL (current/voltage select)",
    "BL0937CF": "BL0937 energy meter: CF (power pulses)",
    "BL0937CF1": "BL0937 energy meter: CF1 (current or voltage pulses)",
    "HLW_8112_SCSN": "HLW8112 energy meter: chip select",
    "Counter_f": "pulse counter, falling edges",
    "Counter_r": "pulse counter, rising edges",
    "DoorSnsrWSleep": "door sensor that sleeps between changes (pull-up)",
    "DoorSnsrWSleep_nPup": "door sensor that sleeps (no pull-up)",
    "DoorSnsrWSleep_pd": "door sensor that sleeps (pull-down)",
    "BridgeFWD": "H-bridge forward",
    "BridgeREV": "H-bridge reverse",
    "StripState": "LED strip power state output",
    "ShutterA": "shutter motor output A",
    "ShutterB": "shutter motor output B",
    "BtnShutterUp": "button: shutter up",
    "BtnShutterDown": "button: shutter down",
    "ADC_Button": "several buttons on one analog input",
    "DS1820_IO": "DS18B20 temperature sensor (1-Wire)",
    "SoftSDA": "software I2C data",
    "SoftSCL": "software I2C clock",
    "UCS1912_DIN": "UCS1912 addressable LED data",
    "SM16703P_DIN": "SM16703P/WS2812-style addressable LED data",
}
_PARTS = {
    "DAT": "data",
    "DIO": "data",
    "SDA": "data",
    "MOSI": "data in",
    "MISO": "data out",
    "CLK": "clock",
    "SCK": "clock",
    "SCLK": "clock",
    "STB": "strobe",
    "DIN": "data",
}


def meaning(role: str) -> str:
    """One line on what the role does (our own summary of the firmware's behaviour)."""
    if role in _MEANING:
        return _MEANING[role]
    if role.endswith("_n") and role[:-2] in _MEANING:
        if role.startswith("Btn"):  # a button reads low as pressed; _n reads high as pressed (BTN_ShouldInvert)
            return _MEANING[role[:-2]] + " - inverted (active high)"
        return _MEANING[role[:-2]] + " - inverted (active low)"
    for chip in ("DHT11", "DHT12", "DHT21", "DHT22"):
        if role == chip:
            return f"{chip} temperature/humidity sensor"
    line = _driver_line(role)
    if line:
        return f"{line[0]} chip: {line[1]} line (its driver is started by the startup command)"
    return "see the OpenBeken documentation"


def _driver_line(role: str) -> tuple[str, str] | None:
    for suffix, what in _PARTS.items():
        if role.endswith(suffix) and role[: -len(suffix)].rstrip("_"):
            return role[: -len(suffix)].rstrip("_"), what
    return None


def takes_channel(role: str) -> bool:
    return role not in CHANNEL_UNUSED and role != "None" and _driver_line(role) is None


def suggest(name: str) -> str | None:
    """The real role nearest to a misspelt one (WiFi_LED_n -> WifiLED_n, Btn_NextColour -> Btn_NextColor)."""
    import difflib

    if canonical(name):
        return canonical(name)
    if name.strip().lower() in MISSPELLINGS:
        return MISSPELLINGS[name.strip().lower()]
    squash = {n.lower().replace("_", ""): n for n in ROLE_NAMES}
    key = name.lower().replace("_", "").replace("-", "").replace(" ", "")
    close = difflib.get_close_matches(key, list(squash), n=1, cutoff=0.75)
    return squash[close[0]] if close else None
