"""Pick the fastest baud rate the adapter and wiring carry cleanly."""

from __future__ import annotations

from .. import events
from ..errors import ProtocolError
from ..link.connect import set_baudrate
from ..protocol import beken_crc
from ..protocol import commands as c
from .chipio import SECTOR, ChipIO

AUTO_CANDIDATES = (2000000, 1500000, 921600)


def link_test(io: ChipIO) -> bool:
    """One full-size read, proven by CRC: large frames are where marginal rates fail."""
    address = io.chip.app_start
    try:
        crc = io.crc(address, SECTOR)
        data = io.session.transact(c.FlashRead4K(address), retries=0)
    except ProtocolError:
        return False
    return beken_crc(data) == crc


def choose_baudrate(io: ChipIO, requested: int | None) -> int:
    """``requested`` None = automatic. Returns the rate in use."""
    reporter = io.reporter
    candidates = (requested,) if requested else AUTO_CANDIDATES
    for baud in candidates:
        if set_baudrate(io.session, baud, reporter) and link_test(io):
            events.info(reporter, f"Using {baud} baud")
            return baud
        if io.session.baudrate != 115200:
            set_baudrate(io.session, 115200, reporter)
    if requested:
        events.warning(reporter, f"{requested} baud does not work on this adapter; staying at 115200")
    return io.session.baudrate
