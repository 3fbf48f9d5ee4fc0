"""The pin finder's questions as buttons on the page, numbered as the person goes ("question 3 of
19"): the pin finder says how many pins it tries (its phase) and how far it is (its progress)."""

from __future__ import annotations

from ..events import Event
from .jobs import Job

PULSED = [("relay", "It clicked (relay)"), ("led", "The LED flashed"), ("light", "The light lit"), ("nothing", "Nothing")]


class WebAsker:
    """An ``Asker`` (device.pinfinder) and the ``Reporter`` the pin finder reports to: it counts
    the pins it was told about, then passes every event on to the job."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.total = 0  # pins to try
        self.done = 0  # pins tried

    def emit(self, event: Event) -> None:
        if event.kind == "phase" and event.total:
            self.total, self.done = event.total, 0
        elif event.kind == "progress":
            self.done = event.done
        self.job.emit(event)

    def _numbered(self, text: str) -> str:
        return f"Question {min(self.done + 1, self.total)} of {self.total}: {text}" if self.total else text

    def what_happened(self, pin: int) -> str:
        return self.job.ask(self._numbered(f"P{pin} pulsed 3 times. What happened?"), PULSED)

    def is_on(self, pin: int, part: str) -> bool:
        thing = {"relay": "the relay on", "led": "the LED lit", "light": "the light on"}[part]
        return self.job.ask(self._numbered(f"P{pin} is held on now. Is {thing}?"), [("yes", "Yes"), ("no", "No")]) == "yes"

    def colour(self, pin: int) -> str:
        return self.job.ask(self._numbered("Which colour?"), [(c, c.upper()) for c in "rgbcw"])

    def press_button(self, number: int, again: bool) -> bool:
        text = "Press the same button once more" if again else f"Press button {number} once"
        options = [("done", "Done"), ("none", "No more buttons")]
        return self.job.ask(f"Buttons: {text}, then click Done.", options, press=number) == "done"
