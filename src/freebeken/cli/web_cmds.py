"""``freebeken web``: the journey in the browser."""

from __future__ import annotations

import webbrowser

import click

from .base import Context, command_errors, serve_until_stopped


@click.command()
@click.option("--port", default=0, show_default=True, help="Port on 127.0.0.1 (0 = any free port).")
@click.option("--no-browser", is_flag=True, help="Do not open the browser; just print the link.")
@click.pass_obj
@command_errors
def web(ctx: Context, port: int, no_browser: bool) -> None:
    """Serve the local page (127.0.0.1 only, with a per-session token) until Ctrl-C."""
    from ..web.server import WebServer

    server = WebServer(port).start()
    click.echo(f"freebeken page: {server.url}")
    click.echo("Only this computer can open it; the link carries this session's token.")
    if not no_browser:
        webbrowser.open(server.url)
    serve_until_stopped(server.stop)
