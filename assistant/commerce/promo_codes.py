"""Short random codes shoppers can read and type: coupon codes, invite codes, group-buy ids."""

from __future__ import annotations

import secrets
from typing import Final

# Crockford's base32: digits and capitals without I, L, O, U, so nothing is mistaken for 1 or 0.
ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# What shoppers type instead: lower case is fine, and the look-alike letters mean the digits.
_LOOKALIKES: Final = str.maketrans({"I": "1", "L": "1", "O": "0"})


def random_code(length: int = 8) -> str:
    """A code of ``length`` base32 characters from the OS random source (5 bits each).

    Eight characters are 40 bits: about a trillion codes, so guessing someone's code in a chat,
    where every attempt is a rate-limited message, is hopeless.
    """
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalize_code(text: str) -> str:
    """The code as stored: spaces and dashes dropped, upper case, look-alike letters fixed."""
    compact = "".join(ch for ch in text if not ch.isspace() and ch != "-")
    return compact.upper().translate(_LOOKALIKES)
