"""A configuration field that is also a command-line flag: its help, how its text is parsed, and
whether a resumed study may take it anew, declared once beside the field (``search.config.flags``
builds the parser from them, ``StudyConfig.resumed`` reads ``resumable``)."""

from __future__ import annotations

from dataclasses import Field, dataclass, field, fields, is_dataclass
from typing import Any, Callable, Iterator


@dataclass(frozen=True)
class Flag:
    help: str  # one line for --help; "(default X)" is added unless it names its default
    resumable: bool = False  # a resumed study may take a new value (resources, paths); else fixed at creation
    name: str = ""  # the flag ("": --<field-name> with dashes)
    parse: Callable[[str], Any] | None = None  # text -> value (None: the default's type)
    choices: tuple[str, ...] = ()  # the values allowed (argparse lists them)
    nargs: str | None = None  # "+" for a list
    metavar: str | None = None
    sets: tuple[str, ...] = ()  # a parsed tuple sets these fields, in order (MIN:MAX bounds)
    shown_default: str = ""  # the default as --help shows it ("": the field's default)


def setting(default: Any, help: str, **flag: Any) -> Any:
    """A field with a flag; ``flag`` takes ``Flag``'s other fields."""
    return field(default=default, metadata={"flag": Flag(help, **flag)})


def internal(default: Any) -> Any:
    """A field that code sets, never a flag (a trial's seed, whether a retraining keeps networks)."""
    return field(default=default, metadata={"flag": None})


def flag_of(f: Field) -> Flag | None:
    return f.metadata.get("flag")


def flag_name(f: Field) -> str:
    spec = flag_of(f)
    return (spec and spec.name) or "--" + f.name.replace("_", "-")


def nested(cls: type) -> Iterator[tuple[Field, type]]:
    """The fields of ``cls`` that are configurations of their own, with their classes."""
    for f in fields(cls):
        if is_dataclass(f.default):
            yield f, type(f.default)
