"""The two non-Beken families as data.

Flash maps: LibreTiny's board definitions (boards/_base/realtek-ambz2.json, realtek-ambz2-2mb-992k.json,
lightning-ln882h.json), which follow the vendors' SDK defaults. Download mode and wiring: ltchiptool's
guides (soc/ambz2/flash.py, soc/ln882h/flash.py) and LibreTiny's flashing notes. Release names:
OpenBeken's Makefile copies flash_is.bin to OpenRTL87X0C_{version}.bin and flashimage.bin to
OpenLN882H_{version}.bin - whole-flash images written at 0x0.

On both, the UART download mode is in mask ROM: a bootloader in flash written wrongly is rewritten over
the same UART, so no region is unrestorable (unlike BK7231T's flash bootloader).
"""

from __future__ import annotations

from .base import FamilySpec, Region

RTL8720CF = FamilySpec(
    name="rtl8720cf",
    family="realtek-ambz2",
    integrity="sha256",
    flash_size=0x200000,
    regions=(
        Region("partition table", 0x000000, 0x1000, "table"),
        Region("system data", 0x001000, 0x1000, "system"),
        Region("calibration", 0x002000, 0x1000, "calibration", keep=True),
        Region("bootloader", 0x004000, 0x8000, "bootloader"),
        Region("firmware 1 (OTA1)", 0x00C000, 0xF8000, "app"),
        Region("firmware 2 (OTA2)", 0x104000, 0xF8000, "ota"),
        Region("key-value store", 0x1FC000, 0x4000, "config"),
    ),
    obk_platform="OpenRTL87X0C",
    download_mode="Hold PA00 at 3.3 V (not GND) while powering the module on or pulsing CEN low; PA13 (RX0) "
    "must not be pulled to GND. Release PA00 after freebeken has linked.",
    wiring=(("RX", "TX2 / Log_TX (PA16)"), ("TX", "RX2 / Log_RX (PA15)"), ("GND", "GND"), ("3.3V", "3.3V (a stable supply)")),
    start_firmware="Power it off, take the wire off PA00 (it must not be held at 3.3 V now), then power it on",
    fast_baud=1500000,
)

LN882H = FamilySpec(
    name="ln882h",
    family="lightning-ln882h",
    integrity="readback",
    flash_size=0x200000,
    regions=(
        Region("bootloader", 0x000000, 0x6000, "bootloader"),
        Region("partition table", 0x006000, 0x1000, "table"),
        Region("application", 0x007000, 0x12C000, "app"),
        Region("OTA", 0x133000, 0xAA000, "ota"),
        Region("NVDS (RF calibration)", 0x1DD000, 0x3000, "calibration", keep=True),
        Region("LN key-value store", 0x1E0000, 0x4000, "config"),
        Region("key-value store", 0x1E4000, 0x8000, "config"),
        Region("user data", 0x1EC000, 0x14000, "data"),
    ),
    obk_platform="OpenLN882H",
    download_mode="Connect BOOT (PA09) to GND, then power the module on or pulse CEN low; keep it there "
    "until freebeken has linked.",
    wiring=(("RX", "TX0 (PA02)"), ("TX", "RX0 (PA03)"), ("GND", "BOOT (PA09), at reset"), ("GND", "GND"), ("3.3V", "3.3V")),
    start_firmware="Power it off, take BOOT (PA09) off GND, then power it on",
    fast_baud=1000000,
)
