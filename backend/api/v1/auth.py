"""Register, log in, refresh (single-use refresh tokens), log out, and who am I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from backend.auth.deps import AuthDep, CurrentUser
from backend.auth.ratelimit import RateLimit
from backend.auth.service import TokenPair
from backend.portfolios.schemas import Credentials, RefreshRequest, TokenOut, UserOut

Responses = dict[int | str, dict[str, Any]]

router = APIRouter(prefix="/auth", tags=["auth"])

_LIMITED: Responses = {429: {"description": "Too many attempts; see Retry-After"}}
_UNAUTHORIZED: Responses = {401: {"description": "Missing, invalid, expired or reused token"}}


def _tokens(pair: TokenPair) -> TokenOut:
    return TokenOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.access_expires_in,
        refresh_expires_in=pair.refresh_expires_in,
    )


@router.post(
    "/register",
    response_model=UserOut,
    status_code=201,
    dependencies=[RateLimit("register", "rate_limit_login")],
    responses={409: {"description": "E-mail already registered"}, **_LIMITED},
)
def register(body: Credentials, auth: AuthDep) -> UserOut:
    """Create a user: an e-mail address and a password of 8 to 128 characters."""
    user = auth.register(body.email, body.password)
    return UserOut.model_validate(user)


@router.post(
    "/login",
    response_model=TokenOut,
    dependencies=[RateLimit("login", "rate_limit_login")],
    responses={**_UNAUTHORIZED, **_LIMITED},
)
def login(body: Credentials, auth: AuthDep) -> TokenOut:
    """An access token (Authorization: Bearer ...) and a single-use refresh token."""
    return _tokens(auth.login(body.email, body.password))


@router.post(
    "/refresh",
    response_model=TokenOut,
    dependencies=[RateLimit("refresh", "rate_limit_login")],
    responses={**_UNAUTHORIZED, **_LIMITED},
)
def refresh(body: RefreshRequest, auth: AuthDep) -> TokenOut:
    """A new token pair for a refresh token, which is used up. Presenting a used refresh
    token again revokes every token of that login (reuse detection): log in again."""
    return _tokens(auth.refresh(body.refresh_token))


@router.post("/logout", status_code=204, responses=_UNAUTHORIZED)
def logout(body: RefreshRequest, auth: AuthDep) -> Response:
    """Revoke the refresh token and every token rotated from the same login."""
    auth.logout(body.refresh_token)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut, responses=_UNAUTHORIZED)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)
