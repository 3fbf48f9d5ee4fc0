"""HCI-style framing: host command packets and the chip's reply packets.

Host short:  01 E0 FC LEN CMD payload              (LEN = 1 + len(payload), < 0xFF)
Host long:   01 E0 FC FF F4 LEN_LO LEN_HI OP payload (LEN = 1 + len(payload))
Chip short:  04 0E LEN 01 E0 FC CMD payload         (LEN = 4 + len(payload))
Chip long:   04 0E FF 01 E0 FC F4 LEN_LO LEN_HI OP STATUS payload (LEN = 2 + len(payload))

Replies arrive in a noisy stream (boot log text, stale link-check replies, garbage after a baud
change); ``ReplyScanner`` finds the reply we wait for and skips everything else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

CMD_HEADER = b"\x01\xe0\xfc"
REPLY_HEADER = b"\x04\x0e"
LONG_MARK = 0xFF
FLASH_OP = 0xF4


def encode_short(cmd: int, payload: bytes = b"") -> bytes:
    size = 1 + len(payload)
    if size >= 0xFF:
        raise ValueError(f"short command payload too long ({len(payload)} bytes)")
    return CMD_HEADER + bytes((size, cmd)) + payload


def encode_long(op: int, payload: bytes = b"") -> bytes:
    size = 1 + len(payload)
    if size > 0xFFFF:
        raise ValueError(f"long command payload too long ({len(payload)} bytes)")
    return CMD_HEADER + bytes((LONG_MARK, FLASH_OP)) + struct.pack("<HB", size, op) + payload


def encode_reply_short(code: int, payload: bytes = b"") -> bytes:
    """Chip side; used by the simulator and by tests."""
    return REPLY_HEADER + bytes((4 + len(payload),)) + CMD_HEADER + bytes((code,)) + payload


def encode_reply_long(op: int, status: int, payload: bytes = b"") -> bytes:
    """Chip side; used by the simulator and by tests."""
    return (
        REPLY_HEADER
        + bytes((LONG_MARK,))
        + CMD_HEADER
        + bytes((FLASH_OP,))
        + struct.pack("<HBB", 2 + len(payload), op, status)
        + payload
    )


@dataclass(frozen=True)
class ReplyKey:
    """Identifies the reply a command waits for: a short code, or a long (F4) op."""

    code: int
    long: bool = False


@dataclass(frozen=True)
class Reply:
    key: ReplyKey
    status: int  # always 0 for short replies, which carry no status byte
    payload: bytes


class ReplyScanner:
    """Incremental parser: feed bytes as they come, ask for the reply you expect.

    Frames for other commands (e.g. queued link-check replies) and garbage are discarded.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.discarded = 0  # bytes thrown away; useful for diagnostics

    def feed(self, data: bytes) -> None:
        self._buf += data

    def clear(self) -> None:
        self.discarded += len(self._buf)
        self._buf.clear()

    @property
    def pending(self) -> int:
        return len(self._buf)

    def find(self, expect: ReplyKey) -> Reply | None:
        """Return the first complete reply matching ``expect``, or None if more bytes are needed."""
        buf = self._buf
        while True:
            start = buf.find(REPLY_HEADER)
            if start < 0:
                # keep a trailing 0x04 that may start a header
                keep = 1 if buf.endswith(b"\x04") else 0
                self._drop(len(buf) - keep)
                return None
            self._drop(start)
            frame = self._parse_frame()
            if frame is None:
                return None  # incomplete
            reply, length = frame
            if reply is None:
                self._drop(1)  # not a frame after all: resync one byte further
                continue
            self._drop(length)
            if reply.key == expect:
                return reply
            self.discarded += length

    def _drop(self, n: int) -> None:
        if n > 0:
            self.discarded += n
            del self._buf[:n]

    def _parse_frame(self) -> tuple[Reply | None, int] | None:
        """At buf[0:2] == 04 0E. Returns (reply, length), (None, 0) if malformed, None if incomplete."""
        buf = self._buf
        if len(buf) < 3:
            return None
        if buf[2] != LONG_MARK:
            size = buf[2]
            if size < 4:
                return (None, 0)
            if len(buf) < 3 + size:
                # check what we have of the echo early, so garbage does not stall us
                if not _prefix_ok(buf[3:], CMD_HEADER):
                    return (None, 0)
                return None
            if bytes(buf[3:6]) != CMD_HEADER:
                return (None, 0)
            code = buf[6]
            return Reply(ReplyKey(code), 0, bytes(buf[7 : 3 + size])), 3 + size
        if len(buf) < 10:
            if not _prefix_ok(buf[3:], CMD_HEADER + bytes((FLASH_OP,))):
                return (None, 0)
            return None
        if bytes(buf[3:7]) != CMD_HEADER + bytes((FLASH_OP,)):
            return (None, 0)
        size = buf[7] | buf[8] << 8
        if size < 2:
            return (None, 0)
        total = 9 + size
        if len(buf) < total:
            return None
        op, status = buf[9], buf[10]
        return Reply(ReplyKey(op, True), status, bytes(buf[11:total])), total


def _prefix_ok(have: bytes | bytearray, want: bytes) -> bool:
    n = min(len(have), len(want))
    return bytes(have[:n]) == want[:n]
