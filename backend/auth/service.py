"""Registration, login, token issue and refresh-token rotation with reuse detection.

Access tokens are short-lived JWTs checked on every request (the user must still exist and
be active). Refresh tokens are JWTs too, and each one's id is stored: refreshing marks it
used and issues the next token of the same *family*; presenting a used (or revoked) one again
means it was stolen or replayed, so the whole family is revoked and the holder must log in.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any, cast

import jwt
from sqlalchemy import CursorResult, Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from backend.auth.errors import Conflict, Unauthorized
from backend.auth.passwords import Passwords
from backend.config import Settings
from backend.db.engine import make_session_factory
from backend.db.models import RefreshToken, User
from backend.errors import InvalidInput

ISSUER = "alphavelocity"
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
EMAIL_RULE = "an e-mail address such as name@example.com, at most 254 characters"
PASSWORD_MIN, PASSWORD_MAX = 8, 128


@dataclass(frozen=True)
class AuthUser:
    id: int
    email: str
    created_at: dt.datetime


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    access_expires_in: int
    refresh_expires_in: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def normalize_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > 254 or not EMAIL_RE.fullmatch(email):
        raise InvalidInput(
            f"email {raw!r} is not valid: it must be {EMAIL_RULE}",
            {"field": "email", "rule": EMAIL_RULE},
        )
    return email


def check_password(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        rule = f"{PASSWORD_MIN} to {PASSWORD_MAX} characters"
        raise InvalidInput(
            f"password must be {rule} (it has {len(password)})",
            {"field": "password", "rule": rule},
        )


def _user(row: User) -> AuthUser:
    created = row.created_at
    if created.tzinfo is None:  # SQLite hands back naive datetimes; all are UTC
        created = created.replace(tzinfo=dt.timezone.utc)
    return AuthUser(id=row.id, email=row.email, created_at=created)


class AuthService:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.settings = settings
        self.sessions = make_session_factory(engine)
        self.passwords = Passwords(settings)

    # ------------------------------------------------------------------ tokens

    def _encode(self, claims: dict[str, Any], lifetime: dt.timedelta) -> str:
        now = _now()
        payload = {**claims, "iss": ISSUER, "iat": now, "nbf": now, "exp": now + lifetime}
        return jwt.encode(
            payload, self.settings.jwt_secret_key, algorithm=self.settings.jwt_algorithm
        )

    def decode(self, token: str, kind: str) -> dict[str, Any]:
        """The claims of a valid token of `kind` ("access" or "refresh"); else Unauthorized."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.settings.jwt_secret_key,
                algorithms=[self.settings.jwt_algorithm],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "jti", "typ"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized(f"the {kind} token has expired", {"reason": "expired"}) from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(
                f"the {kind} token is not valid: {exc}", {"reason": "invalid"}
            ) from None
        if claims.get("typ") != kind:
            raise Unauthorized(
                f"a {claims.get('typ')} token was given where a {kind} token is needed",
                {"reason": "wrong_token_type"},
            )
        return claims

    def _issue(self, user_id: int, family: str | None = None) -> tuple[TokenPair, RefreshToken]:
        access_life = dt.timedelta(minutes=self.settings.access_token_minutes)
        refresh_life = dt.timedelta(days=self.settings.refresh_token_days)
        access = self._encode(
            {"sub": str(user_id), "typ": "access", "jti": secrets.token_hex(16)}, access_life
        )
        jti = secrets.token_hex(16)
        family = family or secrets.token_hex(16)
        refresh = self._encode(
            {"sub": str(user_id), "typ": "refresh", "jti": jti, "fam": family}, refresh_life
        )
        now = _now()
        row = RefreshToken(
            jti=jti, user_id=user_id, family=family, issued_at=now, expires_at=now + refresh_life
        )
        pair = TokenPair(
            access, refresh, int(access_life.total_seconds()), int(refresh_life.total_seconds())
        )
        return pair, row

    def is_admin_token(self, token: str) -> bool:
        admin = self.settings.admin_token
        return bool(admin) and hmac.compare_digest(token.encode(), admin.encode())

    # ------------------------------------------------------------------ users

    def register(self, email: str, password: str) -> AuthUser:
        email = normalize_email(email)
        check_password(password)
        hashed = self.passwords.hash(password)
        try:
            with self.sessions() as s, s.begin():
                if s.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
                    raise Conflict(
                        f"{email} is already registered", {"field": "email", "rule": "unique"}
                    )
                row = User(email=email, password_hash=hashed, is_active=True, created_at=_now())
                s.add(row)
                s.flush()
                return _user(row)
        except IntegrityError:  # a concurrent registration of the same address won
            raise Conflict(
                f"{email} is already registered", {"field": "email", "rule": "unique"}
            ) from None

    def login(self, email: str, password: str) -> TokenPair:
        bad = Unauthorized("wrong e-mail or password", {"reason": "bad_credentials"})
        try:
            email = normalize_email(email)
        except InvalidInput:
            self.passwords.verify(None, password)
            raise bad from None
        with self.sessions() as s, s.begin():
            row = s.scalar(select(User).where(User.email == email))
            ok = self.passwords.verify(row.password_hash if row else None, password)
            if row is None or not ok or not row.is_active:
                raise bad
            if self.passwords.needs_rehash(row.password_hash):
                row.password_hash = self.passwords.hash(password)
            pair, token = self._issue(row.id)
            s.add(token)
        return pair

    def user(self, user_id: int) -> AuthUser | None:
        with self.sessions() as s:
            row = s.get(User, user_id)
            return _user(row) if row is not None and row.is_active else None

    def user_from_access(self, token: str) -> AuthUser:
        claims = self.decode(token, "access")
        try:
            user_id = int(claims["sub"])
        except (TypeError, ValueError):
            raise Unauthorized("the access token is not valid", {"reason": "invalid"}) from None
        user = self.user(user_id)
        if user is None:
            raise Unauthorized("the user of this token no longer exists", {"reason": "no_user"})
        return user

    # ------------------------------------------------------------------ refresh

    def refresh(self, refresh_token: str) -> TokenPair:
        """Exchange a refresh token for a new pair; the old one can never be used again."""
        claims = self.decode(refresh_token, "refresh")
        jti = str(claims["jti"])
        reused = False
        with self.sessions() as s, s.begin():
            # One atomic claim: of two concurrent refreshes with one token, exactly one wins.
            result = s.execute(
                update(RefreshToken)
                .where(
                    RefreshToken.jti == jti,
                    RefreshToken.used_at.is_(None),
                    RefreshToken.revoked_at.is_(None),
                )
                .values(used_at=_now())
            )
            claimed = cast(CursorResult[Any], result).rowcount
            row = s.get(RefreshToken, jti)
            if row is None:
                raise Unauthorized("unknown refresh token", {"reason": "unknown"})
            if claimed != 1:
                reused = True
                self._revoke_family(s, row.family)
            else:
                user = s.get(User, row.user_id)
                if user is None or not user.is_active:
                    raise Unauthorized(
                        "the user of this token no longer exists", {"reason": "no_user"}
                    )
                pair, token = self._issue(row.user_id, row.family)
                s.add(token)
        if reused:
            raise Unauthorized(
                "this refresh token was already used: every token of its login is revoked; "
                "log in again",
                {"reason": "reused"},
            )
        return pair

    def logout(self, refresh_token: str) -> None:
        """Revoke the refresh token's whole family (this login on every device it reached)."""
        claims = self.decode(refresh_token, "refresh")
        with self.sessions() as s, s.begin():
            row = s.get(RefreshToken, str(claims["jti"]))
            if row is None:
                raise Unauthorized("unknown refresh token", {"reason": "unknown"})
            self._revoke_family(s, row.family)

    @staticmethod
    def _revoke_family(s: Any, family: str) -> None:
        s.execute(
            update(RefreshToken)
            .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
