"""One small progress/event interface, independent of any UI.

Operations report through a ``Reporter``; the CLI renders events with rich, ``--json`` prints
them, tests collect them. Nothing below the UI imports a UI library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

EventKind = Literal["phase", "progress", "retry", "info", "warning"]


@dataclass(frozen=True)
class Event:
    """progress: ``done``/``total`` are bytes of the current phase."""

    kind: EventKind
    message: str = ""
    done: int = 0
    total: int = 0
    data: dict[str, Any] = field(default_factory=dict)


class Reporter(Protocol):
    def emit(self, event: Event) -> None: ...


class NullReporter:
    def emit(self, event: Event) -> None:
        pass


class ListReporter:
    """Keeps every event; used by tests and by the web page later."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self, kind: EventKind) -> list[Event]:
        return [e for e in self.events if e.kind == kind]


def phase(reporter: Reporter, message: str, total: int = 0, **data: Any) -> None:
    reporter.emit(Event("phase", message, 0, total, dict(data)))


def progress(reporter: Reporter, done: int, total: int, message: str = "") -> None:
    reporter.emit(Event("progress", message, done, total))


def info(reporter: Reporter, message: str, **data: Any) -> None:
    reporter.emit(Event("info", message, data=dict(data)))


def warning(reporter: Reporter, message: str, **data: Any) -> None:
    reporter.emit(Event("warning", message, data=dict(data)))


def retry(reporter: Reporter, message: str, **data: Any) -> None:
    reporter.emit(Event("retry", message, data=dict(data)))
