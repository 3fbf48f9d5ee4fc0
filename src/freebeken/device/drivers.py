"""Which OpenBeken drivers a template implies, and what each running driver announces. Pure data.

Facts from the firmware's source (OpenBK7231T_App at e1a809755):
- ``src/user_main.c`` (``Main_Init_AfterDelay_Unsafe``, the "autostart drivers" block): the drivers
  started from pin roles, **only at boot** and only without flag 36 (OBK_FLAG_DRV_DISABLE_AUTOSTART).
  Setting pins over HTTP starts nothing; a driver that runs keeps running until stopDriver or reboot.
- ``src/driver/drv_main.c`` (``g_drivers``): the driver names ``startDriver`` knows (compared without
  case); an unknown name is logged and starts nothing (the command still answers 200 ``{}``).
  ``DRV_IsMeasuringPower``: the drivers whose running makes discovery announce the energy sensors;
  ``LED_IsLedDriverChipRunning`` (``src/cmnds/cmd_newLEDDriver.c``): the LED chips that make it a light.
- ``src/httpserver/http_fns.c`` (``doHomeAssistantDiscovery``): entities follow running drivers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# driver name -> the role groups that start it at boot: every group must have at least one pin
AUTOSTART: dict[str, tuple[tuple[str, ...], ...]] = {
    "SM2135": (("SM2135CLK",), ("SM2135DAT",)),
    "SM2235": (("SM2235CLK",), ("SM2235DAT",)),
    "BP5758D": (("BP5758D_CLK",), ("BP5758D_DAT",)),
    "BP1658CJ": (("BP1658CJ_CLK",), ("BP1658CJ_DAT",)),
    "KP18058": (("KP18058_CLK",), ("KP18058_DAT",)),
    "BL0937": (("BL0937CF",), ("BL0937CF1",), ("BL0937SEL", "BL0937SEL_n")),
    "BL0939SPI": (("BL0939_SCLK",), ("BL0939_MOSI",), ("BL0939_MISO",)),
    "Bridge": (("BridgeFWD",), ("BridgeREV",)),
    "DoorSensor": (("DoorSnsrWSleep", "DoorSnsrWSleep_nPup", "DoorSnsrWSleep_pd"),),
    "CHT83XX": (("CHT83XX_SCK",), ("CHT83XX_SDA",)),
    "SHT3X": (("SHT3X_SCK",), ("SHT3X_SDA",)),
    "SGP": (("SGP_CLK",), ("SGP_DAT",)),
    "Battery": (("BAT_ADC",),),
    "TM1637": (("TM1637_CLK",), ("TM1637_DIO",)),
    "GN6932": (("GN6932_CLK",), ("GN6932_DAT",), ("GN6932_STB",)),
    "HLW8112SPI": (("HLW_8112_SCSN",),),
}
IR_ROLES = frozenset({"IRRecv", "IRRecv_nPup", "IRSend"})
AUTOSTART_OFF_FLAG = 36  # OBK_FLAG_DRV_DISABLE_AUTOSTART

# g_drivers in drv_main.c (a build includes those its configuration enables)
KNOWN = (
    "TuyaMCU tmSensor Roomba GirierMCU TCA9554 DMX Freeze ESPHomeAPI TESTSPIFLASH PIR PixelAnim Drawers HGS02 PinMutex "
    "GosundSW2 TCL OpenWeatherMap Widget TestCharts Charts NTP DS3231 DCF77 HTTPButtons TESTPOWER TESTLED TESTUART Test "
    "SimpleEEPROM MultiPinI2CScanner I2C RN8209 BL0942 PWMG BL0942SPI HLW8112SPI BL0939SPI ChargingLimit BL0937 CSE7761 "
    "CSE7766 MAX6675 MAX31855 PT6523 TextScroller SM16703P SM15155E IR RC IR2 DDPSend Shutters DDP MDNS SSDP DGR Wemo Hue "
    "PWMToggler DoorSensor ADCButton MAX72XX_Clock SM2135 BP5758D BP1658CJ SM2235 SSD1306 BMP280 MAX72XX BMPI2C CHT83XX "
    "MCP9808 KP18058 ADCSmoother SHT3X SGP ShiftRegister AHT2X DS1820 DS1820_FULL HT16K33 TM1637 GN6932 TM1638 HD2015 "
    "Battery BKPartitions Bridge UartTCP GaitekAC TXWCAM NEO6M LTR_ALS TinyIR_NEC mqttServer"
).split()
_CANONICAL = {name.lower(): name for name in KNOWN}

METERING = frozenset({"BL0937", "BL0942", "CSE7766", "TESTPOWER", "BL0942SPI", "RN8209"})  # DRV_IsMeasuringPower
LED_CHIPS = frozenset({"SM2135", "SM2235", "BP5758D", "BP1658CJ", "KP18058"})  # LED_IsLedDriverChipRunning


def canonical(name: str) -> str | None:
    """The firmware's spelling of a driver name, None if this firmware does not know it."""
    return _CANONICAL.get(name.lower())


def started_by(command: str) -> set[str]:
    """The drivers a startup command starts (``startDriver BL0942`` inside its backlog), as spelled."""
    return set(re.findall(r"(?i)\bstartDriver\s+([A-Za-z0-9_]+)", command))


def from_pins(roles: Iterable[str], flags: int = 0) -> set[str]:
    """The drivers the firmware starts at boot for these pin roles (user_main.c's autostart block)."""
    present = set(roles)
    # IR starts with the autorun scripts, outside the block flag 36 turns off (user_main.c)
    started = {"IR"} if present & IR_ROLES else set()
    if flags >> AUTOSTART_OFF_FLAG & 1:
        return started
    return started | {name for name, groups in AUTOSTART.items() if all(present & set(group) for group in groups)}


def implied(roles: Iterable[str], startup: str = "", flags: int = 0) -> set[str]:
    """Every driver a template makes run after a boot: from its pins and its startup command."""
    return from_pins(roles, flags) | {canonical(d) or d for d in started_by(startup)}


def why(driver: str, roles: Iterable[str], startup: str = "") -> str:
    """One phrase: what in the template implies ``driver``."""
    if driver in {canonical(d) or d for d in started_by(startup)}:
        return f"the startup command starts {driver}"
    groups = AUTOSTART.get(driver, ())
    present = [r for group in groups for r in group if r in set(roles)]
    return f"the pins {', '.join(present)} start {driver} at boot" if present else f"{driver} is expected"
