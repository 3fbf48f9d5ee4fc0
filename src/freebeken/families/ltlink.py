"""Using ltchiptool's download-protocol tools inside freebeken's process.

ltchiptool's tool classes open ports with ``serial.Serial(port)``; freebeken gives them a port from
``serial.serial_for_url`` instead, so ``sim://`` URLs reach the simulators the same way real ports do.
Constructing a tool installs ltchiptool's logging handler process-wide (root logger, ``sys.excepthook``,
``threading.excepthook``) and points the X/YMODEM loggers at stdout: :func:`contained` undoes that, so
``--json`` output stays clean and freebeken's own error handling stays in charge.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import serial

from ..errors import LinkError, ProtocolError, VerifyError
from .base import FamilySpec, Identity

T = TypeVar("T")
QUIET = ("xmodem.XMODEM", "ModemSocket", "xmodem")


@contextlib.contextmanager
def contained() -> Iterator[None]:
    saved = (sys.excepthook, threading.excepthook, list(logging.root.handlers), logging.root.level)
    logging.root.setLevel(max(saved[3], logging.ERROR))  # its notes ("timeout increased") are not the person's concern
    try:
        yield
    finally:
        sys.excepthook, threading.excepthook = saved[0], saved[1]
        logging.root.handlers[:] = saved[2]
        logging.root.setLevel(saved[3])
        for name in QUIET:
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.setLevel(logging.CRITICAL)


def make_tool(cls: Callable[..., T], port: str, *, link_timeout: float) -> T:
    """An ltchiptool tool on ``port`` (a device path or any pyserial URL, sim:// included)."""
    from .. import sim  # noqa: F401  (registers sim://)

    with contained():
        tool: Any = cls(None, 115200, link_timeout=link_timeout)  # no port opened yet
    try:
        tool.s = serial.serial_for_url(port, baudrate=115200, timeout=0.05)
    except serial.SerialException as e:
        from ..link.ports import open_error

        raise open_error(port, e) from e
    return tool


def retrying(what: str, action: Callable[[], T], attempts: int, on_error: Callable[[], None] | None = None) -> T:
    """Run ``action``; ltchiptool reports line trouble as TimeoutError/RuntimeError/ValueError (a hash
    that disagrees): retried ``attempts`` times, then a VerifyError (exit 7: nothing unproven is kept)."""
    last: Exception | None = None
    for _ in range(attempts):
        try:
            return action()
        except (TimeoutError, RuntimeError, ValueError, serial.SerialException) as e:
            last = e
            if on_error is not None:
                try:
                    on_error()
                except Exception as gone:  # noqa: BLE001  (no link at all: retrying cannot help)
                    raise ProtocolError(
                        f"{what}: the chip stopped answering ({gone})",
                        hint="Power was probably lost. Put the chip in download mode again and run `freebeken resume` "
                        "(or the same command): it continues where it stopped.",
                    ) from e
    raise VerifyError(
        f"{what} failed {attempts} times: {last}",
        hint="Run `freebeken doctor` with the same port and --chip: it tells a line that damages replies from an "
        "adapter that hears itself (it links, then never reads) and says what to change.",
    )


def relink(tool: Any, seconds: float = 3.0) -> None:
    """After an error: drain the line and link again, briefly (a chip that lost power will not answer)."""
    saved = tool.link_timeout
    tool.link_timeout = seconds
    try:
        with contained():
            tool.timed_flush(0.1)
            tool.link()
    finally:
        tool.link_timeout = saved


def link_at_rates(tool: Any, rates: tuple[tuple[int, float], ...], *, drain: bool = False) -> None:
    """Link at the first of ``rates`` (baud, seconds to try) the chip answers at. Raises TimeoutError."""
    for baud, seconds in rates:
        saved = tool.link_timeout
        tool.link_timeout = seconds
        try:
            if tool.s.baudrate != baud:
                tool.set_baudrate(baud)
            with contained():
                if drain:
                    tool.timed_flush(0.05)
                tool.link()
            return
        except TimeoutError:
            continue
        finally:
            tool.link_timeout = saved
    raise TimeoutError("Timeout while linking")


def link_at_any_rate(tool: Any, fast: int, spare: float = 2.0) -> None:
    """Link at 115200 (the ROM's rate after a reset), then at ``fast``: a chip left at the fast rate by an
    interrupted session (or another tool) stays there until it is reset. Raises TimeoutError."""
    link_at_rates(tool, ((115200, tool.link_timeout), (fast, spare)))


def relink_either_rate(tool: Any, fast: int, seconds: float = 1.0) -> None:
    """After a baud-rate change that did not confirm: the host already runs at ``fast``, the chip is at
    ``fast`` (only its OK was lost) or still at 115200 (the command was). Link where it answers, so a
    retried change is skipped or sent again as needed. Raises TimeoutError when neither answers."""
    link_at_rates(tool, ((fast, seconds), (115200, seconds)), drain=True)


def leave(tool: Any) -> None:
    """Put the chip back at 115200 in download mode and free the port. The chip is not told to boot: its
    boot pin is probably still held, and the next command (or tool) links to it as it is; the person
    power-cycles it without the pin to start the firmware."""
    try:
        with contained():
            tool.change_baudrate(115200)
    except Exception:  # noqa: BLE001  (the chip may be gone: nothing to put back)
        pass
    finally:
        tool.s.close()


def link_error(spec_name: str, download_mode: str, error: Exception) -> LinkError:
    return LinkError(
        f"No answer from the {spec_name} download mode ({error})",
        hint=f"{download_mode} Check the wiring (adapter RX to the chip's TX, TX to RX, common GND).",
    )


def protocol_error(message: str) -> ProtocolError:
    return ProtocolError(message, hint="Power-cycle the device in download mode and run the same command again.")


class LtFamily:
    """What the two families ltchiptool speaks for share: the tool on the port, the rate to run at, a
    recovery after an error, linking at either rate with the family's download-mode advice, and leaving."""

    spec: FamilySpec

    def __init__(self, tool_class: Callable[..., Any], port: str, baudrate: int | None, timeout: float) -> None:
        self.tool = make_tool(tool_class, port, link_timeout=timeout)
        self.baudrate = baudrate or self.spec.fast_baud
        self.identity: Identity | None = None

    def _recover(self) -> None:
        relink(self.tool)

    def _link(self) -> None:
        try:
            link_at_any_rate(self.tool, self.baudrate)
        except TimeoutError as e:
            raise link_error(self.spec.name.upper(), self.spec.download_mode, e) from e

    def close(self) -> None:
        leave(self.tool)
