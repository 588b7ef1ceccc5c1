"""The web dashboard: list runs, open their figures, compare runs, start a run and watch it.

``create_app(runs_dir, token)`` builds the FastAPI app; ``serve(...)`` runs it
with uvicorn, on 127.0.0.1 by default. Any other interface needs a token.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from dctwin.errors import InputError
from dctwin.extras import require

for _module in ("fastapi", "multipart", "uvicorn"):
    require(_module, "the web dashboard (dctwin serve)")

from dctwin.web.app import create_app  # noqa: E402

__all__ = ["create_app", "is_loopback", "serve"]

MIN_TOKEN_CHARS = 16


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_listen(runs_dir: Path, host: str, port: int) -> None:
    """The runs folder is a folder and host:port can be bound: a clear error here, not a traceback from the server."""
    import socket

    if not 0 <= port <= 65535:
        raise InputError("not a TCP port", field="port", value=port, allowed="0 to 65535")
    if runs_dir.exists() and not runs_dir.is_dir():
        raise InputError("not a folder", file=str(runs_dir), field="runs", allowed="a folder of run directories")
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(addr)
    except (OSError, UnicodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise InputError(f"cannot listen there: {why}", field="host", value=f"{host}:{port}",
                         allowed="an address of this machine and a free port") from None


def serve(runs_dir: str | Path, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
          live=None) -> None:
    """Run the dashboard until interrupted. Binding off loopback requires a token of 16+ characters."""
    import uvicorn

    if not is_loopback(host) and not token:
        raise InputError("binding to a non-loopback interface needs an API token", field="host", value=host,
                             allowed=f"127.0.0.1, or pass --token (at least {MIN_TOKEN_CHARS} characters)")
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise InputError("API token too short", field="token", allowed=f"at least {MIN_TOKEN_CHARS} characters")
    _check_listen(Path(runs_dir), host, port)
    allowed = None
    if not token:  # loopback without a token: the loopback names, plus the address actually bound
        from dctwin.web.security import LOOPBACK_HOSTS

        bound = host.strip().lower()
        allowed = [*LOOPBACK_HOSTS, bound, f"[{bound.strip('[]')}]" if ":" in bound else bound]
    app = create_app(Path(runs_dir), token=token, allowed_hosts=allowed, live=live)
    where = f"http://{host}:{port}/" + ("?token=<your token>" if token else "")
    print(f"dctwin dashboard on {where} (runs from {Path(runs_dir).resolve()}); Ctrl-C stops it")
    if live is not None:
        print(f"live view of {live.source} on http://{host}:{port}/live")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, limit_concurrency=512,
                timeout_keep_alive=5)
