"""One exception hierarchy. Every error carries a hint telling the user what to do next."""

from __future__ import annotations


class FreebekenError(Exception):
    """Base of every error freebeken raises on purpose.

    ``hint`` is a plain-language next step, shown by the CLI under the message.
    ``exit_code`` is what the CLI exits with (documented in the README).
    """

    exit_code = 1
    default_hint = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.args[0] if self.args else self.__class__.__name__


class UsageError(FreebekenError):
    """Bad input from the user (arguments, files)."""

    exit_code = 2


class PortError(FreebekenError):
    """The serial port cannot be opened or used."""

    exit_code = 3
    default_hint = (
        "Check the port name (`freebeken ports` lists this computer's serial ports), that no other program "
        "holds it, and that you may use it."
    )


class BusyError(PortError):
    """Another process holds the port (or the backup, or the conversion) this one needs."""

    default_hint = (
        "Wait until it has finished, or stop it. Two programs on one serial port mix up the chip's "
        "replies, so freebeken never shares one."
    )


class LinkError(FreebekenError):
    """The chip's bootloader did not answer."""

    exit_code = 4
    default_hint = (
        "Nothing answered on the serial line. Check: 1) the plug is powered with a stable 3.3 V "
        "(the adapter's regulator is often too weak); 2) adapter TX goes to chip RX1 (P10) and "
        "adapter RX to chip TX1 (P11) - try swapping them; 3) GND is shared; 4) reset the chip "
        "while freebeken is linking: briefly bridge CEN to GND, or power-cycle the plug."
    )


class ProtocolError(FreebekenError):
    """The chip answered, but not as expected (garbled reply, error status)."""

    exit_code = 5
    default_hint = "The line is unreliable. Use shorter wires, a better 3.3 V supply, or a lower baud rate (-b 115200)."


class ChipStatusError(ProtocolError):
    """The chip refused a command with a status code."""

    def __init__(self, message: str, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.status = status


class UnsupportedError(FreebekenError):
    """The operation is not available on this chip or bootloader."""

    exit_code = 6


class VerifyError(FreebekenError):
    """Data on the chip does not match what was expected after retries."""

    exit_code = 7
    default_hint = "Run the same command again; it resumes. If it keeps failing, lower the baud rate (-b 115200)."


class SafetyError(FreebekenError):
    """freebeken refused an operation that could brick the device."""

    exit_code = 8


class Interrupted(FreebekenError):
    """Ctrl-C (or a closed terminal) stopped a chip operation; the message says what was kept."""

    exit_code = 130
    default_hint = "Continue with: freebeken resume -p PORT (or run the same command again)."


class ConfigSectorError(FreebekenError):
    """An OpenBeken configuration sector that is missing, damaged, or a value that does not fit it."""

    exit_code = 13


class DeviceError(FreebekenError):
    """Talking to an OpenBeken device over the network failed."""

    exit_code = 9
    default_hint = "Check that the address is an OpenBeken device on this network; if it is, update its firmware."


class DeviceUnreachable(DeviceError):
    default_hint = (
        "Check the device's address (`freebeken device find` lists the OpenBeken devices on this network), that "
        "this computer is on the same network, and that the plug is powered. A device still in access-point mode "
        "is at 192.168.4.1 on its own Wi-Fi."
    )


class DeviceAuthError(DeviceError):
    default_hint = "The device has a web password. Pass it with --password (the user name is always 'admin')."


class DeviceCommandError(DeviceError):
    """The device refused a console command (unknown command or bad argument)."""

    def __init__(self, message: str, code: int, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.code = code


class BrokerError(FreebekenError):
    """The MQTT broker cannot be used."""

    exit_code = 10


class BrokerUnreachable(BrokerError):
    """Nothing answers as an MQTT broker at that address."""


class BrokerAuthError(BrokerError):
    """The broker answers but refuses the login."""


class HaSetupFailed(FreebekenError):
    """Home Assistant did not get every entity the device must have (``ha setup``/``ha check``)."""

    exit_code = 11


class ReleaseError(FreebekenError):
    """An OpenBeken release cannot be listed, downloaded or checked."""

    exit_code = 12


class ListError(FreebekenError):
    """A public device list cannot be read or downloaded."""

    exit_code = 14


class FleetError(FreebekenError):
    """A fleet operation left devices not done (the report says which and why)."""

    exit_code = 15


class FlashProtectedError(UnsupportedError):
    """The flash part's block protection may be set and cannot be lifted with certainty (nothing was erased)."""

    default_hint = (
        "Nothing was erased or written. Report the flash part id shown here (freebeken info names it) so it can "
        "be added to the flash table; meanwhile BK7231GUIFlashTool or an SPI programmer can unprotect it."
    )


class RepliesDisagree(ProtocolError):
    """A value the chip reports without a checksum (a register, a CRC) came back different each
    time it was read: the line damages replies, and no decision is made from one of them."""


class DriverNotRunning(DeviceError):
    """A driver the applied template implies (from its pins or startup command) does not run on the device."""

    exit_code = 16
    default_hint = (
        "The firmware starts pin drivers (BL0937, SM2135, ...) only at boot: restart the device. If it still does not "
        "run, this OpenBeken build lacks the driver - flash a build that has it."
    )
