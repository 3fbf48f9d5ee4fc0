"""The HTTP edge to an OpenBeken device, shaped by its firmware (reference §2.1):

* the request (headers and body) goes out in **one** write - the firmware treats the request as
  complete as soon as a read returns less than its buffer;
* one request per connection; the reply has no Content-Length and ends when the device closes;
* the status line may end in a bare LF, and the reason phrase is always "OK".

Generic clients (httpx/h11) split writes and insist on framing the firmware does not send, so
this is a deliberately small socket client. ``Transport`` is the interface a test double or
another transport would implement.
"""

from __future__ import annotations

import base64
import socket
import time
from dataclasses import dataclass
from typing import Protocol

from ..errors import DeviceAuthError, DeviceError, DeviceUnreachable, UsageError


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Transport(Protocol):
    def request(self, method: str, path: str, body: bytes | None = None) -> Response: ...


def parse_response(raw: bytes) -> Response:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise DeviceError(f"Not an HTTP reply: {raw[:60]!r}", hint="Is this really an OpenBeken device?") from None
    headers = {}
    for line in lines[1:]:
        key, _, value = line.decode("latin-1").partition(":")
        headers[key.strip().lower()] = value.strip()
    return Response(status, headers, body)


def split_address(address: str, default_port: int = 80) -> tuple[str, int]:
    """``192.168.1.5`` or ``192.168.1.5:8080`` (a bare IPv6 address keeps its colons)."""
    host, _, port = address.strip().rpartition(":") if address.count(":") == 1 else (address.strip(), "", "")
    if not host or any(c.isspace() or c in "/?#@" for c in host):
        raise UsageError(
            f"Not a device address: {address!r}",
            hint="Use the plug's IP address or name, e.g. 192.168.1.50 or 192.168.1.50:8080.",
        )
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise UsageError(
            f"Not a valid port in {address!r}",
            hint="The port after ':' must be a number from 1 to 65535, e.g. 192.168.1.50:8080.",
        )
    return host, int(port) if port else default_port


class SocketTransport:
    """``timeout`` bounds each socket operation. ``limit`` (seconds for the whole exchange) and
    ``max_bytes`` guard against servers that never stop sending - which matters when a network
    scan asks devices that are not OpenBeken at all (a camera streaming video, say)."""

    def __init__(
        self,
        host: str,
        password: str | None = None,
        timeout: float = 5.0,
        *,
        limit: float | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self.host, self.port = split_address(host)
        self.password = password
        self.timeout = timeout
        self.limit = limit
        self.max_bytes = max_bytes

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None) -> Response:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", "Connection: close"]
        if self.password:
            token = base64.b64encode(f"admin:{self.password}".encode()).decode()
            lines.append(f"Authorization: Basic {token}")
        if body is not None:
            lines += ["Content-Type: text/plain", f"Content-Length: {len(body)}"]
        packet = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        deadline = time.monotonic() + self.limit if self.limit else None
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(packet)
                chunks, size = [], 0
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                    if (self.max_bytes and size > self.max_bytes) or (deadline and time.monotonic() > deadline):
                        raise DeviceError(f"{self.address} keeps sending: not an OpenBeken reply")
        except TimeoutError:
            raise DeviceUnreachable(f"{self.address} did not answer within {self.timeout:.0f} s") from None
        except OSError as e:
            raise DeviceUnreachable(f"Cannot reach {self.address}: {e.strerror or e}") from None
        response = parse_response(b"".join(chunks))
        if response.status == 401:
            if self.password:
                raise DeviceAuthError(
                    f"{self.address} refused the web password",
                    hint="The password is wrong: check it (the user name is always 'admin').",
                )
            raise DeviceAuthError(f"{self.address} refused the request: it needs its web password")
        return response
