"""The configured path of ``convert``: the configuration was written while the chip was still on
the adapter, so the plug's first boot joins the Wi-Fi and the broker by itself. This waits for it
there. No access point, no address hunt.

The journey keeps names (Wi-Fi name, client id, broker address without its password), never a
password: a run that continues after a stop finds the plug by its client id on the broker.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from .. import events
from ..errors import DeviceError, UsageError
from ..events import Reporter
from ..firmware.settings import Settings
from ..ha.broker import Broker, Session
from .journey import Journey
from .options import Options, Person, ask_secret

FULL_STATE_WAIT = 20.0  # seconds: the firmware publishes its IP within its full state, one item a second


def settings_for(journey: Journey, options: Options, person: Person, reporter: Reporter) -> Settings:
    """The configuration to write with the firmware; the passwords are asked now, before the write."""
    ssid = options.wifi_ssid or person.ask("Your home Wi-Fi name (SSID)")
    password = options.wifi_password
    if password is None:
        password = ask_secret(person, f"Password of Wi-Fi {ssid!r} (empty: an open network)")
    if options.broker is None:
        raise UsageError(
            "Configuring while flashing needs the MQTT broker", hint="Pass --broker mqtt://[user:password@]host[:port]."
        )
    _warn_loopback(options.broker, options, reporter)
    return Settings(
        wifi_ssid=ssid,
        wifi_password=password,
        broker=options.broker,
        name=options.name,
        template=journey.chosen_template(options.template),
    )


def _warn_loopback(broker: Broker, options: Options, reporter: Reporter) -> None:
    try:
        loopback = ipaddress.ip_address(broker.host).is_loopback
    except ValueError:
        loopback = broker.host.lower() == "localhost"
    if loopback and not str(options.port or "").startswith("sim://"):
        events.warning(
            reporter,
            f"The broker address {broker.host} is this computer's own loopback address: the plug "
            "cannot reach it. Use the computer's address on your network (e.g. 192.168.1.10).",
        )


def first_boot_step(journey: Journey, options: Options, person: Person, reporter: Reporter) -> None:
    """Wait until the plug is on the broker; remember its address (from its ``<client>/ip``)."""
    configured = journey.configured
    if journey.first_boot is not None or configured is None:
        return
    if options.broker is None:
        raise UsageError("Waiting for the plug needs the MQTT broker", hint="Pass the same --broker as before.")

    def powered() -> None:
        person.pause(
            f"Disconnect the adapter and power the plug normally. It joins {configured.ssid!r} and the broker "
            "by itself: there is no access point step."
        )
        if options.power_simulated:  # a simulated plug boots by itself when the adapter is removed
            journey.powered(reporter)

    found = wait_for_plug(
        options.broker,
        configured.client_id,
        options.first_boot_wait,
        reporter,
        before=powered,
        ssid=configured.ssid,
        need_address=not options.device,
        http_port=options.http_port,
    )
    device = options.device or found
    journey.found(device)
    events.info(reporter, f"The plug's address: {device}")


def wait_for_plug(
    broker: Broker,
    cid: str,
    wait: float,
    reporter: Reporter,
    *,
    before: Callable[[], None] | None = None,
    ssid: str = "",
    need_address: bool = True,
    http_port: int = 80,
) -> str:
    """Listen on the broker (from before ``before()`` runs: nothing the plug says is missed) until
    the plug is online as ``cid``; return its web address from the IP it publishes (``<cid>/ip``),
    with ``http_port`` when that is not 80 ("" when it published none and none is needed)."""
    with Session(broker) as session:
        session.subscribe(f"{cid}/#")
        if before is not None:
            before()
        then = "If it has not appeared by then, freebeken stops waiting and says what to check (power, Wi-Fi, broker)."
        events.phase(
            reporter,
            f"Waiting for the plug ({cid}) on the broker {broker}, up to {wait:.0f} s: then it says what to check",
            wait=wait,
            then=then,
        )
        online = session.wait_for(lambda t, p: t == f"{cid}/connected" and p == b"online", wait, live_only=True)
        if online is None:
            wifi = f"that {ssid!r} is the right Wi-Fi and its password right" if ssid else "its Wi-Fi name and password"
            raise DeviceError(
                f"The plug did not appear on the broker within {wait:.0f} s (as {cid})",
                hint=f"Check that it is powered; {wifi} (with a wrong one OpenBeken keeps retrying and is not "
                f"reachable); that the broker {broker.host}:{broker.port} is reachable from that Wi-Fi. Then try again: "
                "it goes on waiting. `freebeken config read -p PORT` shows what was written.",
            )
        events.info(reporter, f"The plug is online on the broker as {cid}")
        # live only: a retained copy (a plug with "always retain") may be an earlier address
        found = session.wait_for(lambda t, p: t == f"{cid}/ip" and bool(p.strip()), FULL_STATE_WAIT, live_only=True)
    if found is None and need_address:
        raise DeviceError(
            f"The plug is online but did not publish its address ({cid}/ip)",
            hint="Give its address (from your router's list of clients) and try again.",
        )
    if found is None:
        return ""
    ip = found[1].decode("utf-8", "replace").strip()  # a hostile payload must not crash the wait
    if ip.count(":") == 1:  # a simulated plug says its host:port (a real one its IPv4 address alone)
        return ip
    return ip if http_port == 80 else f"{ip}:{http_port}"
