"""The account policy: one canonical form per e-mail address, invisible and text-direction
characters refused, and common or trivially weak passwords refused with the reason."""

from __future__ import annotations

import time

import pytest

from backend.auth.policy import (
    PASSWORD_CHECKED_CHARS,
    EmailRejected,
    PasswordRejected,
    check_password,
    invisible_char,
    normalize_email,
)
from tests.support.portfolio_app import PASSWORD

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("  Ada@Example.COM ", "ada@example.com"),
        ("ADA@EXAMPLE.COM", "ada@example.com"),
        ("ａｄａ@ｅｘａｍｐｌｅ.ｃｏｍ", "ada@example.com"),  # full-width forms (NFKC)
        ("\u212aate@example.com", "kate@example.com"),  # KELVIN SIGN reads as K
        ("ﬁnn@example.com", "finn@example.com"),  # the fi ligature
        ("ada@xn--bcher-kva.de", "ada@bücher.de"),  # one form for an IDN domain
        ("ada@BÜCHER.de", "ada@bücher.de"),
        ("ADA+News@Example.com", "ada+news@example.com"),
        ("e\u0301lise@example.com", "élise@example.com"),  # decomposed -> composed
    ],
)
def test_addresses_that_read_the_same_have_one_form(raw: str, canonical: str) -> None:
    assert normalize_email(raw) == canonical
    assert normalize_email(canonical) == canonical  # idempotent


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("ada\u200b@example.com", 0x200B),  # zero-width space
        ("ad\u200da@example.com", 0x200D),  # zero-width joiner
        ("\ufeffada@example.com", 0xFEFF),  # byte-order mark
        ("ada\u00ad@example.com", 0x00AD),  # soft hyphen
        ("a\u202eda@example.com", 0x202E),  # right-to-left override
        ("a\u2066da@example.com", 0x2066),  # left-to-right isolate
        ("ada@exam\u200bple.com", 0x200B),  # in the domain too
        ("a\u3164@example.com", 0x3164),  # Hangul filler (a letter that shows nothing)
        ("a\u034f@example.com", 0x034F),  # combining grapheme joiner
        ("a\ufe0f@example.com", 0xFE0F),  # variation selector
        ("a\U000e0041@example.com", 0xE0041),  # tag character
        ("a\ue000@example.com", 0xE000),  # private use
        ("a\u2028@example.com", 0x2028),  # line separator
    ],
)
def test_invisible_and_direction_characters_are_refused(raw: str, code: int) -> None:
    with pytest.raises(EmailRejected, match=f"U\\+{code:04X}") as exc:
        normalize_email(raw)
    assert "invisible" in exc.value.rule


@pytest.mark.parametrize(
    "raw",
    [
        "nope",
        "ada@",
        "@example.com",
        "ada@localhost",  # no dot in the domain
        "ada@[127.0.0.1]",  # IP literal
        '"ada smith"@example.com',  # quoted local part
        "ada smith@example.com",
        "ada@@example.com",
        "ada@example.com.",
        "a" * 65 + "@example.com",  # local part over 64
        "ada@" + "a" * 250 + ".com",  # over 254
    ],
)
def test_malformed_addresses_are_refused(raw: str) -> None:
    with pytest.raises(EmailRejected):
        normalize_email(raw)


def test_ordinary_text_has_no_invisible_character() -> None:
    assert invisible_char("Zoë Ødegård 李小龍 Ελένη ada+x@example.com") is None
    assert invisible_char("ab\u200bc") == 2


@pytest.mark.parametrize(
    "password",
    [
        "12345678",
        "password",
        "password1",
        "qwertyuiop",
        "aaaaaaaaaaaa",
        "P@ssw0rd1",
        "iloveyou2",
        "abcdefgh12",
        "passwordpassword",
        "passwordpasswordpasswordpassword!7Qx",  # the checked beginning is weak
        "ada.lovelace1815",  # the user's own name and a year
    ],
)
def test_common_and_trivial_passwords_are_refused(password: str) -> None:
    with pytest.raises(PasswordRejected) as exc:
        check_password(password, "ada.lovelace@example.com")
    message = str(exc.value)
    assert "too easy to guess" in message and "zxcvbn score" in message
    assert "zxcvbn score at least 3" in exc.value.rule


def test_the_message_says_what_was_wrong() -> None:
    with pytest.raises(PasswordRejected, match="top-10 common password"):
        check_password("12345678")
    with pytest.raises(PasswordRejected, match="first 16 characters"):
        check_password("passwordpassword" + "Xk9#mQ2!vR")


@pytest.mark.parametrize("password", ["1234567", "x" * 129, ""])
def test_length_outside_8_to_128_is_refused(password: str) -> None:
    with pytest.raises(PasswordRejected, match="8 to 128"):
        check_password(password)


@pytest.mark.parametrize(
    "password",
    [
        PASSWORD,
        "correct horse battery staple",
        "Tr0ub4dor&3-plus",
        "a-long-enough-passw0rd",  # the browser tests' password
        "vR7#kq2!Lm9$zX",
        "ünïcødé pässwörd ✓ 2ab",
        "x" * 3 + "Qm7$vR2#kL9!pZ" + "y" * 100,
    ],
)
def test_strong_passwords_are_accepted(password: str) -> None:
    check_password(password, "someone@example.com")


def test_the_worst_case_input_is_bounded() -> None:
    """zxcvbn's time explodes with distinct l33t characters and length (the first 72 of these
    characters alone took 3 s); only the first PASSWORD_CHECKED_CHARS are read, so the worst
    128-character password stays far under a second (about 0.1 s here)."""
    leet = "!$%(+0123456789<@[{|"
    for start in range(0, len(leet), 2):
        password = (leet[start:] + leet * 7)[:128]
        started = time.perf_counter()
        try:
            check_password(password)
        except PasswordRejected:
            pass
        assert time.perf_counter() - started < 2, password
    assert PASSWORD_CHECKED_CHARS == 16
