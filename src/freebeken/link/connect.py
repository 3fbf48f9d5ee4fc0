"""Getting the loader's attention (auto-reset + LinkCheck) and changing the baud rate."""

from __future__ import annotations

import time

from .. import events
from ..errors import LinkError, ProtocolError
from ..events import Reporter
from ..protocol import commands as c
from .identify import ChipInfo, identify, read_mac
from .session import Session, open_port

LINK_BURST = 1.0  # seconds of LinkChecks after each reset pulse
RESET_HOLD = 0.05


def pulse_reset(session: Session) -> None:
    """Pull CEN low through the adapter's RTS (two-transistor auto-reset wiring), then release.

    Adapters without RTS wired simply ignore this; the user then resets by hand (see LinkError).
    """
    port = session.port
    try:
        port.dtr = False
        port.rts = True
        time.sleep(RESET_HOLD)
        port.rts = False
    except OSError:
        pass  # ptys and some adapters reject modem-line ioctls


def _burst(session: Session, seconds: float) -> bool:
    """Fire LinkChecks every few ms (the loader listens only briefly after reset)."""
    cmd = c.LinkCheck()
    frame = cmd.frame()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        session.write(frame)
        if session.wait_reply(cmd, 0.005) is not None:
            session.drain()  # several replies are usually queued
            return True
    return False


def link(session: Session, reporter: Reporter, timeout: float = 15.0, auto_reset: bool = True) -> None:
    """Link with the loader at 115200 or raise ``LinkError`` with what to check."""
    if session.port.baudrate != 115200:
        session.port.baudrate = 115200
    events.phase(reporter, "Linking with the chip's bootloader")
    if _burst(session, 0.05):  # already in the loader (e.g. a previous run) - no reset needed
        return
    deadline = time.monotonic() + timeout
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        if auto_reset:
            pulse_reset(session)
        if attempt % 3 == 0:
            # an OpenBeken or Tuya app on this UART reboots on this console command
            session.write(b"\r\nreboot\r\n")
        if _burst(session, min(LINK_BURST, max(0.0, deadline - time.monotonic()))):
            return
        if attempt == 2:
            events.info(reporter, "No answer yet: reset the chip now (bridge CEN to GND briefly, or power-cycle it).")
        events.retry(reporter, f"no answer from the bootloader (attempt {attempt})")
    raise LinkError(f"The chip's bootloader did not answer within {timeout:.0f} s")


def set_baudrate(session: Session, baudrate: int, reporter: Reporter, delay_ms: int = 20) -> bool:
    """Switch both ends to ``baudrate``. Returns False (and stays at the old rate) if it fails."""
    old = session.port.baudrate
    if baudrate == old:
        return True
    cmd = c.SetBaudRate(baudrate, delay_ms)
    session.drain(0.005)
    session.send(cmd)
    session.port.flush()
    time.sleep(delay_ms / 2000)
    session.port.baudrate = baudrate
    reply = session.wait_reply(cmd, 0.3 + delay_ms * 0.004)
    try:
        if reply is not None:
            cmd.decode(reply)
            if _burst(session, 0.1):  # prove the new rate carries a round trip
                return True
    except ProtocolError:
        pass
    events.warning(reporter, f"Could not switch to {baudrate} baud; staying at {old}")
    # The chip may or may not have switched; find it again at the old rate.
    session.port.baudrate = old
    if not _burst(session, 0.1):
        link(session, reporter, timeout=5.0)
    return False


def _link_with_diagnosis(session: Session, reporter: Reporter, failure: LinkError, auto_reset: bool) -> None:
    """Linking failed: listen to the line and say why (the doctor), unless it answers meanwhile."""
    from .doctor import diagnose

    events.phase(reporter, "Finding out why the chip does not answer")
    found = diagnose(session, reset=auto_reset)
    if found.code == "linked":
        return
    raise LinkError(
        f"{failure} - {found.title} ({'; '.join(found.evidence)})",
        hint=found.advice + " `freebeken doctor -p PORT` runs these checks again.",
    ) from None


def connect(
    port: str,
    reporter: Reporter,
    *,
    baudrate: int | None = None,
    timeout: float = 15.0,
    auto_reset: bool = True,
    with_mac: bool = True,
) -> tuple[Session, ChipInfo]:
    """Open ``port``, link, identify the chip, and switch to ``baudrate`` if given.

    The MAC (a 4 KiB read) is read after the switch, where it is cheaper; ``with_mac=False``
    leaves it to a caller that picks the rate itself (see :func:`read_mac`)."""
    session = Session(open_port(port), reporter)
    try:
        try:
            link(session, reporter, timeout=timeout, auto_reset=auto_reset)
        except LinkError as e:
            _link_with_diagnosis(session, reporter, e, auto_reset)
        events.phase(reporter, "Identifying the chip")
        info = identify(session, with_mac=False)
        if baudrate:
            set_baudrate(session, baudrate, reporter)
        if with_mac:
            info.mac = read_mac(session, info)
    except BaseException:
        session.port.close()
        raise
    return session, info
