"""README's "Try it without hardware", run as a newcomer runs it: its command lines are taken from
the README exactly as written and typed into shells (the first terminal keeps its folder and
environment between lines; the servers it says to start elsewhere run beside it), through to a
Home Assistant entity verified on the local broker, for ``convert`` and for the page (driven as
the README describes it). The only things arranged: a `.venv/bin/activate` that puts this
checkout's freebeken on PATH, HOME in a temporary folder, and no browser opened by `freebeken web`."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import all_retained_in

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def section() -> list[tuple[str, list[str]]]:
    """(the words before it, its command lines) for each command block of the section."""
    text = README.read_text()
    body = text.split("## Try it without hardware", 1)[1].split("\n## ", 1)[0]
    blocks: list[tuple[str, list[str]]] = []
    words: list[str] = []
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("    "):
            block = []
            while i < len(lines) and lines[i].startswith("    "):
                block.append(lines[i][4:])
                i += 1
            blocks.append((" ".join(words), block))
            words = []
        else:
            words.append(lines[i])
            i += 1
    return blocks


class Terminal:
    """A shell a person types into: lines run one after another, folder and environment kept."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def run(self, line: str, timeout: float = 240) -> tuple[int, str]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"{line}\nprintf '\\n__rc=%s__\\n' $?\n")  # on its own line: output may lack a newline
        self.proc.stdin.flush()
        out: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.proc.stdout.readline()
            m = re.fullmatch(r"__rc=(\d+)__\n", got)
            if m:
                return int(m.group(1)), "".join(out)
            out.append(got)
        raise AssertionError(f"{line!r} did not finish in {timeout} s:\n{''.join(out)}")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


class Server:
    """A line the README says runs until Ctrl-C, in its own terminal; its output is kept."""

    def __init__(self, line: str, cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["bash", "-c", f"exec {line}"], cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            self.output.append(line)

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, "".join(self.output))
            if m:
                return m
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not seen:\n{''.join(self.output)}")

    def stop(self) -> None:  # Ctrl-C
        self.proc.send_signal(2)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


def retained(port: int, topic_filter: str) -> dict[str, bytes]:
    """What the broker keeps (retained) under ``topic_filter``: the discovery Home Assistant reads."""
    from freebeken.ha.broker import Broker, Session

    with Session(Broker("127.0.0.1", port)) as session:
        session.subscribe(topic_filter)
        all_retained_in(session)
        return {t: p for t, p, r in session.messages if r}


def discovered(payload: bytes, name: str) -> bool:
    """A switch's discovery config for the device ``name``: with its state and command topics."""
    config = json.loads(payload)
    unique = str(config.get("uniq_id") or config.get("unique_id") or "").lower()
    return (
        unique.startswith(name)
        and bool(config.get("stat_t") or config.get("state_topic"))
        and bool(config.get("cmd_t") or config.get("command_topic"))
    )


@pytest.fixture
def newcomer(tmp_path, monkeypatch):
    """A home folder, and a checkout whose `.venv/bin/activate` puts this freebeken on PATH."""
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto missing: run scripts/test")
    for port in (47883, 47881, 47880):  # the README's fixed ports
        if not port_free(port):
            pytest.skip(f"port {port} (in the README's commands) is taken on this machine")
    home, repo = tmp_path / "home", tmp_path / "repo"
    bin_dir = repo / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "freebeken").write_text(f'#!/bin/sh\nPYTHONPATH={ROOT / "src"} exec {sys.executable} -m freebeken "$@"\n')
    (bin_dir / "freebeken").chmod(0o755)
    (bin_dir / "activate").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "BROWSER": "true",
        "FREEBEKEN_HOME": str(home / "data"),
        "PATH": f"{Path(MOSQUITTO).parent}:{os.environ['PATH']}",
    }
    env.pop("PYTHONPATH", None)
    activated = {**env, "PATH": f"{bin_dir}:{env['PATH']}"}  # another terminal, after `source .venv/bin/activate`
    return repo, home, env, activated


