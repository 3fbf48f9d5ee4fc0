"""HTTP front of the simulated OBK device, byte-for-byte in the firmware's style:
one request per connection, ``HTTP/1.1 <code> OK`` + bare LF, CORS headers, ``Connection: close``,
no Content-Length (the body ends when the socket closes), Basic auth as user ``admin``."""

from __future__ import annotations

import base64
import json
import socket
import socketserver
import threading
from urllib.parse import parse_qs, urlsplit

from .console import CommandError
from .device import ObkDevice

CORS = "Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Headers: Origin, X-Requested-With, Content-Type, Accept"


def head(code: int, mime: str) -> bytes:
    return f"HTTP/1.1 {code} OK\nContent-type: {mime}\r\n{CORS}\r\nConnection: close\r\n\r\n".encode()


UNAUTHORIZED = (
    b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="OpenBeken HTTP Server"\r\n'
    b"Content-type: text/plain\r\nConnection: close\r\n\r\n401 Unauthorized"
)


def html(dev: ObkDevice, body: str, page: str | None = None) -> bytes:
    """A page framed as the firmware's http_html_start does: the long name is its title and heading."""
    title = dev.long_name + (f" - {page}" if page else "")
    return (
        head(200, "text/html")
        + (
            f'<!DOCTYPE html><html><head><title>{title}</title><meta charset="utf-8"></head><body><div id="main">'
            f"<h1><a>{dev.long_name}</a></h1>{body}</div></body></html>"
        ).encode()
    )


