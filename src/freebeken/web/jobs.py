"""Long operations run as jobs in threads; their events are kept for server-sent events, and a
job can ask the person a question (the pin finder) and wait for the answer."""

from __future__ import annotations

import secrets
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import FreebekenError, UsageError
from ..events import Event, EventKind
from ..flasher.plan import SECTOR

# what the page's event stream carries: the operations' events, the pin finder's questions, the end
PageEventKind = EventKind | Literal["question", "done", "error"]


@dataclass
class Job:
    id: str
    kind: str
    events: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    result: Any = None
    cond: threading.Condition = field(default_factory=threading.Condition)
    _answer: str | None = None
    _drawn: bool = True  # the current phase's progress is drawn on the page's bar

    # Reporter
    def emit(self, event: Event) -> None:
        fields: dict[str, Any] = {"done": event.done, "total": event.total, "data": event.data}
        if event.kind == "phase":
            # The bar shows what a step is about (the firmware, the backup): a phase of one 4 KiB
            # sector (the configuration written after the firmware) is said in the log, not drawn.
            one_sector = "unit" not in event.data and 0 < event.total <= SECTOR  # bytes, unless a unit is named
            self._drawn = not one_sector
            fields["bar"] = self._drawn
        elif event.kind == "progress":
            fields["bar"] = self._drawn
        self.push(event.kind, event.message, **fields)

    def push(self, kind: PageEventKind, message: str, **fields: Any) -> None:
        with self.cond:
            self.events.append({"kind": kind, "message": message, **fields, "t": time.time()})
            self.cond.notify_all()

    def ask(self, question: str, options: list[tuple[str, str]], **extra: Any) -> str:
        """Show ``question`` with buttons (value, label); block until one is pressed. ``extra``
        goes with it (``press=N``: a simulated plug's button N can be pressed from the page)."""
        with self.cond:
            self._answer = None
            self.events.append({**extra, "kind": "question", "message": question, "options": options, "t": time.time()})
            self.cond.notify_all()  # not push(): the condition is held already
            while self._answer is None:
                self.cond.wait()
            answer, self._answer = self._answer, None
            return answer

    def answer(self, value: str) -> None:
        with self.cond:
            self._answer = value
            self.cond.notify_all()

    def wait_events(self, since: int, timeout: float = 15) -> list[dict[str, Any]]:
        with self.cond:
            if len(self.events) <= since and not self.done:
                self.cond.wait(timeout)
            return self.events[since:]


class Jobs:
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()

    def start(self, kind: str, work: Callable[[Job], Any]) -> Job:
        job = Job(secrets.token_hex(8), kind)
        with self.lock:
            self.jobs[job.id] = job

        def run() -> None:
            try:
                job.result = work(job)
                job.push("done", "done", result=job.result)
            except FreebekenError as e:
                job.push("error", str(e), hint=e.hint)
            except Exception as e:  # shown to the person in plain words, never a silent failure
                said = plain_error(e)
                job.push("error", said["error"], hint=said["hint"])
            finally:
                with job.cond:
                    job.done = True
                    job.cond.notify_all()

        threading.Thread(target=run, daemon=True, name=f"job-{kind}").start()
        return job

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)


class RequestError(UsageError):
    """The page's request itself is wrong (a missing field, a value of the wrong kind)."""


class Body(dict[str, Any]):
    """A request's JSON object. Only what the request lacks or holds wrongly is the page's fault
    (a 400 in words); a KeyError or ValueError from deeper down is a bug and is reported as one."""

    def __getitem__(self, key: str) -> Any:
        if key not in self:
            raise RequestError(f"The page's request lacks {key!r}", hint="Reload the page and try again.")
        return super().__getitem__(key)

    def number(self, key: str, default: float) -> float:
        value = self.get(key)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise RequestError(f"{key} must be a number, not {value!r}", hint="Check what you typed, then try again.") from None


def plain_error(e: Exception) -> dict[str, str]:
    """What the page says about an error that is not one of freebeken's own (those say what to
    do already): plain words, never the exception's type or text; the details of a real bug go to
    the terminal where ``freebeken web`` runs."""
    if isinstance(e, OSError):
        where = f" ({Path(e.filename).name})" if getattr(e, "filename", None) else ""
        return {
            "error": f"A file or port could not be used{where}: {e.strerror or 'input/output error'}",
            "hint": "Check that the adapter is plugged in, the disk has room, and the file still exists.",
        }
    traceback.print_exception(e, file=sys.stderr)
    return {
        "error": "freebeken stopped on an internal error; nothing more was done",
        "hint": "The details are in the terminal where `freebeken web` runs: please report them.",
    }
