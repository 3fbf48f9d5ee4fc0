"""OpenBeken pin roles: the short names ``SetPinRole`` accepts, by numeric id (IOR_* order).

Facts from OBK's ``htmlPinRoleNames`` (reference: openbeken-device-api §4.2). Id 0 is "None".
"""

from __future__ import annotations

ROLE_NAMES: tuple[str, ...] = (
    "None", "Rel", "Rel_n", "Btn", "Btn_n", "LED", "LED_n", "PWM", "WifiLED", "WifiLED_n",
    "Btn_Tgl_All", "Btn_Tgl_All_n", "dInput", "dInput_n", "TglChanOnTgl", "dInput_NoPullUp",
    "dInput_NoPullUp_n", "BL0937SEL", "BL0937CF", "BL0937CF1", "ADC", "SM2135DAT", "SM2135CLK",
    "BP5758D_DAT", "BP5758D_CLK", "BP1658CJ_DAT", "BP1658CJ_CLK", "PWM_n", "IRRecv", "IRSend",
    "Btn_NextColor", "Btn_NextColor_n", "Btn_NextDimmer", "Btn_NextDimmer_n", "AlwaysHigh",
    "AlwaysLow", "UCS1912_DIN", "SM16703P_DIN", "Btn_NextTemperature", "Btn_NextTemperature_n",
    "Btn_ScriptOnly", "Btn_ScriptOnly_n", "DHT11", "DHT12", "DHT21", "DHT22", "CHT83XX_SDA",
    "CHT83XX_SCK", "SHT3X_SDA", "SHT3X_SCK", "SoftSDA", "SoftSCL", "SM2235DAT", "SM2235CLK",
    "BridgeFWD", "BridgeREV", "Btn_SmartLED", "Btn_SmartLED_n", "DoorSnsrWSleep",
    "DoorSnsrWSleep_nPup", "BAT_ADC", "BAT_Relay", "TM1637_DIO", "TM1637_CLK", "BL0937SEL_n",
    "DoorSnsrWSleep_pd", "SGP_CLK", "SGP_DAT", "ADC_Button", "GN6932_CLK", "GN6932_DAT",
    "GN6932_STB", "TM1638_CLK", "TM1638_DAT", "TM1638_STB", "BAT_Relay_n", "KP18058_CLK",
    "KP18058_DAT", "DS1820_IO", "PWM_ScriptOnly", "PWM_ScriptOnly_n", "Counter_f", "Counter_r",
    "IRRecv_nPup", "StripState", "StripState_n", "HLW_8112_SCSN", "RCRecv", "RCRecv_nPup",
    "Btn_pd", "Btn_pd_n", "TglChanOnTgl_pd", "ShutterA", "ShutterB", "BtnShutterUp",
    "BtnShutterDown", "BL0939_SCLK", "BL0939_MOSI", "BL0939_MISO",
)  # fmt: skip

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
    "None", "WifiLED", "WifiLED_n", "BL0937SEL", "BL0937SEL_n", "BL0937CF", "BL0937CF1",
    "SM2135DAT", "SM2135CLK", "BP5758D_DAT", "BP5758D_CLK", "BP1658CJ_DAT", "BP1658CJ_CLK",
    "SM2235DAT", "SM2235CLK", "KP18058_CLK", "KP18058_DAT", "IRRecv", "IRSend", "SM16703P_DIN",
    "RCRecv", "RCRecv_nPup", "AlwaysHigh", "AlwaysLow",
}  # fmt: skip

PWM_ROLES = {"PWM", "PWM_n", "PWM_ScriptOnly", "PWM_ScriptOnly_n"}
RELAY_ROLES = frozenset({"Rel", "Rel_n"})
OUTPUT_ROLES = RELAY_ROLES | {"LED", "LED_n", "BridgeFWD", "BridgeREV"} | PWM_ROLES


def canonical(name: str) -> str | None:
    """The accepted short name for ``name`` (case-insensitive, legacy long names mapped), or None."""
    key = name.strip().lower()
    if key in LEGACY:
        return LEGACY[key]
    if key in ROLE_IDS:
        return ROLE_NAMES[ROLE_IDS[key]]
    return None
