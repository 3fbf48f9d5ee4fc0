"""Linking with the loader (auto-reset + LinkCheck, the doctor when it fails) and changing the baud rate."""

from __future__ import annotations

import time

from .. import events
from ..errors import LinkError, ProtocolError
from ..events import Reporter
from ..protocol import commands as c
from .attention import link_check_burst, pulse_reset
from .doctor import LinkDiagnosis, diagnose
from .session import Session, open_port

LINK_BURST = 1.0  # seconds of LinkChecks after each reset pulse


def link(session: Session, reporter: Reporter, timeout: float = 15.0, auto_reset: bool = True) -> None:
    """Link with the loader at 115200 or raise ``LinkError`` with what to check."""
    if session.port.baudrate != 115200:
        session.port.baudrate = 115200
    events.phase(reporter, "Linking with the chip's bootloader")
    if link_check_burst(session, 0.05):  # already in the loader (e.g. a previous run) - no reset needed
        return
    deadline = time.monotonic() + timeout
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        if auto_reset:
            pulse_reset(session.port)
        if attempt % 3 == 0:
            # an OpenBeken or Tuya app on this UART reboots on this console command
            session.write(b"\r\nreboot\r\n")
        if link_check_burst(session, min(LINK_BURST, max(0.0, deadline - time.monotonic()))):
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
            if link_check_burst(session, 0.1):  # prove the new rate carries a round trip
                return True
    except ProtocolError:
        pass
    events.warning(reporter, f"Could not switch to {baudrate} baud; staying at {old}")
    # The chip may or may not have switched; find it again at the old rate.
    session.port.baudrate = old
    if not link_check_burst(session, 0.1):
        link(session, reporter, timeout=5.0)
    return False


def try_link(session: Session, reporter: Reporter, *, timeout: float = 15.0, auto_reset: bool = True) -> LinkDiagnosis:
    """Link; when the loader does not answer, listen to the line and say why (the doctor). A
    diagnosis whose code is "linked" means the loader answers now."""
    try:
        link(session, reporter, timeout=timeout, auto_reset=auto_reset)
    except LinkError as failure:
        events.phase(reporter, "Finding out why the chip does not answer")
        found = diagnose(session, reset=auto_reset)
        if found.code != "linked":
            found.failure = str(failure)
        return found
    return LinkDiagnosis("linked", "The bootloader answers", "Wiring and reset work.", ["a LinkCheck was answered"])


def open_linked(port: str, reporter: Reporter, *, timeout: float = 15.0, auto_reset: bool = True) -> Session:
    """Open ``port`` and link with the loader, or raise ``LinkError`` with the doctor's diagnosis."""
    session = Session(open_port(port), reporter)
    try:
        found = try_link(session, reporter, timeout=timeout, auto_reset=auto_reset)
    except BaseException:
        session.port.close()
        raise
    if found.code != "linked":
        session.port.close()
        raise LinkError(
            f"{found.failure} - {found.title} ({'; '.join(found.evidence)})",
            hint=found.advice + " `freebeken doctor -p PORT` runs these checks again.",
        )
    return session
