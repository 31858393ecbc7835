"""Registration, login, token issue, refresh-token rotation with reuse detection, and the
check of an access token's login on every request.

A login is a *family* of refresh tokens: each refresh token's id is stored; refreshing marks it
used and issues the next token of the family; presenting a used (or revoked) one again means it
was stolen or replayed, so the whole family is revoked and the holder must log in again.
Logout revokes the family on purpose.

Access tokens are short-lived JWTs that name their family (`sid`). Each request checks, in one
query, that the user is still active and the family still has an unrevoked token, so revoking a
login also ends its access tokens: at once in the process that revoked it, within
AUTH_SESSION_CACHE_SECONDS in every other (`backend.auth.sessions`).

Failed logins are logged (WARNING, logger `backend.auth.service`) with the client address
(resolved through TRUSTED_PROXIES), the reason and a keyed digest of the e-mail (`account`:
the same for every attempt on one address, without the address or anything typed as the
password in the log), and counted per account (RATE_LIMIT_LOGIN_ACCOUNT).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import jwt
from sqlalchemy import CursorResult, Engine, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from backend.auth.passwords import Passwords
from backend.auth.policy import (
    EMAIL_RULE,
    INVISIBLE_RULE,
    PASSWORD_RULE,
    EmailRejected,
    PasswordRejected,
    check_password,
    normalize_email,
)
from backend.auth.ratelimit import RateLimits
from backend.auth.sessions import SessionCache, SessionCheck
from backend.config import Settings
from backend.db.engine import make_session_factory
from backend.db.models import RefreshToken, User
from backend.errors import Conflict, InvalidInput, RateLimited, Rule, Unauthorized

if TYPE_CHECKING:
    from backend.auth.schemas import Registration

ISSUER = "alphavelocity"

# The check of every authenticated request: the user and whether the access token's login
# (refresh family) still has an unrevoked token, in one round trip. Built once and run on a
# plain connection: about a quarter of the CPU of the ORM `session.get(User)` it replaces.
SESSION_CHECK = select(
    User.id,
    User.email,
    User.created_at,
    User.is_active,
    select(RefreshToken.jti)
    .where(
        RefreshToken.family == bindparam("sid"),
        RefreshToken.user_id == User.id,
        RefreshToken.revoked_at.is_(None),
    )
    .exists()
    .label("live"),
).where(User.id == bindparam("user_id"))

log = logging.getLogger(__name__)


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


# The account policy, which no schema can state (a strength estimate, Unicode properties).
EMAIL_REJECTED = Rule("invalid_input", "email_rejected", f"{EMAIL_RULE}; {INVISIBLE_RULE}")
PASSWORD_TOO_WEAK = Rule(
    "invalid_input",
    "password_too_weak",
    f"{PASSWORD_RULE}; not made of the e-mail address or the service's name",
)


def _refused(field: str, rule: str, message: str) -> InvalidInput:
    """422 in the shape of a refused request body (details.fields), for the policy's rules."""
    return InvalidInput(
        f"invalid request: {field}: {message}",
        {"fields": [{"field": field, "location": "body", "rule": rule, "message": message}]},
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _user(row: Any) -> AuthUser:
    """An AuthUser from a User row (or a result row with its id, email and created_at)."""
    created = row.created_at
    if created.tzinfo is None:  # SQLite hands back naive datetimes; all are UTC
        created = created.replace(tzinfo=dt.timezone.utc)
    return AuthUser(id=row.id, email=row.email, created_at=created)


class AuthService:
    def __init__(self, engine: Engine, settings: Settings, limits: RateLimits) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions = make_session_factory(engine)
        self.passwords = Passwords(settings)
        self.limits = limits
        self.checked = SessionCache(settings.auth_session_cache_seconds)

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
        if kind == "access" and not isinstance(claims.get("sid"), str):
            # Tokens issued before access tokens named their login: refresh to get one.
            raise Unauthorized("the access token names no login: refresh it", {"reason": "invalid"})
        return claims

    def _issue(self, user_id: int, family: str | None = None) -> tuple[TokenPair, RefreshToken]:
        access_life = dt.timedelta(minutes=self.settings.access_token_minutes)
        refresh_life = dt.timedelta(days=self.settings.refresh_token_days)
        family = family or secrets.token_hex(16)
        access = self._encode(
            {"sub": str(user_id), "typ": "access", "jti": secrets.token_hex(16), "sid": family},
            access_life,
        )
        jti = secrets.token_hex(16)
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

    def register(self, account: Registration) -> AuthUser:
        """Create a user: the e-mail in its normal form, a password that is not easy to guess
        (422 naming the field and rule otherwise); Conflict when the address is taken."""
        try:
            email = normalize_email(account.email)
        except EmailRejected as exc:
            raise _refused("email", EMAIL_REJECTED.rule, str(exc)) from None
        try:
            check_password(account.password, email)
        except PasswordRejected as exc:
            raise _refused("password", PASSWORD_TOO_WEAK.rule, str(exc)) from None
        hashed = self.passwords.hash(account.password)
        taken = Conflict(f"{email} is already registered", {"field": "email", "rule": "unique"})
        try:
            with self.sessions() as s, s.begin():
                if s.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
                    raise taken
                row = User(email=email, password_hash=hashed, is_active=True, created_at=_now())
                s.add(row)
                s.flush()
                return _user(row)
        except IntegrityError:  # a concurrent registration of the same address won
            raise taken from None

    def account_ref(self, email: str) -> str:
        """A keyed digest of an e-mail for the log: one value per address, not the address."""
        key = self.settings.jwt_secret_key.encode()
        return hmac.new(key, email.encode(), hashlib.sha256).hexdigest()[:12]

    def _log_failure(
        self, client: str, reason: str, email: str | None, user_id: int | None = None
    ) -> None:
        account = self.account_ref(email) if email is not None else None
        log.warning(
            "failed login from %s: %s (account %s)",
            client,
            reason,
            account or "-",
            extra={
                "event": "login_failed",
                "client": client,
                "reason": reason,
                "account": account,
                "user_id": user_id,
            },
        )

    def login(self, email: str, password: str, client: str = "unknown") -> TokenPair:
        """A token pair for the right password. Unauthorized for anything else, one answer
        whatever was wrong; RateLimited while the account is over RATE_LIMIT_LOGIN_ACCOUNT."""
        bad = Unauthorized("wrong e-mail or password", {"reason": "bad_credentials"})
        try:
            email = normalize_email(email)
        except EmailRejected:
            self.passwords.verify(None, password)  # the same time as a real attempt
            self._log_failure(client, "malformed_email", None)
            raise bad from None
        try:
            self.limits.account_blocked(email)
        except RateLimited:
            self._log_failure(client, "account_throttled", email)
            raise
        failure: tuple[str, int | None] | None = None
        with self.sessions() as s, s.begin():
            row = s.scalar(select(User).where(User.email == email))
            ok = self.passwords.verify(row.password_hash if row else None, password)
            if row is None:
                failure = ("unknown_account", None)
            elif not ok:
                failure = ("wrong_password", row.id)
            elif not row.is_active:
                failure = ("inactive_account", row.id)
            else:
                if self.passwords.needs_rehash(row.password_hash):
                    row.password_hash = self.passwords.hash(password)
                pair, token = self._issue(row.id)
                s.add(token)
                user_id = row.id
        if failure is not None:
            self.limits.count_account_failure(email)
            self._log_failure(client, failure[0], email, failure[1])
            raise bad
        log.info(
            "login of user %s from %s",
            user_id,
            client,
            extra={"event": "login", "client": client, "user_id": user_id},
        )
        return pair

    def _check_session(self, user_id: int, sid: str) -> SessionCheck:
        """One query: the user (active?) and whether login `sid` has an unrevoked token."""
        with self.engine.connect() as conn:
            row = conn.execute(SESSION_CHECK, {"user_id": user_id, "sid": sid}).one_or_none()
        if row is None or not row.is_active:
            return SessionCheck(user_id, None, "no_user")
        if not row.live:
            return SessionCheck(user_id, None, "revoked")
        return SessionCheck(user_id, _user(row))

    def user_from_access(self, token: str) -> AuthUser:
        claims = self.decode(token, "access")
        try:
            user_id = int(claims["sub"])
        except (TypeError, ValueError):
            raise Unauthorized("the access token is not valid", {"reason": "invalid"}) from None
        sid = str(claims["sid"])
        check = self.checked.get(sid, user_id)
        if check is None:
            check = self._check_session(user_id, sid)
            self.checked.put(sid, check)
        if check.user is not None:
            return check.user
        if check.reason == "revoked":
            raise Unauthorized(
                "this login has ended (logged out, or a refresh token was reused): log in again",
                {"reason": "revoked"},
            )
        raise Unauthorized("the user of this token no longer exists", {"reason": "no_user"})

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
            family = row.family
            if claimed != 1:
                reused = True
                self._revoke_family(s, family)
            else:
                user = s.get(User, row.user_id)
                if user is None or not user.is_active:
                    raise Unauthorized(
                        "the user of this token no longer exists", {"reason": "no_user"}
                    )
                pair, token = self._issue(row.user_id, row.family)
                s.add(token)
        if reused:
            self.checked.forget(family)  # after the commit: no check can cache it live again
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
            family = row.family
            self._revoke_family(s, family)
        self.checked.forget(family)

    @staticmethod
    def _revoke_family(s: Any, family: str) -> None:
        s.execute(
            update(RefreshToken)
            .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
