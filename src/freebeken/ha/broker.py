"""The MQTT edge: a small synchronous wrapper around paho-mqtt for one-shot checks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..errors import BrokerAuthError, BrokerError, BrokerUnreachable
from ..mqtt_address import Broker

__all__ = ["Broker", "BrokerError", "Session"]


class Session:
    """Connected MQTT client that records every message it receives."""

    # For tests on a loopback broker (tests/conftest.py), where the broker's timing is known:
    # ``retained_barrier`` returns once every retained message of the subscriptions made so far has
    # arrived, so ``settle`` need not infer that from a quiet moment, and its waits are then
    # ``quiet_scale`` as long. With a real broker: None and 1 (a quiet moment is all there is).
    retained_barrier: Callable[[Session], None] | None = None
    quiet_scale: float = 1.0

    def __init__(self, broker: Broker, timeout: float = 5.0) -> None:
        self.broker = broker
        self.messages: list[tuple[str, bytes, bool]] = []
        self._cv = threading.Condition()
        self._subscribed = False  # a subscription since the last retained_barrier
        import paho.mqtt.client as mqtt  # here, not at the top: flash --configure parses broker URLs without MQTT

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"freebeken-{time.monotonic_ns() % 10**9}")
        if broker.user:
            self.client.username_pw_set(broker.user, broker.password)
        self.client.on_message = self._on_message
        result: dict[str, object] = {}
        done = threading.Event()

        def on_connect(client, userdata, flags, reason_code, properties) -> None:
            result["rc"] = reason_code
            done.set()

        self.client.on_connect = on_connect
        try:
            self.client.connect(broker.host, broker.port, keepalive=30)
        except OSError as e:
            raise BrokerUnreachable(
                f"Cannot reach the MQTT broker at {broker.host}:{broker.port}: {e.strerror or e}",
                hint="Check the broker address and port, and that the broker (e.g. the Mosquitto add-on) is running.",
            ) from None
        self.client.loop_start()
        if not done.wait(timeout):
            self.close()
            raise BrokerUnreachable(
                f"The broker at {broker.host}:{broker.port} did not answer", hint="Is it really an MQTT broker?"
            )
        rc = result["rc"]
        if rc.is_failure:  # type: ignore[attr-defined]
            self.close()
            if rc.value in (4, 5, 134, 135):  # type: ignore[attr-defined]
                raise BrokerAuthError(
                    f"The broker refused the login ({rc})",
                    hint="Check the user name and password in the broker URL (Home Assistant: the MQTT user you created).",
                )
            raise BrokerError(f"The broker refused the connection: {rc}")

    def _on_message(self, client, userdata, msg) -> None:
        with self._cv:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain)))
            self._cv.notify_all()

    def subscribe(self, *topics: str) -> None:
        for t in topics:
            self.client.subscribe(t, qos=1)
        self._subscribed = True

    def publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)

    def wait_for(self, predicate, timeout: float, since: int = 0, live_only: bool = False) -> tuple[str, bytes, bool] | None:
        """First recorded message (from index ``since`` on, past or future) for which
        ``predicate(topic, payload)`` holds; with ``live_only``, retained copies the broker
        replayed on subscribing (possibly stale) do not count."""
        deadline = time.monotonic() + timeout
        seen = since
        with self._cv:
            while True:
                for topic, payload, retained in self.messages[seen:]:
                    if predicate(topic, payload) and not (live_only and retained):
                        return topic, payload, retained
                seen = len(self.messages)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cv.wait(left)

    def settle(self, quiet: float = 0.5, limit: float = 5.0) -> None:
        """Wait until no message arrived for ``quiet`` seconds (retained messages flow in first)."""
        if self.retained_barrier is not None and self._subscribed:
            self._subscribed = False
            self.retained_barrier(self)
        quiet, limit = quiet * self.quiet_scale, limit * self.quiet_scale
        deadline = time.monotonic() + limit
        with self._cv:
            count = -1
            while count != len(self.messages) and time.monotonic() < deadline:
                count = len(self.messages)
                self._cv.wait(quiet)

    def close(self) -> None:
        self.client.disconnect()  # first: it wakes the network loop, which loop_stop then joins at once
        self.client.loop_stop()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
