"""The link doctor: when the bootloader does not answer, listen to the line and say why.

Each symptom has one physical reading (see docs/adapters.md), told apart by what arrives on the
adapter's RX:
- nothing at all, at any rate: no power, or the adapter's RX is not on the chip's TX1, or firmware
  that is silent on UART1 keeps running because the reset did not reach CEN;
- our own bytes back: RX and TX shorted, or a line loaded so hard that we only hear ourselves;
- a TuyaMCU's frames (55 AA ...): another MCU shares UART1;
- text at 115200 that goes on while we hold the chip in reset: the reset never reached CEN, so the
  firmware keeps running (stock firmware logs on UART1 in this case);
- text that stops while the chip is held in reset but no loader reply ever comes: the adapter's
  RX is on TX2, the log UART;
- bytes that are no text at any common rate: a wrong level (5 V adapter) or no common ground.
Baud-rate capability is checked separately once linking works (:func:`best_rate`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from .attention import RESET_HOLD, hold_reset, link_check_burst, pulse_reset, release_reset
from .session import Session

DiagnosisCode = Literal["silent", "echo", "tuya_mcu", "reset_missed", "tx2", "garbage", "linked", "unclear"]
PROBE = b"\x00freebeken-echo-probe\x00"  # no frame header, no console command
OTHER_RATES = (9600, 19200, 38400, 57600, 230400, 460800, 921600)


@dataclass
class LinkDiagnosis:
    code: DiagnosisCode
    title: str
    advice: str
    evidence: list[str] = field(default_factory=list)
    failure: str = ""  # what linking said before the doctor listened

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "title": self.title, "advice": self.advice, "evidence": self.evidence}


ADVICE = {
    "silent": (
        "Nothing arrives on the adapter's RX",
        "Either the chip has no power (check 3.3 V at VCC and that GND is shared), or the adapter's RX is "
        "not on the chip's TX1 (P11): swapping TX and RX is the most common cause. Stock firmware often prints "
        "nothing on TX1, so a chip that runs it looks the same when the reset does not reach it: bridge CEN to "
        "GND briefly, or power-cycle the plug, while freebeken is linking.",
    ),
    "echo": (
        "The adapter hears its own bytes: its RX and TX are connected together",
        "Look for a solder bridge or both wires on one pin; a plug's board can also load RX1/TX1 so hard "
        "that only the adapter's own signal is seen - then wire to the module's pads directly.",
    ),
    "tuya_mcu": (
        "Another microcontroller (a TuyaMCU) talks on the chip's UART1",
        "Its TX fights the adapter's TX on RX1. Power the plug's MCU off (flash the module off the board, "
        "or cut its supply) or lift its TX pin, then link again.",
    ),
    "reset_missed": (
        "The chip runs its firmware: the reset did not reach it",
        "The adapter's RTS is not wired to CEN, so reset by hand while freebeken is linking: bridge CEN to "
        "GND for a moment, or power-cycle the plug (disconnect 3.3 V, start freebeken, reconnect).",
    ),
    "tx2": (
        "The adapter listens to TX2, the chip's log output, not TX1",
        "The chip restarts when reset and its log arrives, but loader replies go out on TX1 (P11). Move the "
        "adapter's RX from TX2 (P0) to TX1 (P11).",
    ),
    "garbage": (
        "Bytes arrive, but they are garbage at every common baud rate",
        "That is a signal-level problem: the adapter must be set to 3.3 V (not 5 V), and its GND must be "
        "connected to the plug's GND. Short, direct wires help.",
    ),
    "linked": ("The bootloader answers now", "The link works; run the command again."),
    "unclear": (
        "No clear cause found",
        "Check power (3.3 V, enough current), TX to RX1 (P10), RX to TX1 (P11), shared GND, and reset the chip "
        "while freebeken is linking.",
    ),
}


def _diagnosis(code: DiagnosisCode, evidence: list[str]) -> LinkDiagnosis:
    title, advice = ADVICE[code]
    return LinkDiagnosis(code, title, advice, evidence)


def _listen(session: Session, seconds: float) -> bytes:
    got = bytearray()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got += session.port.read(4096)
    return bytes(got)


def text_share(data: bytes) -> float:
    if not data:
        return 0.0
    printable = sum(1 for b in data if 32 <= b < 127 or b in (9, 10, 13))
    return printable / len(data)


def tuya_mcu_frames(data: bytes) -> int:
    """Complete TuyaMCU frames: 55 AA, version, command, 2-byte length, payload, byte-sum checksum."""
    count, pos = 0, data.find(b"\x55\xaa")
    while pos != -1 and pos + 7 <= len(data):
        length = int.from_bytes(data[pos + 4 : pos + 6], "big")
        end = pos + 6 + length
        if end < len(data) and sum(data[pos:end]) & 0xFF == data[end]:
            count += 1
        pos = data.find(b"\x55\xaa", pos + 2)
    return count


def _is_text(data: bytes) -> bool:
    return len(data) >= 8 and text_share(data) > 0.9


def _at(session: Session, baud: int, seconds: float) -> bytes:
    session.port.baudrate = baud
    session.port.reset_input_buffer()
    return _listen(session, seconds)


def diagnose(session: Session, listen: float = 1.2, reset: bool = True) -> LinkDiagnosis:
    """Run the checks on an open port that failed to link. Takes 2-7 s; leaves the port at 115200.
    ``reset=False`` (the user resets by hand, RTS may be wired to something else): RTS is left alone,
    so running firmware cannot be told from a TX2 wiring."""
    port = session.port
    evidence: list[str] = []
    try:
        port.baudrate = 115200
        port.reset_input_buffer()
        port.write(PROBE)
        heard = _listen(session, 0.15)
        if PROBE in heard:
            return _diagnosis("echo", ["the probe bytes came back unchanged"])
        heard += _listen(session, listen / 2)
        # A chip that took our LinkChecks but whose replies go elsewhere sits silent in its loader:
        # reset it and listen without linking, so that its firmware boots and shows itself.
        if reset:
            pulse_reset(port)
        heard += _listen(session, listen)
        frames = tuya_mcu_frames(heard)
        if frames:
            return _diagnosis("tuya_mcu", [f"{frames} TuyaMCU frame(s) at 115200"])
        if not heard:
            frames = tuya_mcu_frames(_at(session, 9600, listen))
            if frames:
                return _diagnosis("tuya_mcu", [f"{frames} TuyaMCU frame(s) at 9600"])
            return _diagnosis(
                "silent", [f"no byte in {1.5 * listen + 0.2:.1f} s at 115200 (before and after a reset), none at 9600"]
            )
        if not _is_text(heard):
            evidence.append(f"{len(heard)} bytes at 115200, {text_share(heard):.0%} printable")
            for baud in OTHER_RATES:
                data = _at(session, baud, 0.4 if baud != 9600 else listen)
                if tuya_mcu_frames(data):
                    return _diagnosis("tuya_mcu", evidence + [f"TuyaMCU frames at {baud}"])
                if _is_text(data):
                    return _diagnosis("unclear", evidence + [f"something prints text at {baud} baud, not 115200"])
            return _diagnosis("garbage", evidence + ["no text at " + ", ".join(map(str, OTHER_RATES))])
        evidence.append(f"log text at 115200: {heard[-60:].decode('ascii', 'replace').strip()!r}")
        port.baudrate = 115200
        if not reset:
            return _diagnosis("reset_missed", evidence + ["RTS left alone (--no-reset): reset the chip by hand while linking"])
        # Hold the chip in reset long enough for the log to show whether it stopped.
        hold_reset(port)
        time.sleep(RESET_HOLD)
        port.reset_input_buffer()
        during = _listen(session, max(0.6, listen))
        release_reset(port)
        if link_check_burst(session, 1.0):
            return _diagnosis("linked", evidence + ["a LinkCheck was answered after a reset"])
        if during:
            return _diagnosis("reset_missed", evidence + ["the log went on while RTS held CEN low"])
        return _diagnosis("tx2", evidence + ["the log stopped during reset, but no LinkCheck was answered"])
    except OSError as e:
        return _diagnosis("unclear", evidence + [f"the port failed while listening: {e}"])
    finally:
        try:
            port.baudrate = 115200
        except OSError:
            pass
