"""What ``convert`` is given: the person's answers and the command line's options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..device.client import AP_ADDRESS
from ..device.pinfinder import Asker
from ..errors import UsageError
from ..ha.broker import Broker
from ..templates.model import Template


class Person(Protocol):
    """The person converting the plug (terminal, web page, or a test script)."""

    def confirm(self, question: str) -> bool: ...
    def pause(self, instruction: str) -> None: ...
    def ask(self, question: str, default: str = "") -> str: ...


def agree_to_no_backup(person: Person) -> None:
    """--skip-backup goes ahead only on the person's yes: without a backup the stock firmware cannot come back."""
    if not person.confirm("Really flash WITHOUT a backup? The stock firmware cannot be restored then."):
        raise UsageError("Stopped: no backup was made", hint="Run again without --skip-backup.")


@runtime_checkable
class SecretPerson(Person, Protocol):
    """A person who can be asked for a password without it being shown."""

    def ask_secret(self, question: str) -> str: ...


def ask_secret(person: Person, question: str) -> str:
    return person.ask_secret(question) if isinstance(person, SecretPerson) else person.ask(question)


@dataclass
class Options:
    port: str | None = None
    chip: str | None = None  # the chip family on a real port (rtl8720cf/WBR3, ln882h); a sim:// port names it
    baudrate: int | None = None
    firmware: str | None = None  # a local release file; None = download the newest
    skip_backup: bool = False
    wifi_ssid: str | None = None
    wifi_password: str | None = None
    ap_address: str = AP_ADDRESS
    device: str | None = None  # the plug's address on the home network; None = search for it
    network: str | None = None  # where to search (CIDR); None = this computer's /24
    http_port: int = 80  # the devices' web port when searching (tests use another)
    find_wait: float = 60.0  # seconds to keep searching while the plug restarts
    device_password: str | None = None
    broker: Broker | None = None
    name: str | None = None
    pin_finder_asker: Asker | None = None  # asked by the pin finder when the backup has no pins
    configure: bool | None = None  # write the configuration while flashing; None = when Wi-Fi and broker are given
    template: Template | None = None  # pins to configure (default: from the backup)
    first_boot_wait: float = 180.0  # seconds to wait for the configured plug on the broker
    devices_json: str | None = None  # OpenBeken's device list (default: the downloaded copy)
    product: str | None = None  # what the box says ("Aoycocr U3"): looked up before anything is opened
    cloudcutter: str | None = None  # tuya-cloudcutter's list (default: the downloaded copy)
    forget: bool = False  # start this plug's conversion over (its backups stay)
    #: a simulated plug boots by itself when the adapter is removed (the CLI; a test may power it itself)
    power_simulated: bool = False

    @property
    def wants_configure(self) -> bool:
        """The default when the Wi-Fi and a broker are known: nothing is left for an access point."""
        return self.configure if self.configure is not None else bool(self.wifi_ssid and self.broker)
