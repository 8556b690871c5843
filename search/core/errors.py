"""The project's kinds of bad input: each a ValueError whose one-line message says what to do
(the commands print it and exit 2), and the checks of numbers a user gives."""

from __future__ import annotations


class StudyError(ValueError):
    """A study cannot start as asked; the message says what to do."""


def one_line(err: BaseException) -> str:
    """An exception as one short line: its type and its message with white space folded."""
    text = " ".join(str(err).split()) or "no message"
    return f"{type(err).__name__}: {text}"[:300]


def require_int(flag: str, value: object, low: int) -> int:
    """``value`` if it is an integer (not a bool) >= ``low``; else ValueError naming ``flag``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{flag} must be an integer >= {low}, got {value!r}")
    return value
