"""Request and response models of the auth API.

Registration normalises and checks the e-mail at the boundary (`backend.auth.policy`, cheap).
The password's strength is checked by the service instead: zxcvbn can take a tenth of a second,
and request bodies are validated on the event loop, where that would stall every request; the
service runs in the thread pool and answers the same 422 shape (field `password`, rule
`password_too_weak`). Login checks nothing but sizes and control characters: a malformed
address is answered like a wrong password (401), never with a hint.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from backend.auth.policy import (
    EMAIL_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    PASSWORD_RULE,
    EmailRejected,
    normalize_email,
)
from backend.validation import RequestModel


class Credentials(RequestModel):
    """An e-mail address and a password (login)."""

    email: str = Field(min_length=1, max_length=EMAIL_MAX, examples=["ada@example.com"])
    password: str = Field(
        min_length=1, max_length=PASSWORD_MAX, examples=["correct horse battery staple"]
    )


class Registration(Credentials):
    """A new account: a valid e-mail address (normalised) and a password that is not easy to
    guess."""

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

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        try:
            return normalize_email(value)
        except EmailRejected as exc:
            raise PydanticCustomError("email_rejected", "{reason}", {"reason": str(exc)}) from None


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
