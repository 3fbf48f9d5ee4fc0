"""Helpers shared by the tests (importable: tests/ is on sys.path)."""

from __future__ import annotations

import functools
from pathlib import Path

from freebeken.chips import CHIPS, flash_by_name
from freebeken.sim.chip import SimChip
from freebeken.sim.flash import NorFlash
from freebeken.sim.image import build_stock_image
from freebeken.sim.line import SimLine

SHARED = Path(__file__).resolve().parents[2] / "shared"


def make_chip(name: str = "bk7231t", flash: str = "TH25Q16HB", image: bytes | None = None) -> SimChip:
    profile = CHIPS[name]
    data = bytearray(image) if image is not None else build_stock_image(profile)
    return SimChip(profile, NorFlash(flash_by_name(flash), data))


class ManualClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def reply_of(line: SimLine, cmd, baud: int = 115200):
    """Send ``cmd`` on ``line`` and return its decoded result, or None if nothing valid came back."""
    from freebeken.protocol import ReplyScanner

    line.write(cmd.frame(), baud)
    if cmd.reply_key is None:
        return None
    scanner = ReplyScanner()
    scanner.feed(line.read(baud, 1 << 24))
    reply = scanner.find(cmd.reply_key)
    return None if reply is None else cmd.decode(reply)


