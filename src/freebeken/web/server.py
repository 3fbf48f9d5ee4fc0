"""Run the local page with uvicorn on 127.0.0.1 (never another interface)."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from ..convert.family_plug import unplug_under as unplug_family_under
from ..sim.plug import unplug_under
from .app import create_app


class WebServer:
    def __init__(self, port: int = 0, workdir: Path | None = None) -> None:
        self.token = secrets.token_urlsafe(24)
        self.own_workdir = workdir is None  # a temporary folder of ours: removed when we stop
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="freebeken-web-"))
        config = uvicorn.Config(
            create_app(self.token, self.workdir), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> WebServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            raise RuntimeError("the web server did not start")
        return self

    @property
    def port(self) -> int:
        return self.server.servers[0].sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        unplug_under(self.workdir)  # a simulated plug lives as long as what powered it
        unplug_family_under(self.workdir)
        if self.own_workdir:  # uploads and simulated chips; backups live in the data folder
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