def test_try_it_without_hardware_convert_and_the_page(newcomer):
    repo, home, env, activated = newcomer
    blocks = section()
    commands = [line for _, block in blocks for line in block]
    assert commands[0] == "source .venv/bin/activate" and any(c.startswith('freebeken convert -p "sim://') for c in commands)
    first = Terminal(repo, env)
    servers: list[Server] = []
    try:
        page_url = None
        for words, block in blocks:
            for line in block:
                if "until Ctrl-C" in words:  # another terminal (the broker, a powered plug) or the page
                    cwd = home / "freebeken-try" if "cd ~/freebeken-try" in words or line.startswith("freebeken web") else repo
                    server = Server(line, cwd, activated)
                    servers.append(server)
                    if line.startswith("mosquitto"):
                        wait_port(47883)
                    elif line.startswith("freebeken sim device"):
                        server.wait_for(r"device: 127\.0\.0\.1:47881")
                    elif line.startswith("freebeken web"):
                        page_url = server.wait_for(r"freebeken page: (\S+)").group(1)
                    continue
                print(f"$ {line}", flush=True)
                rc, out = first.run(line)
                print(out, flush=True)
                assert rc == 0, f"{line}\n{out}"
                if line.startswith("freebeken convert"):
                    assert "The simulated plug is powered on" in out and "serves at 127.0.0.1:" in out
                    assert re.search(r"The plug's address: 127\.0\.0\.1:\d+", out)  # the host:port it said on the broker
                    assert "Home Assistant: switch.try_plug_1" in out and "done  home assistant" in out
                    config = retained(47883, "homeassistant/switch/#")
                    assert any(discovered(v, "try_plug") for v in config.values()), config
                elif line.startswith("freebeken verify"):
                    assert "matches" in out.lower() or "identical" in out.lower(), out
                elif line.startswith("curl"):
                    assert '"ok":true' in out
                elif line.startswith("freebeken device pins"):
                    assert re.search(r"P7\W+Rel\W+1\W+1\b", out), out  # the relay's channel is on
                    state = json.loads(urllib.request.urlopen("http://127.0.0.1:47881/sim/state", timeout=5).read())
                    assert any(w["part"] == "relay" and w["on"] for w in state["wires"]), state  # the press switched it
        assert page_url is not None
        the_page(page_url, home / "freebeken-try" / "OpenBK7231N_QIO_standin.bin")
    finally:
        first.close()
        for server in reversed(servers):
            server.stop()


def the_page(url: str, firmware: Path) -> None:
    """The README's words for the page, clicked as written."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium missing: run scripts/test")
    from playwright.sync_api import sync_playwright

    from test_web import FLAGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(bypass_csp=True)
        page.goto(url)
        page.get_by_role("button", name="Open it and wire it up").click()
        page.select_option("#port", label="Simulated BK7231N plug")
        page.get_by_role("button", name="Connect and back up").click()
        page.get_by_role("button", name="Continue: the pins").click(timeout=60000)
        page.get_by_role("button", name="Use these pins and continue").click()
        flash = page.locator("section[data-step=flash]")
        flash.get_by_label("My own file").check()
        page.set_input_files("#firmware", str(firmware))
        flash.get_by_label("Home Wi-Fi name").fill("HomeWiFi")
        flash.get_by_label("Home Wi-Fi password").fill("try-it-out")
        flash.get_by_label("MQTT broker, e.g.").fill("mqtt://127.0.0.1:47883")
        flash.get_by_label("Name in Home Assistant").fill("Page Plug")
        flash.get_by_role("button", name="Flash", exact=True).click()
        page.wait_for_selector("#flash-result.ok", timeout=120000)
        page.get_by_role("button", name="Continue: the plug on your Wi-Fi").click()
        assert "it boots from" in page.inner_text("[data-testid=sim-plug]")
        page.get_by_role("button", name="Wait for the plug").click()
        page.wait_for_selector("[data-testid=countdown]:not([hidden])")
        page.wait_for_selector("#first-boot-result.ok", timeout=120000)
        address = page.evaluate("page.view.simulated.address")
        result = page.inner_text("#first-boot-result")
        assert f"is at {address}" in result and "switch.page_plug_1" in result, result
        page.get_by_role("button", name="Press its button").click()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = json.loads(urllib.request.urlopen(f"http://{address}/sim/state", timeout=5).read())
            if any(w["part"] == "relay" and w["on"] for w in state["wires"]):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the page's button press did not switch the relay: {state}")
        config = retained(47883, "homeassistant/switch/#")
        assert any(discovered(v, "page_plug") for v in config.values()), config
        page.get_by_role("button", name="Continue →").first.click()
        page.wait_for_selector("section[data-step=done]:not([hidden])")
        assert "switch.page_plug_1" in page.inner_text("[data-testid=summary]")
        page.get_by_role("button", name="Way back: restore the backup").click()
        page.wait_for_selector("section[data-step=restore]:not([hidden])")
        browser.close()