def stored_app(chip: str, size: int = 400_000, seed: int = 1) -> bytes:
    """An application as an OpenBeken release stores it for ``chip`` (about ``size`` bytes): its
    code under the chip's key, behind real ARM vectors, in CRC'd 32-byte blocks."""
    import random

    from freebeken.chips import CHIPS, appcode

    key = appcode.TUYA_KEY if CHIPS[chip].code_key == "tuya" else appcode.ZERO_KEY
    code = bytearray(random.Random(seed).randbytes(size // appcode.STORED * appcode.BLOCK))
    vectors = bytes.fromhex("0e0000ea") + bytes.fromhex("14f09fe5") * 7
    code[: len(vectors)] = appcode.Cipher(key).crypt(vectors, appcode.APP_MAPPED)
    return appcode.add_crc(bytes(code))


def release_bytes(chip: str, size: int = 400_000, seed: int = 1) -> bytes:
    """What an OpenBeken release file for ``chip`` holds: the stored application alone (UA, on the
    chips whose bootloader answers UART: T, U), or after a 0x11000-byte bootloader part (QIO)."""
    from freebeken.chips import CHIPS

    body = stored_app(chip, size, seed)
    return body if CHIPS[chip].is_bim else b"\x5a" * 0x11000 + body


def firmware_file(folder: Path, chip: str, size: int = 400_000, seed: int = 1) -> tuple[Path, bytes]:
    """An OpenBeken-like release file for ``chip`` (:func:`release_bytes`), so that a content check
    sees what it would in a real release. Returns (path, the bytes that end up at 0x11000)."""
    from freebeken.chips import CHIPS

    path = folder / f"{CHIPS[chip].firmware_prefix}1.17.{seed}.bin"
    path.write_bytes(release_bytes(chip, size, seed))
    return path, stored_app(chip, size, seed)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    """A real mosquitto broker on a free loopback port (installed by scripts/test)."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None) -> None:
        import shutil
        import subprocess

        self.folder = folder
        self.port = free_port()
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        conf = folder / "mosquitto.conf"
        import getpass

        # as root, mosquitto would switch to user "mosquitto", who cannot read pytest's 0700 folders
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest stderr", f"user {getpass.getuser()}"]
        if users:
            pwfile = folder / "passwd"
            pwfile.write_text("")
            for user, password in users.items():
                subprocess.run(
                    [shutil.which("mosquitto_passwd") or "mosquitto_passwd", "-b", str(pwfile), user, password], check=True
                )
            lines += ["allow_anonymous false", f"password_file {pwfile}"]
        else:
            lines.append("allow_anonymous true")
        conf.write_text("\n".join(lines) + "\n")
        self.cmd = [binary, "-c", str(conf)]
        self.proc = None
        self.start()

    def start(self) -> None:
        import socket
        import subprocess
        import time

        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def url(self, user: str | None = None, password: str | None = None) -> str:
        creds = f"{user}:{password}@" if user else ""
        return f"mqtt://{creds}127.0.0.1:{self.port}"


MARKER = "freebeken-test/all-retained"


def all_retained_in(session, timeout: float = 5.0, keep_marker: bool = False) -> None:
    """Every retained message of the subscriptions ``session`` made so far has arrived: the broker
    sends them before anything published after the subscription on the same connection, here a
    marker of our own (what fleet.inventory relies on). Deterministic, where waiting for a quiet
    moment is a guess. The marker is taken out of ``session.messages`` again unless ``keep_marker``
    (when code under test may hold indexes into the list)."""
    import time

    marker = f"{MARKER}/{time.monotonic_ns()}"
    session.client.subscribe(marker, qos=1)  # the client's own: not a subscription that needs a barrier
    mark = len(session.messages)
    session.client.publish(marker, b"", qos=1).wait_for_publish(timeout)  # not Session.publish: tests stub it
    if session.wait_for(lambda t, p: t == marker, timeout, since=mark) is None:
        raise AssertionError("the broker did not echo the marker")
    if not keep_marker:
        with session._cv:
            session.messages[:] = [m for m in session.messages if m[0] != marker]


HA_VENV = Path(__file__).resolve().parents[1] / ".ha-venv"


def ha_python() -> Path | None:
    python = HA_VENV / "bin" / "python"
    return python if python.exists() and any(HA_VENV.glob(".ok-*")) else None


def ha_judge(items: list[dict]) -> list[dict]:
    """Judge discovery messages with Home Assistant's own schemas (in its own venv)."""
    import json
    import subprocess

    python = ha_python()
    assert python is not None, "run scripts/test: it creates .ha-venv with Home Assistant"
    result = subprocess.run(
        [str(python), str(Path(__file__).with_name("ha_judge.py"))],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


class HttpStub:
    """A loopback HTTP server for stand-ins of public services: GET ``path`` answers
    ``answer(path, base_url)`` (None: 404). ``hits`` lists the paths asked, in order."""

    def __init__(self, answer) -> None:
        import http.server
        import threading

        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                stub.hits.append(self.path)
                body = answer(self.path, stub.base)
                self.send_response(404 if body is None else 200)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.hits: list[str] = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        # a short poll: stop() waits for the loop to look (0.5 s by default, at every test's end)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def releases_stub(
    files: dict[str, bytes], tag: str = "1.18.0", *, pre: tuple[str, dict[str, bytes]] | None = None, state: dict | None = None
) -> HttpStub:
    """The GitHub releases API and its downloads for ``files`` (asset name -> bytes, sha256 given):
    point FREEBEKEN_RELEASES_URL at ``stub.base + "/releases"``. ``pre``: a newer pre-release (its tag
    and assets: listed, never downloaded); ``state["corrupt"]``: downloads arrive with one byte damaged."""
    import hashlib
    import json

    def assets(base: str, given: dict[str, bytes]) -> list[dict]:
        return [
            {
                "name": n,
                "size": len(d),
                "browser_download_url": f"{base}/dl/{n}",
                "digest": "sha256:" + hashlib.sha256(d).hexdigest(),
            }
            for n, d in given.items()
        ]

    def answer(path: str, base: str) -> bytes | None:
        if path == "/releases":
            newer = [{"tag_name": pre[0], "prerelease": True, "assets": assets(base, pre[1])}] if pre else []
            return json.dumps([*newer, {"tag_name": tag, "prerelease": False, "assets": assets(base, files)}]).encode()
        body = files.get(path[4:]) if path.startswith("/dl/") else None
        if body is not None and state is not None and state.get("corrupt"):
            return bytes([body[0] ^ 0xFF]) + body[1:]
        return body

    return HttpStub(answer)


def linked(url: str, reporter=None, *, timeout: float = 15.0):
    """The chip on ``url`` opened as freebeken opens every chip (``open_chip``), kept at 115200 baud
    for tests that count bytes on the line: (session, info). The port stays open for the test."""
    from freebeken.events import ListReporter
    from freebeken.flasher.operations import open_chip

    opened = open_chip(url, reporter if reporter is not None else ListReporter(), baudrate=115200, timeout=timeout)
    io = opened.__enter__()
    _KEPT_OPEN.append(opened)  # a collected context manager would close the port under the test
    return io.session, io.info


_KEPT_OPEN: list = []


def sim_chip(io) -> SimChip:
    """The simulated chip behind an opened chip (a ChipIO or a Session): its flash and its commands,
    without reaching four objects deep in every test."""
    session = getattr(io, "session", io)
    return session.port.line.chip


def sim_flash(io) -> bytes:
    """What the simulated chip's flash holds now."""
    return bytes(sim_chip(io).flash.data)


@functools.cache
def standin_apps() -> dict[str, bytes]:
    """256 KiB stand-in OpenBeken applications per chip, stored as releases store them (content is checked)."""
    return {chip: stored_app(chip, 0x40000) for chip in CHIPS}


def require_shared(*parts: str) -> None:
    """Inside a test: skip it (outside CI) or fail it (in CI) when ../shared/<part> is absent, as
    the ``shared`` marker does for a whole test."""
    import os

    import pytest

    missing = [part for part in parts if not (SHARED / part).exists()]
    if missing:
        reason = "../shared/" + ", ../shared/".join(missing) + " is not present"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI runs beside shared/ and must not skip real-data tests")
        pytest.skip(reason)
