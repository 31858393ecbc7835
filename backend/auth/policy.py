"""What an account's e-mail and password must be. Pure functions, no I/O (no DNS, no network).

E-mail (`normalize_email`): the one form an address is stored and looked up in, so that two
addresses that read the same are one account.

1. Surrounding white space is dropped; Unicode is normalised to NFKC (full-width `ａ` and the
   Kelvin sign become `a` and `K`, ligatures are split).
2. Invisible characters are refused: Unicode format characters (category Cf: zero-width
   space and joiners, the bidirectional embeddings, overrides and isolates, the soft hyphen,
   the byte-order mark), the other default-ignorable code points (Hangul fillers, variation
   selectors, the combining grapheme joiner, ...), private-use, surrogate and unassigned code
   points, and line/paragraph separators.
3. The syntax is checked by `email-validator` (deliverability checks off: no DNS): a dot-atom
   local part (no quoting), a domain name with a dot (no IP literal), at most 254 characters.
   Internationalised domains are kept in their Unicode form (`xn--bcher-kva.de` is
   `bücher.de`).
4. The whole address is lower-cased (as every stored address already is), then NFKC again.

Password (`password_problem`): 8 to 128 characters, and not easy to guess: zxcvbn (Dropbox's
estimator, shipped word and password lists, offline) must score it at least 3 of 4
(about 10^8 guesses or more), with the e-mail address and its parts counted as known words.
zxcvbn's time grows steeply with length and with the number of distinct "l33t" characters
(0.1 s for 16 such characters, 3 s for 72), so it reads at most the first
`PASSWORD_CHECKED_CHARS` characters: a password whose beginning is strong is strong, and the
cost stays below a tenth of the Argon2 hash every registration pays anyway.
"""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email
from zxcvbn import zxcvbn

EMAIL_MAX = 254
EMAIL_RULE = "an e-mail address such as name@example.com, at most 254 characters"
INVISIBLE_RULE = "no invisible, formatting or text-direction characters"
PASSWORD_MIN, PASSWORD_MAX = 8, 128
PASSWORD_MIN_SCORE = 3
PASSWORD_CHECKED_CHARS = 16
PASSWORD_RULE = (
    f"{PASSWORD_MIN} to {PASSWORD_MAX} characters, not easy to guess (zxcvbn score at least "
    f"{PASSWORD_MIN_SCORE} of 4 over its first {PASSWORD_CHECKED_CHARS} characters)"
)
# Words a password must not lean on, besides the user's own e-mail address.
SERVICE_WORDS = ("alphavelocity", "alpha", "velocity", "momentum")

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt) outside category Cf.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong/jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),  # unassigned specials
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)
_REFUSED_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


class EmailRejected(ValueError):
    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


class PasswordRejected(ValueError):
    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


def invisible_char(value: str) -> int | None:
    """The index of the first invisible or direction-changing character, or None."""
    for index, char in enumerate(value):
        if " " <= char <= "~":  # printable ASCII: the common case, none of these
            continue
        code = ord(char)
        if unicodedata.category(char) in _REFUSED_CATEGORIES or any(
            lo <= code <= hi for lo, hi in _IGNORABLE_RANGES
        ):
            return index
    return None


def normalize_email(raw: str) -> str:
    """The canonical form of an e-mail address (module docstring); EmailRejected with the
    reason otherwise."""
    email = raw.strip()
    # As typed (so the message points at what the caller sent), then as normalised.
    for text in (email, email := unicodedata.normalize("NFKC", email)):
        index = invisible_char(text)
        if index is not None:
            char = text[index]
            name = unicodedata.name(char, "unnamed character")
            raise EmailRejected(
                f"the e-mail address holds U+{ord(char):04X} ({name}) at position {index}: "
                f"{INVISIBLE_RULE} are allowed",
                INVISIBLE_RULE,
            )
    if len(email) > EMAIL_MAX:  # before the parser: NFKC can lengthen a string 18-fold
        raise EmailRejected(
            f"the e-mail address has {len(email)} characters (at most {EMAIL_MAX})", EMAIL_RULE
        )
    try:
        checked = validate_email(
            email,
            check_deliverability=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            strict=True,  # the local part's 64-character limit too
        )
    except EmailNotValidError as exc:
        raise EmailRejected(f"the e-mail address is not valid: {exc}", EMAIL_RULE) from None
    email = unicodedata.normalize("NFKC", checked.normalized.lower())
    if len(email) > EMAIL_MAX:
        raise EmailRejected(
            f"the e-mail address has {len(email)} characters (at most {EMAIL_MAX})", EMAIL_RULE
        )
    return email


def check_password(password: str, email: str | None = None) -> None:
    """PasswordRejected saying why `password` is not acceptable (module docstring)."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise PasswordRejected(
            f"the password has {len(password)} characters; it must have "
            f"{PASSWORD_MIN} to {PASSWORD_MAX}",
            PASSWORD_RULE,
        )
    known = list(SERVICE_WORDS)
    if email:
        local, _, domain = email.partition("@")
        known += [email, local, *domain.split("."), *local.replace("_", ".").split(".")]
    checked = password[:PASSWORD_CHECKED_CHARS]
    result = zxcvbn(checked, user_inputs=[w for w in known if w])
    if result["score"] >= PASSWORD_MIN_SCORE:
        return
    feedback = result["feedback"]
    why = " ".join(
        part for part in [feedback.get("warning") or "", *feedback.get("suggestions", [])] if part
    )
    where = (
        f"its first {PASSWORD_CHECKED_CHARS} characters are"
        if len(password) > PASSWORD_CHECKED_CHARS
        else "it is"
    )
    raise PasswordRejected(
        f"the password is too easy to guess: {where} within about "
        f"10^{result['guesses_log10']:.0f} guesses (zxcvbn score {result['score']} of 4, "
        f"at least {PASSWORD_MIN_SCORE} needed). {why}".strip(),
        PASSWORD_RULE,
    )
