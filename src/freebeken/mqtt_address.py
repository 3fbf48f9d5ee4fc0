"""Where an MQTT broker is: a value parsed from ``mqtt://[user:password@]host[:port]``. It sits below
both ``ha/`` (which talks to the broker) and ``firmware/`` (which writes it into a plug's
configuration), so neither reaches into the other for it."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .errors import UsageError


@dataclass(frozen=True)
class Broker:
    host: str
    port: int = 1883
    user: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Broker:
        hint = "Use mqtt://[user:password@]host[:port], e.g. mqtt://192.168.1.10"
        try:
            parts = urlsplit(url if "://" in url else f"mqtt://{url}")
            port = parts.port or 1883
        except ValueError as e:  # a port that is no number or out of range
            raise UsageError(f"Not a broker URL: {url!r} ({e})", hint=hint) from None
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise UsageError(f"Not a broker URL: {url!r}", hint=hint)
        return cls(
            parts.hostname,
            port,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
        )

    def __str__(self) -> str:
        return f"mqtt://{self.user + '@' if self.user else ''}{self.host}:{self.port}"
