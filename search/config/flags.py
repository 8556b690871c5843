"""Command-line flags generated from the configuration's fields (``config.setting``): adding a
setting is one field, and its flag, help, parsing and resume rule come with it."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, Field, fields, is_dataclass
from typing import Any, Iterator

from search.config.setting import Flag, flag_name, flag_of


def flagged(cls: type, only: set[str] | None = None, prefix: str = "") -> Iterator[tuple[str, Field, Flag]]:
    """(dest, field, flag) of every field of ``cls`` and of its groups that has a flag (those
    whose path or group is in ``only``, if given); ``dest`` is the field's path, e.g. ``train.epochs``."""
    for f in fields(cls):
        if is_dataclass(f.default):
            yield from flagged(type(f.default), only, f"{prefix}{f.name}.")
        elif (spec := flag_of(f)) is not None and (only is None or (prefix + f.name) in only or
                                                  prefix.partition(".")[0] in only):
            yield prefix + f.name, f, spec


def add_flags(parser: argparse.ArgumentParser, cls: type, only: set[str] | None = None, default: str = "") -> None:
    """A flag for each setting of ``cls`` (those whose path or group is in ``only``, if given);
    each defaults to None, so that ``given`` tells what the user set. ``default``: what --help
    names as every flag's default, where it is not the field's (e.g. "the study's")."""
    for dest, f, spec in flagged(cls, only):
        help_text = f"{spec.help} (default {default})" if default else _help(f, spec)
        parser.add_argument(flag_name(f), dest=dest, help=help_text.replace("%", "%%"), **_kind(f, spec))


def _kind(f: Field, spec: Flag) -> dict[str, Any]:
    if isinstance(f.default, bool):
        return {"action": "store_true", "default": None}
    kind: dict[str, Any] = {"type": spec.parse or (type(f.default) if f.default not in (None, MISSING) else str)}
    if spec.choices:
        kind["choices"] = spec.choices
    if spec.nargs:
        kind["nargs"] = spec.nargs
    if not spec.choices:
        kind["metavar"] = spec.metavar or f.name.upper()
    return kind


def _help(f: Field, spec: Flag) -> str:
    if isinstance(f.default, bool) or "default" in spec.help:
        return spec.help
    shown = spec.shown_default or (",".join(f.default) or "none" if isinstance(f.default, tuple) else f"{f.default:g}"
                                   if isinstance(f.default, float) else str(f.default))
    return f"{spec.help} (default {shown})"


def given(args: argparse.Namespace, cls: type, only: set[str] | None = None) -> dict[str, Any]:
    """The settings the user gave to the flags ``add_flags(parser, cls, only)`` made, as ``cls``'s
    keyword arguments (a group's as a dict of its own)."""
    out: dict[str, Any] = {}
    for dest, f, spec in flagged(cls, only):
        value = getattr(args, dest, None)
        if value is None:
            continue
        *groups, _ = dest.split(".")
        into = out
        for group in groups:
            into = into.setdefault(group, {})
        if spec.sets:
            into.update(zip(spec.sets, value))
        else:
            into[f.name] = tuple(value) if isinstance(value, list) else value
    return out
