"""Who may talk to the studio: an ASGI middleware in front of every route.

- **Host**: on a loopback address the ``Host`` header must be exactly a loopback name
  (127.0.0.1, localhost, [::1]; not a name that only begins like one), so a page on another
  site cannot reach the studio by DNS rebinding.
- **Token** (required whenever the studio listens beyond loopback): every request carries it,
  as ``Authorization: Bearer TOKEN``, an ``X-Studio-Token`` header, or the cookie set when the
  page is opened once with ``?token=TOKEN`` (the address the studio prints), as Jupyter does.
- **Origin**: a state-changing request (POST, PUT, PATCH, DELETE) whose ``Origin`` is not the
  studio's own, or that a browser marks as cross-site (``Sec-Fetch-Site``), is refused, token or
  not: no other site can start jobs or delete results. The studio's own origins come from the
  address it was started on, never from the request: on loopback, a loopback name at the
  studio's port; beyond it, also the address the page was opened at (its ``Host``: a page
  that reached the studio by rebinding its own name has no token).

Every response also carries a content security policy that lets the page load nothing from
anywhere but the studio itself (an exported listening page may also use its own inline style,
by its hash).
"""

from __future__ import annotations

import json
import secrets
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .config import LOOPBACK, StudioConfig, is_loopback

COOKIE = "audiostyle_studio"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def security_headers(style: str = "") -> list[tuple[bytes, bytes]]:
    """The headers of every response: a content security policy that loads nothing from
    anywhere but the studio (``style``: one more source for styles, e.g. the hash of a page's
    own inline style), and no sniffing, referrers or framing."""
    policy = ("default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
              f"style-src 'self'{' ' + style if style else ''}; script-src 'self'; "
              "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
    return [(b"content-security-policy", policy.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY")]


HEADERS = security_headers()


class Guard:
    """Wraps the ASGI ``app`` of the studio that ``config`` describes (``config.token`` None:
    loopback only, no token); ``inline_styles`` maps a path prefix to the one more style
    source its pages may use (:func:`security_headers`)."""

    def __init__(self, app: Any, config: StudioConfig, *,
                 inline_styles: dict[str, str] | None = None) -> None:
        self.app = app
        self.token = config.token
        self.config = config
        self.headers = {prefix: security_headers(style)
                        for prefix, style in (inline_styles or {}).items()}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope["headers"]}
        problem = self._problem(scope, headers)
        if problem is not None:
            await _refuse(send, *problem)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if self.token and scope["method"] == "GET" and "token" in query:
            rest = {k: v for k, v in query.items() if k != "token"}
            await _redirect(send, scope["path"] + ("?" + urlencode(rest, doseq=True)
                                                   if rest else ""), self.token)
            return

        headers = next((h for prefix, h in self.headers.items()
                        if scope["path"].startswith(prefix)), HEADERS)

        async def secured(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, secured)

    def _problem(self, scope: dict, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if self.token is None and not is_loopback(split_authority(host)[0]):
            return 403, (f"host {host!r} refused: this studio answers only on its loopback "
                         "address (start it with --host and a token to serve other hosts)")
        if self.token is not None and not self._has_token(scope, headers):
            return 401, ("an access token is required: open the address the studio printed "
                         "(…/?token=…), or send it as 'Authorization: Bearer TOKEN'")
        if scope["method"] not in SAFE_METHODS:
            origin = headers.get("origin")
            if origin is not None and not self._own_origin(origin, host, scope):
                return 403, f"cross-origin request from {origin} refused"
            if headers.get("sec-fetch-site") in ("cross-site", "same-site"):
                return 403, "cross-site request refused"
        return None

    def _own_origin(self, origin: str, host: str, scope: dict) -> bool:
        """Whether ``origin`` is one of the studio's own (see the module docstring)."""
        try:
            parts = urlsplit(origin)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme)
        except ValueError:  # a port that is not a number
            return False
        if parts.scheme != scope.get("scheme", "http") or parts.path or parts.query:
            return False
        ours = self.config.port or scope["server"][1]  # (port 0: the one the system chose)
        names = set(LOOPBACK) if self.config.local else {self.config.host.lower()}
        own = {(name, ours) for name in names}
        if not self.config.local:
            own.add(split_authority(host, DEFAULT_PORTS.get(parts.scheme)))
        return (parts.hostname or "", port) in own

    def _has_token(self, scope: dict, headers: dict[str, str]) -> bool:
        given = []
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given.append(auth[7:].strip())
        given.append(headers.get("x-studio-token", ""))
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is no token
            cookie = SimpleCookie()
        if COOKIE in cookie:
            given.append(cookie[COOKIE].value)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given += query.get("token", [])
        return any(secrets.compare_digest(g.encode(), self.token.encode()) for g in given if g)


#: The port of an address that names none, by scheme.
DEFAULT_PORTS = {"http": 80, "https": 443}


def split_authority(text: str, default_port: int | None = None) -> tuple[str, int | None]:
    """``(name, port)`` of a ``Host`` header: ``[::1]:7860`` → ``("::1", 7860)``, the name in
    lower case; ``default_port`` when it names no port. Anything malformed comes back whole as
    the name (so it names no host of ours)."""
    if text.startswith("["):
        inner, _, rest = text[1:].partition("]")
        name, port = (inner, rest[1:]) if rest[:1] in ("", ":") else (text, "")
    elif text.count(":") == 1:
        name, _, port = text.partition(":")
    else:
        name, port = text, ""
    if port and not port.isdigit():
        name, port = text, ""
    return name.lower(), int(port) if port else default_port


async def _refuse(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *HEADERS]})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Any, location: str, token: str) -> None:
    cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode()), (b"set-cookie", cookie.encode()),
                            (b"content-length", b"0"), *HEADERS]})
    await send({"type": "http.response.body", "body": b""})
