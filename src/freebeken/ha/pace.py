"""The firmware's pacing, in real seconds, for the waits of ``ha`` that follow it.

OpenBeken does its MQTT work once a second (3 queued configs a second, a reconnect 16 s after
losing the broker): how long ``ha setup`` waits for the configs to settle, or ``ha check`` listens
for a second device on the same client id, is counted in those seconds. Against real devices a
firmware second is a second. Simulated devices can run their clock faster
(``FREEBEKEN_SIM_TIME_SCALE=0.02``: 50 times, as the tests do, see ``sim.obk.device``); then these
waits shrink with it, never below a floor that the broker and a busy machine need anyway.
"""

from __future__ import annotations

import os


def device_second() -> float:
    """Real seconds per firmware second: 1 unless the devices are simulated at another speed."""
    try:
        scale = float(os.environ.get("FREEBEKEN_SIM_TIME_SCALE", "1"))
    except ValueError:
        return 1.0
    return min(1.0, max(0.0, scale))


def firmware_wait(seconds: float, floor: float) -> float:
    """``seconds`` of the firmware's pacing in real seconds, at least ``floor`` (never more than
    ``seconds``): unchanged for real devices."""
    return max(min(floor, seconds), seconds * device_second())
