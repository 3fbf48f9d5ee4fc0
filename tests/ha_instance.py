"""A real Home Assistant (from .ha-venv) on loopback, bootstrapped over its REST API:

1. configuration.yaml with http on 127.0.0.1:<free port>, api, config, onboarding (no internet
   integrations), started with --skip-pip (scripts/test installed the requirements);
2. onboarding: POST /api/onboarding/users creates the owner and returns an auth code, which
   POST /auth/token exchanges for an access token;
3. the MQTT integration: a config flow (POST /api/config/config_entries/flow, handler "mqtt",
   then the "broker" step with host and port) creates the config entry.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

CONFIG = """homeassistant:
  name: freebeken-e2e
  latitude: 0
  longitude: 0
  elevation: 0
  unit_system: metric
  time_zone: UTC
  country: GB
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
config:
onboarding:
logger:
  default: warning
"""


class HomeAssistant:
    def __init__(self, python: Path, folder: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.folder = folder
        (folder / "configuration.yaml").write_text(CONFIG.format(port=port))
        self.log = open(folder / "ha.log", "w")
        self.proc = subprocess.Popen(
            [str(python), "-m", "homeassistant", "-c", str(folder), "--skip-pip"], stdout=self.log, stderr=subprocess.STDOUT
        )
        self.token = ""
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Home Assistant exited; see {folder / 'ha.log'}")
            try:
                self.request("GET", "/api/onboarding")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise RuntimeError("Home Assistant did not start within 180 s")

    def request(self, method: str, path: str, body: object = None, form: dict | None = None) -> object:
        data, headers = None, {}
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
        return json.loads(text) if text else None

    def onboard(self) -> None:
        client_id = self.url + "/"
        user = self.request(
            "POST",
            "/api/onboarding/users",
            {"client_id": client_id, "name": "Test", "username": "test", "password": "freebeken-test", "language": "en"},
        )
        token = self.request(
            "POST", "/auth/token", form={"grant_type": "authorization_code", "code": user["auth_code"], "client_id": client_id}
        )
        self.token = token["access_token"]

    def add_mqtt(self, port: int) -> dict:
        flow = self.request("POST", "/api/config/config_entries/flow", {"handler": "mqtt", "show_advanced_options": False})
        while flow.get("type") == "form":
            flow = self.request(
                "POST", f"/api/config/config_entries/flow/{flow['flow_id']}", {"broker": "127.0.0.1", "port": port}
            )
        if flow.get("type") != "create_entry":
            raise RuntimeError(f"MQTT setup in Home Assistant failed: {flow}")
        return flow

    def state(self, entity_id: str) -> dict | None:
        try:
            return self.request("GET", f"/api/states/{entity_id}")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def wait_state(self, entity_id: str, accept, timeout: float = 30) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state(entity_id)
            if state is not None and accept(state["state"]):
                return state
            time.sleep(0.1)
        return self.state(entity_id)

    def call(self, domain: str, service: str, data: dict) -> object:
        return self.request("POST", f"/api/services/{domain}/{service}", data)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
