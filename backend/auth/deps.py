"""`CurrentUser` and `AdminUser`: the Annotated dependencies routes declare.

- `CurrentUser`: a user's access token (`Authorization: Bearer <access token>`); 401 without
  one or with an invalid/expired one. The admin token is not a user: 403.
- `OptionalUser`: the same user when a token is sent, None without one.
- `AdminUser`: the `ADMIN_TOKEN` bearer; 401 without credentials or with a wrong token, 403
  for a user's token (users are not admins) and when ADMIN_TOKEN is not configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.auth.service import AuthService, AuthUser
from backend.errors import Forbidden, Unauthorized

bearer = HTTPBearer(
    auto_error=False,
    description="A user's access token (POST /api/v1/auth/login), or ADMIN_TOKEN for admin "
    "endpoints",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


@dataclass(frozen=True)
class Admin:
    """The holder of ADMIN_TOKEN."""

    name: str = "admin"


def get_auth(request: Request) -> AuthService:
    service: AuthService = request.app.state.auth
    return service


AuthDep = Annotated[AuthService, Depends(get_auth)]


def current_user(auth: AuthDep, credentials: Credentials) -> AuthUser:
    if credentials is None:
        raise Unauthorized(
            "authentication required: send 'Authorization: Bearer <access token>' "
            "(POST /api/v1/auth/login)",
            {"reason": "missing_token"},
        )
    if auth.is_admin_token(credentials.credentials):
        raise Forbidden(
            "the admin token is not a user: this route needs a user's access token",
            {"reason": "admin_token_is_not_a_user"},
        )
    return auth.user_from_access(credentials.credentials)


def require_admin(auth: AuthDep, credentials: Credentials) -> Admin:
    if credentials is None:
        raise Unauthorized(
            "admin token required: send 'Authorization: Bearer <ADMIN_TOKEN>'",
            {"reason": "missing_token"},
        )
    if not auth.settings.admin_token:
        raise Forbidden(
            "admin endpoints are disabled: ADMIN_TOKEN is not set", {"reason": "no_admin_token"}
        )
    if auth.is_admin_token(credentials.credentials):
        return Admin()
    try:
        auth.user_from_access(credentials.credentials)
    except Unauthorized:
        raise Unauthorized("wrong admin token", {"reason": "invalid"}) from None
    raise Forbidden("this route needs the admin token, not a user's", {"reason": "not_admin"})


def optional_user(auth: AuthDep, credentials: Credentials) -> AuthUser | None:
    """The user when a token is sent (checked as `CurrentUser` checks it: a bad token is still
    401), else None: for routes that answer anyone and say more to a user."""
    return None if credentials is None else current_user(auth, credentials)


CurrentUser = Annotated[AuthUser, Depends(current_user)]
OptionalUser = Annotated[AuthUser | None, Depends(optional_user)]
AdminUser = Annotated[Admin, Depends(require_admin)]
