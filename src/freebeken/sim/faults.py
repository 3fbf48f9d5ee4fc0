"""Injected faults, all driven by one seeded RNG so every test run is reproducible."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

WIRINGS = ("ok", "swapped", "echo", "tx2", "badground")


@dataclass
class Faults:
    seed: int = 0
    drop: float = 0.0  # probability that a byte on the line is lost
    corrupt: float = 0.0  # probability that a byte arrives with a flipped bit
    insert: float = 0.0  # probability that a random byte appears after a byte
    no_reply: float = 0.0  # probability that the chip executes a command but stays silent
    power_cut_after: int | None = None  # flash operations that complete before power is lost
    dead: bool = False  # nothing ever answers (unpowered chip, TX/RX swapped)
    noisy_above: int = 0  # if set, drop/corrupt/insert only above this baud (a marginal adapter)
    #: How the adapter is wired: "ok"; "swapped" (its RX/TX on the chip's RX1/TX1 the wrong way round);
    #: "echo" (its RX and TX shorted: it hears itself); "tx2" (its RX on TX2, the log UART: commands
    #: arrive, replies go elsewhere); "badground" (no common ground or a 5 V level: garbage both ways).
    wiring: str = "ok"
    mcu_chatter: int = 0  # baud of a TuyaMCU that shares RX1/TX1 with us (0: none)
    reset_wired: bool = True  # False: the adapter's RTS does not reach CEN (auto-reset has no effect)
    console: bool = True  # False: the firmware ignores "reboot" on UART1 (most stock Tuya firmware)
    #: The person presses Ctrl-C once the chip has answered this many commands: the program gets a
    #: KeyboardInterrupt when it sends the next one (in-process simulator only, as in the tests).
    ctrl_c_after: int | None = None
    #: The first read of eFuse byte N (0-31) arrives with bit 4 of its value flipped: a line fault
    #: in a reply that carries no checksum (0x510FB093 read as 0x511FB093 for N=2).
    efuse_flip: int | None = None
    #: Each eFuse byte read arrives with one random bit flipped with this probability.
    efuse_noise: float = 0.0
    #: The first reply to this console command is lost on the line (the chip acted on it): AmbZ2's
    #: ``ucfg`` answers OK at the new rate, and a lost OK leaves the tool unsure which rate the chip is at.
    lose_reply: str = ""
    #: The first time this console command is sent it is lost on the line: the chip never acts on it
    #: (for ``ucfg``: the host switches its rate, the chip stays at the old one).
    lose_command: str = ""
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        if self.wiring not in WIRINGS:
            raise ValueError(f"wiring must be one of {', '.join(WIRINGS)}")

    @property
    def noisy(self) -> bool:
        return bool(self.drop or self.corrupt or self.insert)

    def mangle(self, data: bytes) -> bytes:
        """Apply byte-level line faults to ``data``."""
        if not self.noisy:
            return data
        rng = self.rng
        total = self.drop + self.corrupt + self.insert
        out = bytearray()
        # Fast path: draw the positions of the next fault instead of a number per byte.
        i = 0
        n = len(data)
        while i < n:
            gap = int(rng.expovariate(total)) if total < 1 else 0
            if i + gap >= n:
                out += data[i:]
                break
            out += data[i : i + gap]
            i += gap
            r = rng.random() * total
            b = data[i]
            if r < self.drop:
                pass
            elif r < self.drop + self.corrupt:
                out.append(b ^ (1 << rng.randrange(8)))
            else:
                out.append(b)
                out.append(rng.randrange(256))
            i += 1
        return bytes(out)


def garble(data: bytes, ratio: float) -> bytes:
    """What a UART at the wrong baud rate reads: framing garbage, of a length scaled by ``ratio``
    (receiver baud / sender baud). Deterministic, and never contains a valid reply header."""
    n = max(0, int(len(data) * ratio)) if ratio < 1 else len(data)
    out = bytearray()
    for i in range(n):
        b = data[i * len(data) // max(n, 1)] if data else 0
        out.append(((b * 37 + i) & 0x7F) | 0x80)  # high bit set: never 0x04/0x0E/0x01
    return bytes(out)
