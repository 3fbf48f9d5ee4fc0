"""The configured path of ``convert``: write OpenBeken's configuration while the chip is still on
the adapter, then wait for the plug's first boot on the broker. No access point, no address hunt.

The state file keeps names (Wi-Fi name, client id, broker address without its password), never
a password: a run that continues after a stop finds the plug by its client id on the broker.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from .. import events
from ..errors import DeviceError, UsageError
from ..events import Reporter
from ..firmware.settings import Settings
from ..flasher.configure import configure
from ..ha.broker import Broker, Session

if TYPE_CHECKING:
    from .wizard import Options, Person, State

FULL_STATE_WAIT = 20.0  # seconds: the firmware publishes its IP within its full state, one item a second


def broker_of(options: "Options") -> Broker | None:
    if options.broker is None or isinstance(options.broker, Broker):
        return options.broker
    return Broker.from_url(options.broker)


def wants_configure(options: "Options") -> bool:
    """The default when the Wi-Fi and a broker are known: nothing is left for an access point."""
    return options.configure if options.configure is not None else bool(options.wifi_ssid and options.broker)


def configure_step(io, state: "State", options: "Options", person: "Person", reporter: Reporter) -> None:
    if state.done("configure"):
        return
    ssid = options.wifi_ssid or person.ask("Your home Wi-Fi name (SSID)")
    password = options.wifi_password
    if password is None:
        password = getattr(person, "ask_secret", person.ask)(f"Password of Wi-Fi {ssid!r} (empty: an open network)")
    broker = broker_of(options)
    if broker is None:
        raise UsageError("Configuring while flashing needs the MQTT broker", hint="Pass --broker mqtt://[user:password@]host[:port].")
    _warn_loopback(broker, options, reporter)
    from .wizard import chosen_template  # wizard imports this module

    template = chosen_template(state, options)
    settings = Settings(wifi_ssid=ssid, wifi_password=password, broker=broker, name=options.name, template=template)
    result = configure(io, settings, openbeken_written=True)
    cfg = result.config  # the names as the chip holds them (the name may have been made safe)
    pins = record_configure(state, result, broker)
    events.info(reporter, f"Configured: Wi-Fi {ssid!r}, broker {broker}, client id {cfg['mqtt_client']}, "
                f"pins {pins or 'none (found with the pin finder after the first boot)'}")  # fmt: skip


def _warn_loopback(broker: Broker, options: "Options", reporter: Reporter) -> None:
    try:
        loopback = ipaddress.ip_address(broker.host).is_loopback
    except ValueError:
        loopback = broker.host.lower() == "localhost"
    if loopback and not str(options.port or "").startswith("sim://"):
        events.warning(reporter, f"The broker address {broker.host} is this computer's own loopback address: the plug "
                       "cannot reach it. Use the computer's address on your network (e.g. 192.168.1.10).")  # fmt: skip


def record_configure(state: "State", result, broker: Broker) -> dict:
    """The configuration as the chip holds it, in the journey (names, never a password); its pins."""
    cfg = result.config
    pins = cfg.as_dict()["pins"]
    state.finish("configure", ssid=cfg["wifi_ssid"], client_id=cfg["mqtt_client"], long_name=cfg["long_name"],
                 broker=str(broker), pins=pins or None, changed=result.changed)  # fmt: skip
    return pins


def first_boot_step(state: "State", options: "Options", person: "Person", reporter: Reporter) -> None:
    """Wait until the plug is on the broker; remember its address (from its ``<client>/ip``)."""
    if state.done("first_boot"):
        return
    done = state.get("configure")
    cid, broker = done["client_id"], broker_of(options)
    if broker is None:
        raise UsageError("Waiting for the plug needs the MQTT broker", hint="Pass the same --broker as before.")
    def powered() -> None:
        person.pause(f"Disconnect the adapter and power the plug normally. It joins {done['ssid']!r} and the broker "
                     "by itself: there is no access point step.")  # fmt: skip

    found = wait_for_plug(broker, cid, options.first_boot_wait, reporter, before=powered, ssid=done["ssid"],
                          need_address=not options.device, http_port=options.http_port)  # fmt: skip
    device = options.device or found
    state.finish("first_boot", device=device)  # finish() stamps the time
    events.info(reporter, f"The plug's address: {device}")


def wait_for_plug(broker: Broker, cid: str, wait: float, reporter: Reporter, *, before=None, ssid: str = "",
                  need_address: bool = True, http_port: int = 80) -> str:  # fmt: skip
    """Listen on the broker (from before ``before()`` runs: nothing the plug says is missed) until
    the plug is online as ``cid``; return its web address from the IP it publishes (``<cid>/ip``),
    with ``http_port`` when that is not 80 ("" when it published none and none is needed)."""
    with Session(broker) as session:
        session.subscribe(f"{cid}/#")
        if before is not None:
            before()
        events.phase(reporter, f"Waiting for the plug ({cid}) on the broker {broker}")
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
        raise DeviceError(f"The plug is online but did not publish its address ({cid}/ip)",
                          hint="Give its address (from your router's list of clients) and try again.")  # fmt: skip
    if found is None:
        return ""
    ip = found[1].decode("utf-8", "replace").strip()  # a hostile payload must not crash the wait
    return ip if http_port == 80 else f"{ip}:{http_port}"
