"""Getting the loader's attention: the reset pulse through the adapter's RTS and the burst of
LinkChecks the loader must answer in the short window after reset. ``connect`` (linking) and
``doctor`` (finding out why linking failed) both use these, so what the doctor tests is what the
link does."""

from __future__ import annotations

import time

from ..protocol import commands as c
from .session import SerialPort, Session

RESET_HOLD = 0.05  # seconds CEN is held low


def hold_reset(port: SerialPort) -> None:
    """Pull CEN low through RTS (the two-transistor auto-reset wiring); ``release_reset`` ends it."""
    port.dtr = False
    port.rts = True


def release_reset(port: SerialPort) -> None:
    port.rts = False


def pulse_reset(port: SerialPort, hold: float = RESET_HOLD) -> None:
    """Reset the chip through RTS. Adapters without RTS wired ignore this; the person then resets
    by hand (see LinkError's hint)."""
    try:
        hold_reset(port)
        time.sleep(hold)
        release_reset(port)
    except OSError:
        pass  # ptys and some adapters reject modem-line ioctls


def link_check_burst(session: Session, seconds: float) -> bool:
    """Fire LinkChecks every few ms for ``seconds`` (the loader listens only briefly after reset);
    True as soon as one is answered."""
    cmd = c.LinkCheck()
    frame = cmd.frame()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        session.write(frame)
        if session.wait_reply(cmd, 0.005) is not None:
            session.drain()  # several replies are usually queued
            return True
    return False
