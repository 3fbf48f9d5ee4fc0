"""A typed client for the OpenBeken HTTP API (reference §2-§4)."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from ..errors import DeviceCommandError, DeviceError, DeviceUnreachable, UsageError
from ..firmware.settings import check_wifi
from ..templates.roles import RELAY_ROLES, ROLE_NAMES
from .http import SocketTransport, Transport

CM_LIMIT = 123  # longer /cm commands are executed twice by the firmware
AP_ADDRESS = "192.168.4.1"  # OpenBeken's address on its own access point
STARTUP_LIMIT = 1567  # the config's initCommandLine[1568], with its terminating zero


@dataclass(frozen=True)
class DeviceInfo:
    chipset: str
    mac: str
    short_name: str
    mqtt_host: str
    mqtt_client: str
    flags: int
    startup_command: str
    build: str
    ip: str
    uptime_s: int


@dataclass(frozen=True)
class Pins:
    roles: list[str]  # short role name per GPIO ("None" for unused)
    channels: list[int]
    channels2: list[int]
    states: list[int]

    def configured(self) -> dict[int, tuple[str, int, int]]:
        return {p: (r, self.channels[p], self.channels2[p]) for p, r in enumerate(self.roles) if r != "None"}

    def relay_channels(self) -> list[int]:
        return sorted({self.channels[p] for p, r in enumerate(self.roles) if r in RELAY_ROLES})


class ObkClient:
    def __init__(self, host: str, password: str | None = None, timeout: float = 5.0, transport: Transport | None = None) -> None:
        self.transport = transport or SocketTransport(host, password, timeout)
        self.host = host

    # ---- raw access ----

    def get_json(self, path: str) -> dict:
        response = self.transport.request("GET", path)
        if response.status != 200:
            raise DeviceError(f"{path}: HTTP {response.status}")
        try:
            data = json.loads(response.body)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise DeviceError(
                f"{path}: the device sent invalid JSON",
                hint="Is this an OpenBeken device? If so, update it; this build is unusual.",
            )
        return data

    def cmd(self, command: str) -> object:
        """Run a console command with a result code (``POST /api/cmnd``); raises on failure."""
        response = self.transport.request("POST", "/api/cmnd", command.encode())
        try:
            data = json.loads(response.body or b"{}")
        except json.JSONDecodeError:
            data = {}
        if response.status == 501:
            raise DeviceCommandError(
                f"The device does not know the command: {command.split()[0]}",
                501,
                hint="Check the spelling, or update OpenBeken (older builds lack some commands).",
            )
        if response.status == 400 and len(command.split()) == 1 and data.get("res"):
            return data["res"]  # a query: "Flags" alone answers 400 (no argument) with the value
        if response.status == 400:
            raise DeviceCommandError(
                f"{command}: {data.get('msg', 'Bad argument')}",
                400,
                hint="Check the arguments; pin roles must be short names such as Rel, Btn, LED_n.",
            )
        if response.status != 200:
            raise DeviceError(f"{command}: HTTP {response.status}")
        return data.get("res", {})

    def cm(self, command: str) -> str:
        """``/cm`` for short commands (no result code; the firmware runs long ones twice)."""
        if len(command) > CM_LIMIT:
            raise ValueError("command too long for /cm; use cmd()")
        return self.transport.request("GET", "/cm?cmnd=" + quote(command)).text()

    def backlog(self, commands: list[str]) -> None:
        """Several commands, each as its own request so that every result code is seen."""
        for command in commands:
            self.cmd(command)

    # ---- typed views ----

    def info(self) -> DeviceInfo:
        d = self.get_json("/api/info")
        return DeviceInfo(
            chipset=str(d.get("chipset", "")),
            mac=str(d.get("mac", "")),
            short_name=str(d.get("shortName", "")),
            mqtt_host=str(d.get("mqtthost", "")),
            mqtt_client=str(d.get("mqtttopic", "")),
            flags=int(d.get("flags", "0") or 0),
            startup_command=str(d.get("startcmd", "")),
            build=str(d.get("build", "")),
            ip=str(d.get("ip", "")),
            uptime_s=int(d.get("uptime_s", 0) or 0),
        )

    def drivers(self) -> set[str]:
        """Running drivers, as the index page's state part lists them ("2 drivers active (A, B)")."""
        text = self.transport.request("GET", "/index?state=1").text()
        match = re.search(r"(\d+) drivers active(?: \(([^)]*)\))?", text)
        if match is None:
            raise DeviceError(
                "The device does not say which drivers run", hint="Update OpenBeken; older builds do not list them."
            )
        return {n.strip() for n in (match.group(2) or "").split(",") if n.strip()}

    def restart(self, timeout: float = 45.0) -> bool:
        """Restart the device (``POST /api/reboot``) and wait until it answers again after being
        away (or with its uptime started anew). False if it did not restart within ``timeout``
        (some builds ignore reboots)."""
        import time

        before = self.info().uptime_s
        self.transport.request("POST", "/api/reboot")
        deadline, away, wait = time.monotonic() + timeout, False, 0.05
        while time.monotonic() < deadline:
            time.sleep(wait)
            wait = min(0.5, wait * 1.5)  # a plug is back within seconds; a simulated one sooner
            try:
                uptime = self.info().uptime_s
            except DeviceError:
                away = True  # rebooting: no answer
                continue
            if away or uptime < before:
                return True
        return False

    def long_name(self) -> str:
        """The full device name (what discovery's ``dev.ids`` carries): the firmware puts it in the
        title of every page, and /api/info does not have it."""
        match = re.search(r"<title>(.*?)</title>", self.transport.request("GET", "/index").text(), re.S)
        return html.unescape(match.group(1)).strip() if match else ""

    def pins(self) -> Pins:
        d = self.get_json("/api/pins")
        names = [n.strip() or "None" for n in d.get("rolenames", [])] or list(ROLE_NAMES)
        roles = [names[r] if 0 <= r < len(names) else str(r) for r in d.get("roles", [])]
        count = len(roles)
        ch2 = list(d.get("channels2", []))
        return Pins(roles, list(d.get("channels", [])), ch2 + [0] * (count - len(ch2)), list(d.get("states", [])))

    def channels(self) -> dict[int, int]:
        """``/api/channels`` repeats keys (one per pin); parse tolerantly."""
        text = self.transport.request("GET", "/api/channels").text()
        return {int(k): int(v) for k, v in re.findall(r'"(\d+)"\s*:\s*(-?\d+)', text)}

    def get_channel(self, channel: int) -> int:
        return int(str(self.cmd(f"GetChannel {channel}")))

    def set_channel(self, channel: int, value: int) -> None:
        self.cmd(f"SetChannel {channel} {value}")

    def set_flags(self, flags: int) -> None:
        self.cmd(f"Flags {flags}")

    def set_startup_command(self, command: str) -> None:
        """Through the firmware's own page (``/startup_command``), which stores the text as sent:
        the ``StartupCommand`` console command cuts it at the first '"' (its tokenizer has no
        escaping), so ``backlog echo "a b"`` could not be stored that way."""
        if len(command.encode()) > STARTUP_LIMIT:
            raise UsageError(
                f"The startup command is {len(command.encode())} bytes; OpenBeken keeps at most {STARTUP_LIMIT}",
                hint="Shorten it, or move it into autoexec.bat on the device's LittleFS.",
            )
        response = self.transport.request("GET", "/startup_command?" + urlencode({"startup_cmd": "1", "data": command}))
        if response.status != 200:
            raise DeviceError(f"Setting the startup command failed: HTTP {response.status}")

    def set_wifi(self, ssid: str, password: str) -> None:
        """``/cfg_wifi_set``: the device stores the network and restarts into station mode. (The
        firmware also clears the web password unless told to keep it.) A name or password the plug
        could never join with is refused first: after the restart nothing would say why."""
        check_wifi(ssid, password)
        response = self.transport.request("GET", "/cfg_wifi_set?" + urlencode({"ssid": ssid, "pass": password}))
        if response.status != 200:
            raise DeviceError(f"Setting Wi-Fi failed: HTTP {response.status}")

    def join_wifi(self, ssid: str, password: str) -> str:
        """Talking to the plug on its own access point: send the home Wi-Fi and return the MAC
        it reports, by which it can be found on the home network after it restarted."""
        try:
            mac = self.info().mac
        except DeviceUnreachable:
            raise DeviceUnreachable(
                f"The plug does not answer on its access point ({self.host})",
                hint=f"Join the plug's Wi-Fi (OpenBK7231…) with this computer; its address there is {AP_ADDRESS}.",
            ) from None
        self.set_wifi(ssid, password)
        return mac

    def set_mqtt(
        self, host: str, port: int, client: str | None = None, user: str | None = None, password: str | None = None
    ) -> None:
        """``/cfg_mqtt_set`` is the only way to set the port. Empty user/password are ignored by
        the firmware (they cannot be cleared this way)."""
        params = {"host": host, "port": str(port)}
        for key, value in (("client", client), ("user", user), ("password", password)):
            if value:
                params[key] = value
        response = self.transport.request("GET", "/cfg_mqtt_set?" + urlencode(params))
        if response.status != 200:
            raise DeviceError(f"Setting MQTT failed: HTTP {response.status}")
