"""The service's token check: a Bearer header or the login form's cookie, compared in constant time."""

from __future__ import annotations

import hmac
from http.cookies import CookieError, SimpleCookie

COOKIE = "antbee_token"
OPEN_PATHS = frozenset({"/healthz", "/login"})  # what needs no token: the probe, and the way to give one
LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>antbee: token</title></head>
<body style="font-family: sans-serif; max-width: 30em; margin: 2em auto; padding: 0 1em">
<h1>antbee</h1><p>%s</p>
<form method="post" action="/login"><label>Token <input type="password" name="token" autofocus></label>
<button>Open</button></form></body></html>"""


def presented_token(headers: dict[str, str]) -> str | None:
    """The token a request carries: `Authorization: Bearer ...`, else the login cookie (lower-case header names)."""
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except CookieError:
        return None
    return cookie[COOKIE].value if COOKIE in cookie else None


def token_matches(presented: str | None, token: str) -> bool:
    """Whether the presented token is the service's; constant-time, so timing reveals nothing of it."""
    return presented is not None and hmac.compare_digest(presented.encode(), token.encode())


class TokenGate:
    """ASGI middleware: with a token set, every HTTP request but OPEN_PATHS must carry it, or gets 401."""

    def __init__(self, app, token: str | None):
        self.app = app
        self.token = token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.token is None or scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        if token_matches(presented_token(headers), self.token):
            return await self.app(scope, receive, send)
        # A browser asking for a page gets the login form (still a 401); anything else a JSON error.
        page = scope["method"] == "GET" and "text/html" in headers.get("accept", "")
        if page:
            body, kind = (LOGIN_PAGE % "This device needs its token.").encode(), b"text/html; charset=utf-8"
        else:
            body, kind = b'{"error": "missing or wrong token: send Authorization: Bearer TOKEN"}', b"application/json"
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": body})
