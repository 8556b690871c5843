"""A saved study.json, of any version this project wrote, as the keyword arguments of today's
``StudyConfig``: settings kept flat beside each other are moved into their group, and settings
that did not exist yet take the values those studies ran with."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import spaces
from search.config.setting import nested

# ASHA's settings before they were settings: such a study resumes with the schedule it had
UNSET_SCHEDULE = {"reduction_factor": 3, "brackets": 1}


def upgraded(text: str, cls: type) -> dict[str, Any]:
    """``text``'s settings for ``cls(**...)``; ValueError (one line) when it is not a study's."""
    try:
        data = json.loads(text)
    except ValueError as err:
        raise ValueError(f"study.json is not valid JSON ({err}): restore it, or start a new study with --name") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(f.name, {}), dict) for f, _ in nested(cls)):
        raise ValueError("study.json does not hold a study's settings (a JSON object): restore it, "
                         "or start a new study with --name")
    if "epochs" in data:  # the epoch budget sat beside the training settings
        data["train"] = {**data.get("train", {}), "epochs": data.pop("epochs")}
    for f, group in nested(cls):  # a group's settings written flat, beside the others
        own = {g.name for g in fields(group)}
        data[f.name] = {**{k: data.pop(k) for k in list(data) if k in own and f.name != "train"}, **data.get(f.name, {})}
    if isinstance(data.get("space"), str):  # a name that has moved on since: the version it meant
        data["space"] = spaces.as_stored(data["space"])
    data.setdefault("start_from", "")  # written before the hand designs ran by default: it queued none
    schedule = data.setdefault("schedule", {})
    if "grace_period" not in schedule:  # written before the schedule was a setting: its grace was epochs // 5
        schedule.update(UNSET_SCHEDULE, grace_period=max(1, int(data["train"].get("epochs", 10)) // 5))
    known = {f.name for f in fields(cls)}
    out = {k: v for k, v in data.items() if k in known}
    for f, group in nested(cls):
        own = {g.name for g in fields(group)}
        out[f.name] = {k: v for k, v in out.get(f.name, {}).items() if k in own}
    return out
