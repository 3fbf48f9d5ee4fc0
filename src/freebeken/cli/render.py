"""Renders the event stream: rich for people, JSON lines for scripts."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ..events import Event


def shown(text: str) -> str:
    """A message as rich prints it literally: brackets are not markup (a file named "a[/]b.bin"
    would end a style that was never opened) and a lone surrogate (a file name that is not UTF-8,
    a "\\ud800" in JSON) is written as its escape instead of failing the terminal's encoder."""
    return escape(text.encode("utf-8", "backslashreplace").decode("utf-8"))


class RichReporter:
    def __init__(self, console: Console | None = None, verbose: bool = False) -> None:
        self.console = console or Console(stderr=True)
        self.verbose = verbose
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.retries = 0
        self.plain: tuple[str, float, int, str] | None = None  # the running phase, without a terminal
        self.done = 0  # how far the running phase got

    def say(self, text: str) -> None:
        """One line; never broken at the console's width (a path or a command must stay copyable)."""
        self.console.print(text, soft_wrap=True)

    def emit(self, event: Event) -> None:
        if event.message:
            event = dataclasses.replace(event, message=shown(event.message))
        if event.kind == "phase":
            self._close(finished=True)
            self.done = 0
            if event.total and not self.console.is_terminal:
                # a log or a pipe: a live bar would only be drawn when it ends, below the lines that
                # were printed while it ran; plain lines keep the order things happened in
                self.say(f"[bold cyan]>[/] {event.message}")
                self.plain = (event.message, time.monotonic(), event.total, event.data.get("unit", "bytes"))
            elif event.total:
                amount = (
                    [DownloadColumn(binary_units=True), TransferSpeedColumn()]
                    if event.data.get("unit", "bytes") == "bytes"
                    else [MofNCompleteColumn()]
                )
                self.progress = Progress(
                    TextColumn("[bold]{task.description}"),
                    BarColumn(),
                    *amount,
                    TimeRemainingColumn(),
                    TextColumn("{task.fields[retries]}"),
                    console=self.console,
                    transient=False,
                )
                self.progress.start()
                self.task = self.progress.add_task(event.message, total=event.total, retries="")
            else:
                self.say(f"[bold cyan]>[/] {event.message}")
        elif event.kind == "progress" and self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=event.done, total=event.total or None)
        elif event.kind == "progress" and self.plain is not None:
            self.done = event.done
            if event.done >= event.total:
                self._close(finished=True)  # its line goes out now, before what the next step prints
        elif event.kind == "retry":
            self.retries += 1
            if self.progress is not None and self.task is not None:
                self.progress.update(self.task, retries=f"[yellow]{self.retries} retries")
            if self.verbose:
                self.say(f"[yellow]  retry:[/] {event.message}")
        elif event.kind == "warning":
            self.say(f"[yellow]warning:[/] {event.message}")
        elif event.kind == "info":
            self.say(f"  {event.message}")

    def _close(self, finished: bool = False) -> None:
        """End the running phase's line. ``finished``: the next step began, so this one is done;
        otherwise the command is ending (an error, Ctrl-C): say how far it got, not its total."""
        if self.plain is not None:
            message, started, total, unit = self.plain
            seconds = time.monotonic() - started
            if finished or self.done >= total:
                self.say(f"  {message}: {_amount(total, unit)} in {seconds:.1f} s")
            else:
                self.say(f"  {message}: stopped after {_amount(self.done, unit)} of {_amount(total, unit)} ({seconds:.1f} s)")
            self.plain = None
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
            self.task = None

    def close(self) -> None:
        self._close()


def _amount(n: int, unit: str) -> str:
    return f"{n / 1048576:.2f} MiB" if unit == "bytes" else f"{n} {unit}"


class JsonReporter:
    """One JSON object per line on stdout; progress is rate-limited to keep the stream small."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stdout
        self._last_progress = 0.0

    def emit(self, event: Event) -> None:
        if event.kind == "progress":
            now = time.monotonic()
            if now - self._last_progress < 0.2 and event.done < event.total:
                return
            self._last_progress = now
        record: dict[str, Any] = {"event": event.kind, "message": event.message}
        if event.total or event.done:
            record.update(done=event.done, total=event.total)
        if event.data:
            record["data"] = event.data
        self.write(record)

    def write(self, record: dict) -> None:
        self.stream.write(json.dumps(record, default=str) + "\n")
        self.stream.flush()

    def close(self) -> None:
        pass
