"""Request guards of the dashboard: host check, API token, body size, CSRF, security headers.

* Bound to loopback, requests must name a loopback host (no DNS rebinding).
* With a token (required off loopback) every request must carry it: header
  ``Authorization: Bearer T`` or ``X-Dctwin-Token: T``, or the cookie set
  when a browser first opens ``/?token=T``.
* Request bodies over ``max_body_bytes`` are refused with 413.
* Forms and JSON posts carry a CSRF token: an HMAC, under a key only the
  server knows, of the browser's session cookie and the dashboard's own
  origin. A page on another port can plant cookies but cannot compute the
  token; a post whose ``Origin`` (or ``Referer``) names another origin is
  refused outright. Only a header that carries the right API token skips it.
* Files of a run are served only when every path component is a real folder
  or a regular file inside the run folder (no symlinks, no devices).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

__all__ = ["CSP", "CSRF_COOKIE", "LOOPBACK_HOSTS", "TOKEN_COOKIE", "Csrf", "Guard", "TooLarge", "csrf_ok",
           "header_token_ok", "new_csrf", "read_regular"]

CSRF_COOKIE = "dctwin_session"
TOKEN_COOKIE = "dctwin_token"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def new_csrf() -> str:
    """A new session id for the session cookie."""
    return secrets.token_urlsafe(24)


def csrf_ok(cookie: str | None, submitted: str | None) -> bool:
    """Plain equality of two secrets in constant time (kept for callers outside the dashboard)."""
    return bool(cookie) and bool(submitted) and hmac.compare_digest(str(cookie), str(submitted))


def own_origin(headers: dict[str, str], scheme: str) -> str:
    return f"{scheme}://{headers.get('host', '').strip().lower()}"


def _origin_of(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        u = urlsplit(url)
    except ValueError:
        return "invalid"
    return f"{u.scheme}://{u.netloc}".lower()


class Csrf:
    """CSRF tokens bound to the session cookie and the dashboard's origin, under a per-process key."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def token(self, session: str, origin: str) -> str:
        mac = hmac.new(self._key, f"{session}\n{origin}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def check(self, session: str | None, submitted: str | None, headers: dict[str, str], scheme: str) -> str | None:
        """None when the post is genuine, else why it is refused."""
        origin = own_origin(headers, scheme)
        sent = headers.get("origin") or (_origin_of(headers["referer"]) if headers.get("referer") else None)
        if sent is not None and sent.lower() != origin:
            return "the request comes from another origin"
        if not session or not submitted:
            return "the CSRF token is missing"
        if not hmac.compare_digest(self.token(session, origin).encode(), str(submitted).encode()):
            return "the CSRF token is wrong or stale"
        return None


def header_token_ok(headers: dict[str, str], token: str | None) -> bool:
    """True when a header (not a cookie, which browsers attach to forged requests) carries the API token."""
    if token is None:
        return False
    auth = headers.get("authorization", "")
    offered = [auth[7:].strip()] if auth.lower().startswith("bearer ") else []
    offered.append(headers.get("x-dctwin-token", ""))
    return any(o and hmac.compare_digest(o.encode(), token.encode()) for o in offered)


def read_regular(folder: Path, *parts: str, max_bytes: int = 256 << 20) -> bytes | None:
    """The bytes of ``folder/parts...`` if every component is a real directory or regular file (no
    symlink anywhere below ``folder``), else None. Opened with O_NOFOLLOW, checked with fstat."""
    flags_dir = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fds = []
    try:
        fds.append(os.open(folder, flags_dir))
        for part in parts[:-1]:
            fds.append(os.open(part, flags_dir, dir_fd=fds[-1]))
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0),
                     dir_fd=fds[-1])
        fds.append(fd)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            return None
        chunks, left = [], st.st_size
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        for fd in fds:
            os.close(fd)


def _host_only(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _send_json(send, status: int, detail: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Pure ASGI middleware: host check, token check, body-size limit and security headers."""

    def __init__(self, app, *, token: str | None, allowed_hosts: Iterable[str] | None,
                 max_body_bytes: int = 64 * 1024) -> None:
        self.app = app
        self.token = token
        self.allowed_hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}
        self.max_body_bytes = max_body_bytes

    def _token_ok(self, scope) -> bool:
        if self.token is None:
            return True
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        offered = []
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            offered.append(auth[7:].strip())
        offered.append(headers.get("x-dctwin-token", ""))
        for part in headers.get("cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == TOKEN_COOKIE:
                offered.append(v)
        from urllib.parse import parse_qs

        offered += parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])
        return any(o and hmac.compare_digest(o.encode(), self.token.encode()) for o in offered)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.allowed_hosts is not None and _host_only(headers.get("host", "")) not in self.allowed_hosts:
            return await _send_json(send, 400, "invalid Host header")
        if not self._token_ok(scope):
            return await _send_json(send, 401, "missing or wrong API token", [(b"www-authenticate", b"Bearer")])
        length = headers.get("content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body_bytes
            except ValueError:
                return await _send_json(send, 400, "malformed Content-Length")
            if too_big:
                return await _send_json(send, 413, f"request body larger than {self.max_body_bytes} bytes")
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise TooLarge()
            return message

        started = False
        set_token_cookie = self.token is not None and b"token=" in scope.get("query_string", b"")

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
                         (b"x-frame-options", b"DENY"), (b"cross-origin-opener-policy", b"same-origin")]
                names = {k.lower() for k, _ in message.get("headers", [])}
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", CSP.encode()))
                if set_token_cookie:
                    extra.append((b"set-cookie", f"{TOKEN_COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
                                   .encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except TooLarge:
            if not started:
                await _send_json(send, 413, f"request body larger than {self.max_body_bytes} bytes")


class TooLarge(Exception):
    pass
