"""Checks every request passes before a handler sees it: Host, Origin, credentials, body.

They run in the ASGI app itself, ahead of routing, so no route (present or future) can skip
them. Each answers with a ``ProtocolError``: the app turns it into ``{"error": message}``.
"""

from __future__ import annotations

import asyncio
import hmac
from urllib.parse import urlsplit

from .protocol import ProtocolError

JSON_TYPES = ("application/json", "application/octet-stream")


class ClientGone(Exception):
    """The client disconnected before its body arrived; nothing to answer."""


def headers_of(scope: dict) -> dict[str, str]:
    """Request headers, lower-case names; a repeated header keeps its first value."""
    out: dict[str, str] = {}
    for name, value in scope.get("headers") or []:
        out.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return out


def host_name(authority: str) -> str:
    """``[::1]:8080`` -> ``::1``, ``LocalHost.:80`` -> ``localhost``."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1:].split("]", 1)[0]
    return authority.rsplit(":", 1)[0].rstrip(".") if authority.count(":") == 1 else authority.rstrip(".")


def check_host(headers: dict[str, str], allowed: tuple[str, ...]) -> None:
    """A DNS-rebinding page reaches loopback with its own name in Host; refuse any name not allowed."""
    if "host" not in headers:
        raise ProtocolError(400, "host header is missing: expected one of " + ", ".join(allowed))
    name = host_name(headers["host"])
    if name not in allowed:
        raise ProtocolError(400, f"host={headers['host'][:100]!r} is invalid: expected one of {', '.join(allowed)}")
    origin = headers.get("origin")
    # Browsers send Origin on cross-site requests; a page from elsewhere must not drive the server.
    if origin is not None and (origin == "null" or host_name(urlsplit(origin).netloc) not in allowed):
        raise ProtocolError(403, f"origin={origin[:100]!r} is invalid: expected no Origin or one of "
                                 f"{', '.join(allowed)}")


def check_bearer(headers: dict[str, str], token: str) -> None:
    supplied = headers.get("authorization", "")
    scheme, _, credential = supplied.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), token.encode()):
        raise ProtocolError(401, "authorization is invalid: expected 'Bearer <repository token>'")


def check_content_type(headers: dict[str, str]) -> None:
    """JSON or the binary extension; a form or text/plain (what a page can post without CORS) is refused."""
    if headers.get("content-encoding", "identity").strip().lower() != "identity":
        raise ProtocolError(415, f"content-encoding={headers['content-encoding'][:40]!r} is invalid: "
                                 "expected an uncompressed body")
    declared = headers.get("content-type")
    if declared is None:
        return  # JSON without a Content-Type is JSON, as the spec's examples send it
    media = declared.split(";", 1)[0].strip().lower()
    if media not in JSON_TYPES:
        raise ProtocolError(415, f"content-type={declared[:60]!r} is invalid: expected {' or '.join(JSON_TYPES)}")


async def read_body(receive, headers: dict[str, str], *, limit: int, timeout: float) -> bytes:
    """The whole body, counted as it streams: a chunked body past ``limit`` is refused at the cap."""
    declared = headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ProtocolError(413, f"content-length={declared[:30]!r} is invalid: expected at most {limit} bytes")
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone()
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise ProtocolError(413, f"body is invalid: more than {limit} bytes (expected at most {limit})")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise ProtocolError(408, f"body is invalid: not received within {timeout} s") from None
