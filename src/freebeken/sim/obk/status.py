"""``Status [n]`` as the firmware answers it (httpserver/json_interface.c, shape checked against a
capture of the real firmware): Tasmota-style sections filled with the simulated device's values.
``Status`` and ``Status 0`` give every section; ``Status 8``/``10`` only StatusSNS; 2, 4, 5, 6,
7 and 11 one section each. Pure apart from reading the device."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .device import ObkDevice

TIME = "1970-01-01T00:00:00"


def status(dev: ObkDevice, arg: str) -> dict[str, Any]:
    sections = {
        "2": "StatusFWR",
        "4": "StatusMEM",
        "5": "StatusNET",
        "6": "StatusMQT",
        "7": "StatusTIM",
        "8": "StatusSNS",
        "10": "StatusSNS",
        "11": "StatusSTS",
    }
    every = _sections(dev)
    one = sections.get(arg.strip())
    return {one: every[one]} if one else every


def _sections(dev: ObkDevice) -> dict[str, Any]:
    relays = dev.relay_channels()
    power = "ON" if relays and dev.value(relays[0]) else "OFF"
    up = dev.uptime
    return {
        "Status": {
            "Module": 0,
            "DeviceName": dev.short_name,
            "FriendlyName": [f"{dev.short_name}_{ch}" for ch in relays] or [dev.short_name],
            "Topic": str(dev.mqtt["client"]),
            "ButtonTopic": "0",
            "Power": int(power == "ON"),
            "PowerOnState": 3,
            "LedState": 1,
            "LedMask": "FFFF",
            "SaveData": 1,
            "SaveState": 1,
            "SwitchTopic": "0",
            "SwitchMode": [0] * 8,
            "ButtonRetain": 0,
            "SwitchRetain": 0,
            "SensorRetain": 0,
            "PowerRetain": 0,
            "InfoRetain": 0,
            "StateRetain": 0,
        },
        "StatusPRM": {
            "Baudrate": 115200,
            "SerialConfig": "8N1",
            "GroupTopic": str(dev.mqtt["group"]),
            "OtaUrl": "https://github.com/openshwprojects/OpenBK7231T_App/releases/latest",
            "RestartReason": "HardwareWatchdog",
            "Uptime": up,
            "StartupUTC": TIME,
            "Sleep": 50,
            "CfgHolder": 4617,
            "BootCount": 1,
            "BCResetTime": TIME,
            "SaveCount": 1,
            "SaveAddress": "F9000",
        },
        "StatusFWR": {
            "Version": f"Open{dev.chipset}_{dev.version}",
            "BuildDateTime": "Dec  1 2026 00:00:00",
            "Boot": 7,
            "Core": "0.0",
            "SDK": "obk",
            "CpuFrequency": 80,
            "Hardware": dev.chipset,
            "CR": "465/699",
        },
        "StatusLOG": {
            "SerialLog": 2,
            "WebLog": 2,
            "MqttLog": 0,
            "SysLog": 0,
            "LogHost": "",
            "LogPort": 514,
            "SSId1": "",
            "SSId2": "",
            "TelePeriod": 300,
            "Resolution": "558180C0",
            "SetOption": ["000A8009", "2805C80001000600003C5A0A000000000000", "00000280", "00006008", "00004000"],
        },
        "StatusMEM": {
            "ProgramSize": 616,
            "Free": 384,
            "Heap": 25,
            "ProgramFlashSize": 1024,
            "FlashSize": 2048,
            "FlashChipId": "1540A1",
            "FlashFrequency": 40,
            "FlashMode": 3,
            "Features": ["00000809"] * 9,
            "Drivers": ",".join(sorted(dev.drivers)),
            "Sensors": "1,2,3,4,5,6",
        },
        "StatusNET": {
            "Hostname": dev.short_name,
            "IPAddress": dev.ip,
            "Gateway": "192.168.0.1",
            "Subnetmask": "255.255.255.0",
            "DNSServer1": "192.168.0.1",
            "DNSServer2": "0.0.0.0",
            "Mac": dev.mac,
            "Webserver": 2,
            "HTTP_API": 1,
            "WifiConfig": 4,
            "WifiPower": 17.0,
        },
        "StatusMQT": {
            "MqttHost": str(dev.mqtt["host"]),
            "MqttPort": int(str(dev.mqtt["port"])),
            "MqttClientMask": "core",
            "MqttClient": str(dev.mqtt["client"]),
            "MqttUser": str(dev.mqtt["user"]),
            "MqttCount": 1,
            "MAX_PACKET_SIZE": 1200,
            "KEEPALIVE": 30,
            "SOCKET_TIMEOUT": 4,
        },
        "StatusTIM": {
            "UTC": TIME,
            "Local": TIME,
            "StartDST": TIME,
            "EndDST": TIME,
            "Timezone": "+00:00",
            "Sunrise": "07:50",
            "Sunset": "17:17",
        },
        "StatusSNS": {"Time": TIME, "ESP32": {"Temperature": 24.0}, "TempUnit": "C"},
        "StatusSTS": {
            "Time": TIME,
            "Uptime": f"0T{up // 3600:02d}:{up // 60 % 60:02d}:{up % 60:02d}",
            "UptimeSec": up,
            "Heap": 97,
            "SleepMode": "None",
            "Sleep": 0,
            "LoadAvg": 99,
            "MqttCount": 1,
            "POWER": power,
            "Wifi": {
                "AP": 1,
                "SSId": "HomeWiFi",
                "BSSId": "30:B5:C2:5D:70:72",
                "Channel": 12,
                "Mode": "11n",
                "RSSI": 90,
                "Signal": -52,
                "LinkCount": 1,
                "Downtime": "0T00:00:03",
            },
        },
    }
