"""Bearer tokens for the admin API and the staff console: editors write, viewers only read.

Tokens come from ``settings.admin.tokens`` (``SIYU_ADMIN_TOKENS="editor:<token>,viewer:<token>"``)
plus one local editor token, generated once per data directory in ``data_dir/admin-token`` (file
mode 0600) so the CLI and ``make demo`` can use the running app. The token's name is the actor
recorded in the knowledge version history.
"""

from __future__ import annotations

import functools
import hmac
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aiohttp import web

from assistant.config import Settings
from assistant.http_errors import error

Role = Literal["editor", "viewer"]
LOCAL_TOKEN_FILE = "admin-token"
LOCAL_TOKEN_NAME = "local"
# What each role may do: an editor may do everything a viewer may.
_GRANTS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"viewer"}),
    "editor": frozenset({"viewer", "editor"}),
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name (the actor in the history) and its role."""

    name: str
    role: Role

    def may(self, needed: Role) -> bool:
        return needed in _GRANTS[self.role]


def local_token(settings: Settings) -> str:
    """The local editor token of this data directory, created (mode 0600) on first use."""
    path = Path(settings.data_dir) / LOCAL_TOKEN_FILE
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if len(existing) >= 16:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    # Write to a private temporary file, then rename: never a moment with a readable token,
    # and two processes starting together end up agreeing on one file.
    temporary = path.with_name(f".{LOCAL_TOKEN_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    try:
        os.link(temporary, path)  # fails if another process created it meanwhile
    except FileExistsError:
        token = path.read_text(encoding="utf-8").strip()
    finally:
        temporary.unlink(missing_ok=True)
    return token


def _known_tokens(settings: Settings) -> list[tuple[str, Principal]]:
    tokens = [(local_token(settings), Principal(LOCAL_TOKEN_NAME, "editor"))]
    tokens += [(t.token, Principal(t.name, t.role)) for t in settings.admin.tokens]
    return tokens


def authenticate(settings: Settings, presented: str) -> Principal | None:
    """The principal ``presented`` belongs to, or None; every token is compared in full."""
    found: Principal | None = None
    given = presented.encode("utf-8")
    for token, principal in _known_tokens(settings):
        # No early exit: the time taken does not tell which token (or how much of it) matched.
        if hmac.compare_digest(token.encode("utf-8"), given) and found is None:
            found = principal
    return found


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


# aiohttp >= 3.12 has typed request keys; older versions take a plain string.
PRINCIPAL: Any = (
    web.RequestKey("admin_principal", Principal)
    if hasattr(web, "RequestKey")
    else "admin_principal"
)


def principal(request: web.Request) -> Principal:
    """The caller of a handler wrapped by :func:`requires`."""
    return request[PRINCIPAL]


def requires(
    role: Role, settings_of: Callable[[web.Request], Settings]
) -> Callable[[Handler], Handler]:
    """Wrap a handler: 401 without a known token, 403 when the token's role is not enough.

    The check runs before the handler reads the body, so an unauthenticated upload is refused
    without being read.
    """

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            presented = bearer_token(request)
            if presented is None:
                return _unauthorized("missing token: send 'Authorization: Bearer <token>'")
            who = authenticate(settings_of(request), presented)
            if who is None:
                return _unauthorized("unknown token")
            if not who.may(role):
                return error(
                    403,
                    f"the token {who.name!r} has the {who.role} role and may only read; "
                    f"this needs the {role} role",
                    role=who.role,
                    needed=role,
                )
            request[PRINCIPAL] = who
            return await handler(request)

        guarded.__admin_role__ = role  # type: ignore[attr-defined]
        return guarded

    return wrap


def _unauthorized(message: str) -> web.Response:
    response = error(401, message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="siyu-admin"'
    return response
