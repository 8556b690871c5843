"""Credentials out of everything printed or written: URLs with their secrets masked. No
imports beyond the standard library, so the lock and the CLI can use it."""

from __future__ import annotations

import re

SECRET_KEYS = ("password", "passwd", "pwd", "token", "secret", "access_key", "secret_key", "sas_token", "session_token",
               "sig", "credential", "private_key")


def mask_password(url: str) -> str:
    """``url`` with every credential replaced by ``***``: the password of ``user:password@``
    (up to the *last* ``@``, as a password may contain one) and query values whose key names
    a secret (``?password=``, ``token``, ...)."""
    scheme, sep, rest = url.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        if "@" in authority:
            userinfo, _, host = authority.rpartition("@")
            user = userinfo.split(":", 1)[0]
            authority = f"{user}:***@{host}" if ":" in userinfo else authority
        rest = authority + slash + path
    masked = scheme + sep + rest
    keys = "|".join(SECRET_KEYS)
    return re.sub(rf"(?i)([?&;](?:{keys})=)[^&;#]*", r"\1***", masked)


def mask_words(text: str) -> str:
    """Every URL-looking word of ``text`` (a command line, say) masked."""
    return " ".join(mask_password(word) if "://" in word or "=" in word else word for word in text.split(" "))