def respond(dev: ObkDevice, method: str, target: str, headers: dict[str, str], body: bytes) -> bytes:
    """The whole reply for one request."""
    if getattr(dev, "rebooting", False):
        return b""  # restarting: nobody answers (the connection just closes)
    if method == "OPTIONS":
        return head(200, "text/plain")
    if dev.web_password and not _authorised(headers.get("authorization", ""), dev.web_password):
        return UNAUTHORIZED
    url = urlsplit(target)
    path, query = url.path, {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    json_head = head(200, "application/json")
    if path == "/api/info":
        return json_head + dev.info_json().encode()
    if path == "/api/pins" and method == "GET":
        return json_head + dev.pins_json().encode()
    if path == "/api/pins" and method == "POST":
        return json_head + _post_pins(dev, body)
    if path == "/api/channels" and method == "GET":
        return json_head + dev.channels_json().encode()
    if path == "/api/cmnd" and method == "POST":
        try:
            res = dev.execute(body.decode("utf-8", "replace"))
        except CommandError as e:
            return head(e.code, "application/json") + f'{{"error":{e.code}, "msg":"{e.msg}", "res":{_reply(e.res)}}}'.encode()
        return json_head + ('{"success":200, "msg":"OK", "res":' + _reply(res) + "}").encode()
    if path == "/cm":
        cmnd = query.get("cmnd", "")
        if method in ("POST", "PUT") and not cmnd:
            cmnd = {k: v[-1] for k, v in parse_qs(body.decode()).items()}.get("cmnd", "")
        runs = 2 if len(cmnd) > 123 else 1  # the firmware runs long /cm commands twice
        answer: object = {}
        for _ in range(runs):
            try:
                answer = dev.execute(cmnd)
            except CommandError:
                answer = {}
        return json_head + _reply(answer).encode()
    if path == "/api/reboot" and method == "POST":
        dev.execute("restart")
        return json_head + b'{"reboot":3}'
    if path == "/api/ota" and method == "POST":
        # As the firmware does: the bytes go to the OTA partition unjudged; the bootloader decides at boot.
        if dev.ota_fault == "die":
            dev.execute("restart")  # power lost mid-upload: no answer, and the old build boots again
            return b""
        with dev.lock:
            dev.pending_ota = body
        return json_head + f'{{"size":{len(body)}}}'.encode()
    if path == "/cfg_mqtt_set":
        with dev.lock:
            dev.mqtt["host"] = query.get("host", "")  # always written, cleared when absent
            if query.get("port"):
                dev.mqtt["port"] = int(query["port"])
            for key in ("client", "group", "user", "password"):
                if query.get(key):  # empty values are ignored: they cannot be cleared this way
                    dev.mqtt[key] = query[key]
            dev._notify("mqtt", dict(dev.mqtt))
        return html(dev, 'MQTT settings changed. <a href="index">Return to menu</a>')
    if path == "/cfg_wifi_set":
        with dev.lock:
            dev.wifi = {"ssid": query.get("ssid", ""), "pass": query.get("pass", "")}  # type: ignore[attr-defined]
            if "web_admin_password_enabled" not in query:
                dev.web_password = ""  # the firmware clears the web password unless told otherwise
        return html(dev, "Wi-Fi settings changed; rebooting into station mode.")
    if path == "/startup_command":  # the firmware's page: stores "data" as sent (URL-decoded)
        if "startup_cmd" in query:
            dev.startup = query.get("data", "")[:1567]
        return html(dev, "<h3>Command changed!</h3>" if "startup_cmd" in query else "", "Set startup command")
    if path == "/cfg_pins":
        return html(dev, _cfg_pins(dev, query))
    if path == "/ha_discovery":
        agent = getattr(dev, "mqtt_agent", None)
        running = agent is not None and agent.connected.is_set()
        if running:
            dev._notify("discovery", {"prefix": query.get("prefix", "homeassistant")[:31]})
        return head(200, "text/plain") + (b"MQTT discovery queued." if running else b"MQTT not running.")
    if path.startswith("/sim/"):
        return _simulator(dev, path, query)
    if path in ("/", "/index") and query.get("state") == "1":  # the part the page refreshes
        names = sorted(dev.drivers)
        listing = f" ({', '.join(names)})" if names else ""
        return head(200, "text/html") + f"<h5>{len(names)} drivers active{listing}, total: 45</h5>".encode()
    if path in ("/", "/index"):
        return html(dev, "")
    # the firmware answers unknown paths with 200 and a page titled "<name> - Not found" (captured)
    return html(dev, 'Not found.<br/><a href="index">Home</a>', "Not found")


def _simulator(dev: ObkDevice, path: str, query: dict[str, str]) -> bytes:
    """Simulator-only endpoints (not in OBK): the physical side, for a virtual person."""
    board = dev.board
    if path == "/sim/events":
        return head(200, "application/json") + json.dumps(board.take_events()).encode()
    if path == "/sim/state":
        wires = [{"pin": w.pin, "part": w.part, "name": w.name, "on": board.is_on(w.pin)} for w in board.wires]
        return head(200, "application/json") + json.dumps({"board": board.name, "wires": wires}).encode()
    if path == "/sim/press":
        buttons = [w for w in board.wires if w.part == "button"]
        n = int(query.get("button", "1"))
        if not 1 <= n <= len(buttons):
            return head(404, "application/json") + b'{"error":"no such button"}'
        dev.click(buttons[n - 1].pin)
        return head(200, "application/json") + b'{"ok":true}'
    return head(404, "text/plain") + b"unknown simulator endpoint"


def _reply(res: object) -> str:
    if isinstance(res, (dict, list)):
        return json.dumps(res, separators=(",", ":"))
    return str(res)


def _authorised(header: str, password: str) -> bool:
    if not header.lower().startswith("basic "):
        return False
    try:
        user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return False
    return user == "admin" and pw == password


def _post_pins(dev: ObkDevice, body: bytes) -> bytes:
    try:
        data = json.loads(body or b"{}")
    except json.JSONDecodeError:
        return b'{"error":400, "msg":"Bad JSON"}'
    with dev.lock:
        for pin, role in enumerate(data.get("roles", [])[:29]):
            dev.roles[pin] = int(role)
        for pin, ch in enumerate(data.get("channels", [])[:29]):
            dev.channels[pin] = int(ch)
        if "deviceFlag" in data and 0 <= int(data["deviceFlag"]) <= 10:
            dev.flags |= 1 << int(data["deviceFlag"])  # sets, never clears
        if "deviceCommand" in data:
            dev.execute(f'StartupCommand "{data["deviceCommand"]}" 1')
        dev._refresh_outputs()
    return b'{"success":200, "msg":"OK"}'


def _cfg_pins(dev: ObkDevice, query: dict[str, str]) -> str:
    reqs = changed = 0
    with dev.lock:
        for key, value in query.items():
            reqs += 1
            try:
                if key.isdigit():
                    pin, new = int(key), int(value)
                    changed += dev.roles[pin] != new
                    dev.roles[pin] = new
                elif key[:1] in "re" and key[1:].isdigit():
                    pin, new = int(key[1:]), int(value)
                    target = dev.channels if key[0] == "r" else dev.channels2
                    changed += target[pin] != new
                    target[pin] = new
            except (ValueError, IndexError):
                continue
        dev._refresh_outputs()
    if changed:
        dev._notify("pins", {})
    return f"Pins update - {reqs} reqs, {changed} changed!"


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                data += chunk
            header_blob, _, body = data.partition(b"\r\n\r\n")
            lines = header_blob.decode("latin-1").split("\r\n")
            method, target, _ = (lines[0].split(" ") + ["", ""])[:3]
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
            length = int(headers.get("content-length", "0") or 0)
            while len(body) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body += chunk
            device: ObkDevice = self.server.device  # type: ignore[attr-defined]
            reply = respond(device, method, target, headers, body)
            sock.sendall(reply)
        except (OSError, ValueError):
            pass
        finally:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class DeviceServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, device: ObkDevice, host: str = "127.0.0.1", port: int = 0, advertise_port: bool = False) -> None:
        super().__init__((host, port), _Handler)
        self.device = device
        # Many simulated plugs share one address here, told apart by port: with ``advertise_port``
        # the device reports "host:port" as its IP (a real plug is always at host:80).
        device.ip = f"{host}:{self.server_address[1]}" if advertise_port else host
        self._thread: threading.Thread | None = None
        from .mqtt import MqttAgent  # the firmware's MQTT client, idle until a broker is set

        self.mqtt = MqttAgent(device)

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> DeviceServer:
        # a short poll: stop() (shutdown) waits for the loop to look, and tests stop hundreds of plugs
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """The simulated plug goes away as a real one does when unplugged (or its process is
        killed): its MQTT connection just drops, so the broker publishes its last will."""
        self.mqtt.power_loss()
        self.shutdown()
        self.server_close()

    def __enter__(self) -> DeviceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
