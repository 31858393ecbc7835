"""Request and response models of the auth API.

The models check sizes and control characters. The account policy (`backend.auth.policy`: the
e-mail's normal form, the password's strength) is applied by the service: request bodies are
validated on the event loop, where zxcvbn (up to a tenth of a second) or an internationalised
domain (milliseconds) would stall every request, while the service runs in the thread pool. It
answers the same 422 shape (`details.fields`: field, rule `email_rejected` or
`password_too_weak`, message). Login answers a malformed address like a wrong password (401).
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from backend.auth.policy import EMAIL_MAX, PASSWORD_MAX, PASSWORD_MIN, PASSWORD_RULE
from backend.validation import RequestModel


class Credentials(RequestModel):
    """An e-mail address and a password (login)."""

    email: str = Field(min_length=1, max_length=EMAIL_MAX, examples=["ada@example.com"])
    password: str = Field(
        min_length=1, max_length=PASSWORD_MAX, examples=["correct horse battery staple"]
    )


class Registration(Credentials):
    """A new account: an e-mail address and a password (the service applies the policy)."""

    email: str = Field(
        min_length=3,
        max_length=EMAIL_MAX,
        examples=["ada@example.com"],
        json_schema_extra={"format": "email"},
        description="Stored lower-cased and NFKC-normalised; invisible, formatting and "
        "text-direction characters are refused",
    )
    password: str = Field(
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        examples=["correct horse battery staple"],
        description=f"{PASSWORD_RULE}; common and trivially weak passwords are refused",
    )


class RefreshRequest(RequestModel):
    refresh_token: str = Field(min_length=1, max_length=2000)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    created_at: dt.datetime


class TokenOut(BaseModel):
    access_token: str = Field(
        description="Bearer token of this login's session; refused once the login is revoked"
    )
    refresh_token: str = Field(description="Single use: /auth/refresh returns a new pair")
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid")
