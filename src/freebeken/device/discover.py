"""Finding OpenBeken devices on the local network.

After the plug joins the home Wi-Fi it gets an address from the router, and people should not
have to dig through the router's client list for it. OpenBeken's SSDP responder only runs when
a user starts that driver, so instead every address of the local /24 is asked ``/api/info`` on
port 80 (in parallel, short timeouts): an OpenBeken device answers with its chip and MAC, and the
MAC read on the plug's own access point picks the right one.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .. import events
from ..errors import DeviceAuthError, DeviceError, UsageError
from ..events import NullReporter, Reporter
from .client import ObkClient
from .http import SocketTransport

Networks = list[ipaddress.IPv4Network]
MAX_HOSTS = 4096  # a /20; larger networks take minutes and are rarely what was meant
WORKERS = 64
RESCAN = 3.0  # seconds between scans while waiting for a device (tests on loopback: less)


@dataclass(frozen=True)
class Found:
    address: str  # "ip", or "ip:port" when not on port 80
    mac: str  # 12 lower-case hex digits; "" when the device wants a password first
    name: str = ""
    chipset: str = ""
    build: str = ""
    locked: bool = False  # answered 401: pass the web password to identify it

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "mac": display_mac(self.mac) if self.mac else ""}


def normalize_mac(mac: str) -> str:
    """``C8:47:8C:43:F3:10``, ``c8-47-…`` and ``c8478c43f310`` all become ``c8478c43f310``."""
    digits = re.sub(r"[^0-9a-fA-F]", "", mac).lower()
    if len(digits) != 12 or re.search(r"[^0-9a-fA-F:.\-\s]", mac):
        raise UsageError(f"Not a MAC address: {mac!r}", hint="Use 12 hex digits, e.g. C8:47:8C:43:F3:10.")
    return digits


def display_mac(mac: str) -> str:
    """The one spelling people see: ``C8:47:8C:43:F3:10`` (anything that is no MAC stays as it is)."""
    if not is_mac(mac):
        return mac
    digits = normalize_mac(mac).upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def is_mac(text: str) -> bool:
    try:
        normalize_mac(text)
    except UsageError:
        return False
    return True


def parse_networks(texts: list[str]) -> Networks:
    networks = []
    for text in texts:
        try:
            net = ipaddress.IPv4Network(text.strip(), strict=False)
        except ValueError:
            raise UsageError(f"Not an IPv4 network: {text!r}", hint="Use CIDR notation, e.g. 192.168.1.0/24.") from None
        if net.num_addresses > MAX_HOSTS:
            raise UsageError(
                f"{net} has {net.num_addresses} addresses; scanning it would take minutes",
                hint="Give the plug's own network, usually a /24 such as 192.168.1.0/24.",
            )
        networks.append(net)
    return networks


def local_networks() -> Networks:
    """The /24 around this computer's address on its default route. Connecting a UDP socket
    sends nothing; it only makes the kernel choose the route and source address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.255.255.255", 1))
            address = sock.getsockname()[0]
        except OSError:
            address = "0.0.0.0"
    if address.startswith(("0.", "127.")):
        raise UsageError(
            "This computer seems to have no network connection",
            hint="Connect to the Wi-Fi the plug joined, or pass --network 192.168.1.0/24.",
        )
    return [ipaddress.IPv4Network(f"{address}/24", strict=False)]


def probe(host: str, port: int = 80, password: str | None = None, timeout: float = 0.8) -> Found | None:
    """What answers at ``host:port``: an OpenBeken device, a locked one, or nothing we know."""
    address = host if port == 80 else f"{host}:{port}"
    transport = SocketTransport(address, password, timeout, limit=3 * timeout, max_bytes=64 * 1024)
    try:
        info = ObkClient(address, transport=transport).info()
    except DeviceAuthError:
        return Found(address, "", locked=True)
    except (DeviceError, ValueError):  # nothing there, not HTTP, or JSON that is not OpenBeken's
        return None
    if not info.chipset or not is_mac(info.mac):
        return None
    return Found(address, normalize_mac(info.mac), info.short_name, info.chipset, info.build)


def scan(
    networks: Networks,
    port: int = 80,
    password: str | None = None,
    timeout: float = 0.8,
    reporter: Reporter | None = None,
) -> list[Found]:
    """Every OpenBeken device answering in ``networks``, in address order."""
    reporter = reporter or NullReporter()
    hosts = [str(h) for net in networks for h in (net.hosts() if net.prefixlen < 31 else net)]
    if not hosts:
        return []
    events.phase(
        reporter, f"Looking for OpenBeken devices on {', '.join(map(str, networks))}", total=len(hosts), unit="addresses"
    )
    found: list[Found] = []
    with ThreadPoolExecutor(min(WORKERS, max(1, len(hosts)))) as pool:
        for done, result in enumerate(pool.map(lambda h: probe(h, port, password, timeout), hosts), 1):
            if result is not None:
                found.append(result)
            events.progress(reporter, done, len(hosts))
    return found


@dataclass(frozen=True)
class Search:
    match: Found | None
    seen: list[Found]  # every device of the last scan, to offer when there was no match


def find_mac(
    macs: str | list[str],
    networks: Networks | Callable[[], Networks],
    port: int = 80,
    password: str | None = None,
    wait: float = 60.0,
    reporter: Reporter | None = None,
) -> Search:
    """Scan until a device with one of ``macs`` answers or ``wait`` seconds pass (a plug that
    has just been given Wi-Fi needs a few seconds to restart and get an address). ``networks``
    may be a function, asked again each round (this computer may still be switching Wi-Fi).
    Without MACs it is one scan, listing every device in ``seen``."""
    want = {normalize_mac(m) for m in ([macs] if isinstance(macs, str) else macs)}
    deadline = time.monotonic() + wait
    while True:
        seen = scan(networks() if callable(networks) else networks, port, password, reporter=reporter)
        match = next((item for item in seen if item.mac in want), None)
        if match is not None or not want or time.monotonic() >= deadline:
            return Search(match, seen)
        time.sleep(min(RESCAN, max(0.0, deadline - time.monotonic())))
