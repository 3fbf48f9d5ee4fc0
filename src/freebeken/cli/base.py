"""What every command shares: the context (console, reporter, --json), error rendering with the
documented exit codes, and waiting for Ctrl-C in the long-running commands."""

from __future__ import annotations

import shlex
import signal
import sys
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from ..errors import FreebekenError
from .render import JsonReporter, RichReporter


class Context:
    def __init__(self, json_mode: bool, verbose: bool) -> None:
        self.json = json_mode
        self.verbose = verbose
        self.console = Console(soft_wrap=True)  # a path or a command is never broken at the width: it stays copyable
        self.reporter = JsonReporter() if json_mode else RichReporter(verbose=verbose)

    def say(self, text: str) -> None:
        """Print a line for the person (rich markup), after closing any progress bar it would break."""
        self.reporter.close()
        self.console.print(text)

    def result(self, record: dict[str, Any]) -> None:
        """Final machine-readable result (only printed with --json)."""
        if self.json:
            self.reporter.write({"event": "result", **record})  # type: ignore[union-attr]


def command_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn freebeken errors into a clear message, a hint and the documented exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context().find_object(Context)
        try:
            return func(*args, **kwargs)
        except FreebekenError as e:
            if ctx is not None:
                ctx.reporter.close()
            hint = e.hint
            if isinstance(kwargs.get("port"), str):  # hints name the port as PORT: make them copyable
                hint = hint.replace("-p PORT", f"-p {shlex.quote(kwargs['port'])}")
            if ctx is not None and ctx.json:
                ctx.result({"ok": False, "error": str(e), "hint": hint, "exit_code": e.exit_code})
            else:
                err = Console(stderr=True)
                err.print(f"[bold red]error:[/] {escape(str(e))}", soft_wrap=True)
                if hint:
                    err.print(f"[dim]what to do:[/] {escape(hint)}", soft_wrap=True)  # commands stay copyable
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            if ctx is not None:
                ctx.reporter.close()
            Console(stderr=True).print("[yellow]interrupted[/]")
            sys.exit(130)
        finally:
            if ctx is not None:
                ctx.reporter.close()

    return wrapper


def serve_until_stopped(stop: Callable[[], None]) -> None:
    """Block until Ctrl-C or SIGTERM, then ``stop()`` the server (used by the long-running commands)."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop()
