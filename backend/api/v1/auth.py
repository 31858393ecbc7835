"""Register, log in, refresh (single-use refresh tokens), log out, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from backend.api.errors import beyond_schema, error_responses
from backend.auth.deps import AuthDep, CurrentUser
from backend.auth.proxies import client_address
from backend.auth.ratelimit import RateLimit
from backend.auth.schemas import Credentials, RefreshRequest, Registration, TokenOut, UserOut
from backend.auth.service import EMAIL_REJECTED, PASSWORD_TOO_WEAK, TokenPair

router = APIRouter(prefix="/auth", tags=["auth"])

# Every route can meet a body over the limit (413), a database that does not answer (503) and
# the unexpected (500); 422 covers the body and control characters in the URL.
_ALWAYS = (413, 422, 500, 503)


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
    responses=error_responses(409, 429, *_ALWAYS),
    openapi_extra=beyond_schema(EMAIL_REJECTED, PASSWORD_TOO_WEAK),
)
def register(body: Registration, auth: AuthDep) -> UserOut:
    """Create a user: an e-mail address (stored lower-cased and NFKC-normalised; invisible
    and text-direction characters refused) and a password of 8 to 128 characters that is not
    easy to guess (422 `password_too_weak` says why). 409 when the address is taken."""
    return UserOut.model_validate(auth.register(body))


@router.post(
    "/login",
    response_model=TokenOut,
    dependencies=[RateLimit("login", "rate_limit_login")],
    responses=error_responses(401, 429, *_ALWAYS),
)
def login(body: Credentials, request: Request, auth: AuthDep) -> TokenOut:
    """An access token (Authorization: Bearer ...) and a single-use refresh token. 401 for
    any wrong e-mail or password; 429 past RATE_LIMIT_LOGIN per client or
    RATE_LIMIT_LOGIN_ACCOUNT failed logins of the account, whatever the client."""
    return _tokens(auth.login(body.email, body.password, client_address(request)))


@router.post(
    "/refresh",
    response_model=TokenOut,
    dependencies=[RateLimit("refresh", "rate_limit_login")],
    responses=error_responses(401, 429, *_ALWAYS),
)
def refresh(body: RefreshRequest, auth: AuthDep) -> TokenOut:
    """A new token pair for a refresh token, which is used up. Presenting a used refresh
    token again revokes every token of that login, access tokens included (reuse
    detection): log in again."""
    return _tokens(auth.refresh(body.refresh_token))


@router.post("/logout", status_code=204, responses=error_responses(401, *_ALWAYS))
def logout(body: RefreshRequest, auth: AuthDep) -> Response:
    """End the login: its refresh tokens and its access tokens are revoked."""
    auth.logout(body.refresh_token)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut, responses=error_responses(401, 403, 422, 500, 503))
def me(user: CurrentUser) -> UserOut:
    """The user of the access token (403 for the admin token, which is not a user)."""
    return UserOut.model_validate(user)
