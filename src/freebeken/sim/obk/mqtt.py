"""The simulated device's MQTT client, behaving like the firmware (reference §6.1-§6.3): LWT on
``<c>/connected``, the firmware's subscriptions, ``<c>/<ch>/get`` publishes, ``<c>/<ch>/set`` and
``cmnd/<c>/<Command>`` handling, discovery on request or (flag 27) on connect.

Paced as the captured firmware is: after connecting it publishes its full state one item per
second, and only then its queued publishes (discovery among them), 3 per second
(MQTT_QUEUED_ITEMS_PUBLISHED_AT_ONCE). A second is ``1 * device.time_scale``."""

from __future__ import annotations

import json
import threading
import time

import paho.mqtt.client as mqtt

from .console import CommandError
from .device import ObkDevice
from ...firmware.ota import rbl_version
from .hass import discovery

RECONNECT = 0.3  # seconds; the firmware waits ~15 s, the simulator need not
QUEUED_AT_ONCE = 3  # the firmware's MQTT_QUEUED_ITEMS_PUBLISHED_AT_ONCE
# New MQTT settings take effect at the firmware's next MQTT tick (it marks the topics dirty and
# reconnects within seconds), not at once: until then the old connection stays up.
APPLY_DELAY = 0.5


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
        self.full_state: list[tuple[str, str]] = []  # published one per tick after connecting
        self.queue: list[tuple[str, str, bool]] = []  # then these, 3 per tick
        self.ticker = threading.Thread(target=self._tick, daemon=True)
        self.ticker.start()
        device.listeners.append(self.on_device_event)
        device.mqtt_agent = self  # type: ignore[attr-defined]
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
            client.reconnect_delay_set(RECONNECT, 2)
            client.on_connect = self._on_connect
            client.on_disconnect = self._on_disconnect
            client.on_message = self._on_message
            # Set before the network loop starts: on loopback the CONNACK can arrive before
            # connect_async returns, and _on_connect publishes "online" through self.client.
            self.client = client
            client.connect_async(str(m["host"]), int(m["port"]), keepalive=100)
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
            client.loop_stop()
            sock = client.socket()
            if sock is not None:
                sock.close()

    def restart(self) -> None:
        """The firmware restarts: its connection just drops (the broker publishes the last will), it
        boots - the bootloader installing an OTA image received before, if it is a valid RBL
        container - and connects again ``reboot_seconds`` later."""
        with self.lock:
            if self.stopped:
                return
            self._drop()
        timer = threading.Timer(self.device.reboot_seconds * self.device.time_scale, self._booted)
        timer.daemon = True
        timer.start()

    def _booted(self) -> None:
        dev = self.device
        with dev.lock:
            image, dev.pending_ota = dev.pending_ota, None
            if image is not None and rbl_version(image):
                dev.version = rbl_version(image)
            dev.uptime = 0
        self.connect()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure or client is not self.client:
            return  # wrong credentials (the firmware keeps retrying, and so does paho), or replaced
        c, g = self.topic, str(self.device.mqtt["group"] or "bekens")
        for t in (f"{c}/+/set", f"{g}/+/set", f"cmnd/{c}/+", f"cmnd/{g}/+", f"{c}/+/get", "homeassistant/+"):
            client.subscribe(t, qos=1)
        # After the subscriptions: the broker handles one client's packets in order, so whoever
        # sees "online" can already command the device.
        self.publish(f"{c}/connected", "online", retain=True, qos=2)
        dev = self.device
        with self.queue_lock:
            self.full_state = [(f"{c}/{item}", value) for item, value in (
                # build: "Open" PLATFORM_MCU_NAME " " USER_SW_VER " " __DATE__ " " __TIME__; ssid: the configured one
                ("host", dev.short_name), ("build", f"Open{dev.chipset} {dev.version} Dec  1 2026 00:00:00"), ("mac", dev.mac),
                ("temp", "24.00"), ("ssid", getattr(dev, "wifi", {}).get("ssid", "")), ("datetime", "0"), ("sockets", "1"), ("rssi", "-52"),
                ("uptime", str(dev.uptime)), ("freeheap", "100000"), ("ip", dev.ip))]  # fmt: skip
        self.connected.set()
        if dev.flags >> 27 & 1:
            self.publish_discovery()
        self.publish_channels()

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
        """Queued, as the firmware's scheduleHADiscovery does (they go out after the full state)."""
        with self.queue_lock:
            for topic, payload in discovery(self.device, prefix):
                self.queue.append((topic, json.dumps(payload, separators=(",", ":"), ensure_ascii=False), True))

    def _tick(self) -> None:
        """The firmware's once-a-second MQTT work: the next full-state item, else 3 queued ones."""
        while not self.stopped:
            time.sleep(max(0.001, self.device.time_scale))
            if not self.connected.is_set():
                continue
            with self.queue_lock:
                if self.full_state:
                    batch = [(*self.full_state.pop(0), False)]
                else:
                    batch, self.queue = self.queue[:QUEUED_AT_ONCE], self.queue[QUEUED_AT_ONCE:]
            for topic, payload, retain in batch:
                self.publish(topic, payload, retain=retain)

    # ---- events ----

    def on_device_event(self, event: str, data: dict) -> None:
        if event == "channel" and self.connected.is_set():
            self.publish_channel(data["channel"])
        elif event == "led" and self.connected.is_set():
            self.publish(f"{self.topic}/led_enableAll/get", str(data["on"]))
        elif event == "mqtt":
            timer = threading.Timer(APPLY_DELAY, self.connect)
            timer.daemon = True
            timer.start()
        elif event == "discovery" and self.connected.is_set():
            self.publish_discovery(data.get("prefix", "homeassistant"))
        elif event == "pins" and self.connected.is_set() and self.device.flags >> 27 & 1:
            self.publish_discovery()
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
            self.publish_channels()
