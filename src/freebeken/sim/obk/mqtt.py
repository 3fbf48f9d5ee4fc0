"""The simulated device's MQTT client, behaving like the firmware (reference §6.1-§6.3, and
behaviour-2026-12.md): LWT on ``<c>/connected``, the firmware's subscriptions, ``<c>/<ch>/get``
publishes, ``<c>/<ch>/set`` and ``cmnd/<c>/<Command>`` handling.

Paced as the firmware's once-a-second ``MQTT_RunEverySecondUpdate`` (src/mqtt/new_mqtt.c) is, a
second being ``device.time_scale``:
- the full-state broadcast (on connect with flag 10, and on Home Assistant's birth message) sends
  one item a second: host, build, mac, *3 queued publishes*, temp, ssid, datetime, sockets, rssi,
  uptime, freeheap, ip, the light's led_* state, then the channels; queued publishes (discovery)
  go out 3 a second once it is over - so the U3's 7 configs arrive as 3 after 4 s, 4 about 11 s later;
- discovery is queued at boot (flag 27, once MQTT is up), on /cfg_pins (flag 27), on /ha_discovery
  and scheduleHADiscovery (whatever the flag says) - never because of a reconnect;
- new MQTT settings: a connected client is dropped 5 s later (no DISCONNECT: the broker publishes
  its will under the old client id) and connects 3 s after that; a client that was not connected
  connects after 3 s.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import paho.mqtt.client as mqtt

from ...firmware.ota import rbl_version
from .console import CommandError
from .device import ObkDevice
from .hass import discovery

QUEUED_AT_ONCE = 3  # the firmware's MQTT_QUEUED_ITEMS_PUBLISHED_AT_ONCE
DROP_AFTER = 5  # seconds from new settings to dropping the old connection (mqtt_reconnect = 5)
CONNECT_AFTER = 3  # seconds from a drop to the new connection (LOOPS_WITH_DISCONNECTED - 2 .. 15)
RECONNECT = 16  # seconds before it tries again after losing the broker (LOOPS_WITH_DISCONNECTED + 1)
STATE_ITEMS = (
    "host",
    "build",
    "mac",
    "<queued>",
    "temp",
    "ssid",
    "datetime",
    "sockets",
    "rssi",
    "uptime",
    "freeheap",
    "ip",
    "led_enableAll",
    "led_basecolor_rgb",
    "led_dimmer",
    "<channels>",
)


def _reply_topic(command: str, arg: str) -> str:
    """Where the firmware publishes a command's JSON reply (json_interface.c): ``STATUS <n>`` to
    ``stat/<client>/STATUS<n>`` (8 and 10 as such; plain ``STATUS`` for the rest), others RESULT."""
    if command.upper() != "STATUS":
        return "RESULT"
    arg = arg.strip()
    return f"STATUS{arg}" if arg in ("2", "4", "5", "6", "7", "8", "10", "11") else "STATUS"


class MqttAgent:
    def __init__(self, device: ObkDevice) -> None:
        self.device = device
        self.client: mqtt.Client | None = None
        self.connected = threading.Event()
        self.lock = threading.Lock()
        self.queue_lock = threading.Lock()  # not self.lock: connect() holds that while the old client stops
        self.published: list[tuple[str, str, bool]] = []  # (topic, payload, retain) for tests
        self.stopped = False  # the device is gone: no pending reconnect may bring it back
        self.broadcast: list[str] = []  # what is left of the full-state broadcast (STATE_ITEMS)
        self.queue: list[tuple[str, str, bool]] = []  # queued publishes (discovery), 3 per tick
        self.drop_in = 0  # ticks until the connection is dropped for new settings (0: none pending)
        self.connect_in = 0  # ticks until it connects (0: none pending)
        self.discovery_in = 1 if device.flags >> 27 & 1 else 0  # booted: flag 27 schedules discovery
        device.listeners.append(self.on_device_event)
        device.mqtt_agent = self  # type: ignore[attr-defined]
        self.ticker = threading.Thread(target=self._tick, daemon=True)
        self.ticker.start()
        if device.mqtt["host"]:
            self.connect()

    # ---- connection ----

    @property
    def topic(self) -> str:
        return str(self.device.mqtt["client"])

    def connect(self) -> None:
        with self.lock:
            self._stop()
            if self.stopped:
                return
            m = self.device.mqtt
            if not m["host"]:
                return
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=str(m["client"]), protocol=mqtt.MQTTv311)
            if m["user"]:
                client.username_pw_set(str(m["user"]), str(m["password"]) or None)
            client.will_set(f"{m['client']}/connected", "offline", qos=1, retain=True)
            delay = max(0.05, RECONNECT * self.device.time_scale)
            client.reconnect_delay_set(delay, delay)  # type: ignore[arg-type]  # seconds as float: the time scale
            client.on_connect = self._on_connect
            client.on_disconnect = self._on_disconnect
            client.on_message = self._on_message
            # Set before the network loop starts: on loopback the CONNACK can arrive before
            # connect_async returns, and _on_connect publishes "online" through self.client.
            self.client = client
            client.connect_async(str(m["host"]), int(str(m["port"])), keepalive=100)
            client.loop_start()

    def _stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None
            self.connected.clear()

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            self._stop()

    def power_loss(self) -> None:
        """The plug is unplugged: the TCP connection just dies (no DISCONNECT), so the broker
        publishes the last will. It stays off: no pending reconnect brings it back."""
        with self.lock:
            self.stopped = True
            self._drop()

    def _drop(self) -> None:
        """Close the connection's socket under paho (no DISCONNECT): the broker sees it die."""
        client, self.client = self.client, None
        self.connected.clear()
        if client is not None:
            sock = client.socket()
            # loop_stop joins a network thread that may sit in select() for a second: not in the
            # firmware's time. It tells the thread to end at once; the join happens aside.
            threading.Thread(target=client.loop_stop, daemon=True).start()
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # type: ignore[attr-defined]  # dies whoever still holds it
                except OSError:
                    pass
                sock.close()

    def restart(self) -> None:
        """The firmware restarts: its connection just drops (the broker publishes the last will), it
        boots - the bootloader installing an OTA image received before, if it is a valid RBL
        container - and connects again ``reboot_seconds`` later."""
        with self.lock:
            if self.stopped:
                return
            self._drop()
            self.drop_in = self.connect_in = 0
            self.device.rebooting = True  # type: ignore[attr-defined]
        timer = threading.Timer(self.device.reboot_seconds * self.device.time_scale, self._booted)
        timer.daemon = True
        timer.start()

    def _booted(self) -> None:
        dev = self.device
        with dev.lock:
            image, dev.pending_ota = dev.pending_ota, None
            if image is not None and rbl_version(image):
                dev.version = rbl_version(image)
        dev.boot()
        dev.rebooting = False  # type: ignore[attr-defined]
        with self.queue_lock:
            self.queue, self.broadcast = [], []  # RAM is gone
            self.discovery_in = 1 if dev.flags >> 27 & 1 else 0
        self.connect()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure or client is not self.client or client is None:
            return  # wrong credentials (the firmware keeps retrying, and so does paho), or replaced
        c, g = self.topic, str(self.device.mqtt["group"] or "bekens")
        for t in (f"{c}/+/set", f"{g}/+/set", f"cmnd/{c}/+", f"cmnd/{g}/+", f"{c}/+/get", "homeassistant/+"):
            client.subscribe(t, qos=1)
        # After the subscriptions: the broker handles one client's packets in order, so whoever
        # sees "online" can already command the device.
        self.publish(f"{c}/connected", "online", retain=True, qos=2)
        if self.device.flags >> 10 & 1:  # OBK_FLAG_MQTT_BROADCASTSELFSTATEONCONNECT
            self.start_broadcast()
        self.connected.set()

    def _on_disconnect(self, client, *args) -> None:
        if client is self.client:  # a replaced client going away says nothing about the new one
            self.connected.clear()

    # ---- publishing ----

    def publish(self, topic: str, payload: str, retain: bool = False, qos: int = 1) -> None:
        client = self.client
        self.published.append((topic, payload, retain))
        if client is not None:
            client.publish(topic, payload, qos=qos, retain=retain)

    def publish_channel(self, ch: int) -> None:
        dev = self.device
        retain = bool(dev.flags >> 21 & 1) and ch in dev.relay_channels()
        self.publish(f"{self.topic}/{ch}/get", str(dev.value(ch)), retain=retain)

    def publish_channels(self) -> None:
        for ch in sorted({self.device.channels[p] for p in range(len(self.device.roles)) if self.device.roles[p]}):
            self.publish_channel(ch)

    def publish_discovery(self, prefix: str = "homeassistant") -> None:
        """Queued, as the firmware's doHomeAssistantDiscovery does (3 a second, see the module doc)."""
        with self.queue_lock:
            for topic, payload in discovery(self.device, prefix):
                self.queue.append((topic, json.dumps(payload, separators=(",", ":"), ensure_ascii=False), True))

    def start_broadcast(self) -> None:
        with self.queue_lock:
            self.broadcast = list(STATE_ITEMS)

    def _state_item(self, item: str) -> list[tuple[str, str, bool]]:
        """What one broadcast step publishes ([] when the item does not apply to this device)."""
        dev, c = self.device, self.topic
        if item == "<queued>":
            batch, self.queue = self.queue[:QUEUED_AT_ONCE], self.queue[QUEUED_AT_ONCE:]
            return batch
        if item == "<channels>":
            chans = sorted({dev.channels[p] for p in range(len(dev.roles)) if dev.roles[p]})
            retain = bool(dev.flags >> 21 & 1)
            return [(f"{c}/{ch}/get", str(dev.value(ch)), retain and ch in dev.relay_channels()) for ch in chans]
        if item.startswith("led_"):
            if not dev.is_light():
                return []
            value = {"led_enableAll": str(dev.light_on), "led_basecolor_rgb": dev.base_color, "led_dimmer": str(dev.dimmer)}[item]
            return [(f"{c}/{item}/get", value, False)]
        values = {  # build: "Open" PLATFORM_MCU_NAME " " USER_SW_VER " " __DATE__ " " __TIME__; ssid: the configured one
            "host": dev.short_name,
            "build": f"Open{dev.chipset} {dev.version} Dec  1 2026 00:00:00",
            "mac": dev.mac,
            "temp": "24.00",
            "ssid": getattr(dev, "wifi", {}).get("ssid", ""),
            "datetime": "0",
            "sockets": "1",
            "rssi": "-52",
            "uptime": str(dev.uptime),
            "freeheap": "100000",
            "ip": dev.ip,
        }
        return [(f"{c}/{item}", values[item], False)]

    def _tick(self) -> None:
        """The firmware's once-a-second MQTT work."""
        while not self.stopped:
            time.sleep(max(0.001, self.device.time_scale))
            if self.drop_in and self.connected.is_set():
                self.drop_in -= 1
                if not self.drop_in:
                    with self.lock:
                        self._drop()  # the will fires under the old client id
                    self.connect_in = CONNECT_AFTER
            if self.connect_in:
                self.connect_in -= 1
                if not self.connect_in:
                    self.connect()
                continue
            if not self.connected.is_set():
                continue
            if self.discovery_in:
                self.discovery_in -= 1
                if not self.discovery_in:
                    self.publish_discovery()
            batch: list[tuple[str, str, bool]] = []
            with self.queue_lock:
                if self.broadcast:
                    while self.broadcast and not batch:  # items that do not apply cost no second
                        batch = self._state_item(self.broadcast.pop(0))
                else:
                    batch, self.queue = self.queue[:QUEUED_AT_ONCE], self.queue[QUEUED_AT_ONCE:]
            for topic, payload, retain in batch:
                self.publish(topic, payload, retain=retain)

    # ---- events ----

    def on_device_event(self, event: str, data: dict) -> None:
        if event == "channel" and self.connected.is_set():
            self.publish_channel(data["channel"])
        elif event == "led" and self.connected.is_set():
            for key, value in data.items():
                self.publish(f"{self.topic}/{key}/get", str(value))
        elif event == "mqtt":
            # mqtt_reconnect = 5 (again) on every change; without a connection it connects soon
            if self.connected.is_set():
                self.drop_in = DROP_AFTER
            else:
                self.connect_in = CONNECT_AFTER
        elif event == "discovery" and self.connected.is_set():
            self.publish_discovery(data.get("prefix", "homeassistant"))
        elif event == "schedule-discovery":
            self.discovery_in = max(1, int(data.get("seconds", 1)))
        elif event == "pins" and self.device.flags >> 27 & 1:
            self.discovery_in = 1  # /cfg_pins with flag 27: Main_ScheduleHomeAssistantDiscovery(1)
        elif event == "restart":
            self.restart()

    def _on_message(self, client, userdata, msg) -> None:
        parts = msg.topic.split("/")
        payload = msg.payload.decode("utf-8", "replace")
        dev = self.device
        if len(parts) == 3 and parts[2] == "set" and parts[1].isdigit():
            ch = int(parts[1])
            if payload.lower() == "toggle":
                dev.set_value(ch, 0 if dev.value(ch) else 1)
            else:
                try:
                    dev.set_value(ch, int(payload))
                except ValueError:
                    return
        elif len(parts) == 3 and parts[2] == "get" and parts[1].isdigit() and not payload:
            self.publish_channel(int(parts[1]))
        elif parts[0] == "cmnd" and len(parts) == 3:
            try:
                reply = dev.execute(f"{parts[2]} {payload}".strip())
            except CommandError:
                return
            if isinstance(reply, dict) and reply:
                self.publish(f"stat/{self.topic}/{_reply_topic(parts[2], payload)}", json.dumps(reply, separators=(",", ":")))
        elif msg.topic == "homeassistant/status" and payload == "online":
            self.start_broadcast()  # onHassStatus: the whole state again, one item a second; no discovery
