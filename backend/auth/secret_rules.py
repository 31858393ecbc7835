"""What makes a secret acceptable in production (JWT_SECRET_KEY, ADMIN_TOKEN).

A leaf module (standard library only): the settings validate with it before anything else
is imported.

The rule, in full: not an example value (the shipped default, anything containing
`change-me`), at least `SECRET_MIN_LENGTH` characters, and an estimated entropy of at least
`SECRET_MIN_ENTROPY_BITS` bits, where the estimate is

    bits = n * H,  H = -sum_c p_c * log2(p_c),  p_c = (count of character c) / n

(the length times the Shannon entropy of the value's own character frequencies). It cannot
see patterns ("abcd...") but refuses repeated and low-variety values: 32 times the same
letter is 0 bits; `secrets.token_urlsafe(48)` is about 330 bits, 64 hex characters about 250,
32 hex characters about 110 (not enough).
"""

from __future__ import annotations

import math
from collections import Counter

SECRET_MIN_LENGTH = 32
SECRET_MIN_ENTROPY_BITS = 128
SECRET_RULE = (
    f"a random value of at least {SECRET_MIN_LENGTH} characters with an estimated entropy of "
    f"at least {SECRET_MIN_ENTROPY_BITS} bits (length x Shannon entropy of its characters), "
    "not an example value; generate one with "
    "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
)


def estimated_entropy_bits(value: str) -> float:
    """`len(value) * H`, H the Shannon entropy (bits per character) of the value's own
    character frequencies; 0 for an empty or single-character-repeated value."""
    n = len(value)
    if n == 0:
        return 0.0
    entropy = -sum(k / n * math.log2(k / n) for k in Counter(value).values())
    return n * max(entropy, 0.0)


def secret_problem(value: str, *examples: str) -> str | None:
    """Why `value` is not acceptable as a production secret (never quoting it), or None."""
    if value in examples or "change-me" in value.lower():
        reason = "it is an example value"
    elif len(value) < SECRET_MIN_LENGTH:
        reason = f"it has {len(value)} characters"
    elif (bits := estimated_entropy_bits(value)) < SECRET_MIN_ENTROPY_BITS:
        reason = f"its estimated entropy is {bits:.0f} bits"
    else:
        return None
    return f"{reason}; it must be {SECRET_RULE}"
