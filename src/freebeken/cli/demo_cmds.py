"""``freebeken demo``: the whole journey on the built-in simulators, no device needed."""

from __future__ import annotations

import click

from ..link import connect
from .main import Context, command_errors


@click.command()
@click.option("--time-scale", type=float, default=0.0, show_default=True, help="1 = real chip timing.")
@click.pass_obj
@command_errors
def demo(ctx: Context, time_scale: float) -> None:
    """Try freebeken on simulated BK7231T and BK7231N plugs."""
    for chip in ("bk7231t", "bk7231n"):
        url = f"sim://{chip}?time_scale={time_scale}"
        ctx.console.print(f"[bold]Simulated {chip.upper()}[/] ({url})")
        session, info = connect(url, ctx.reporter)
        session.port.close()
        ctx.reporter.close()
        for key, value in info.as_dict().items():
            ctx.console.print(f"  {key:16} {value}")
        ctx.result({"chip": chip, "info": info.as_dict()})


def register(group: click.Group) -> None:
    group.add_command(demo)
