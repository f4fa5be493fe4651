"""Schema drift between a source and its raw mirror, decided without touching the database.

Policy: a new source column is added; a type change widens the raw column when every old value
fits the new type losslessly; any other type change keeps the raw type and quarantines only the
rows whose value does not convert; a column gone from the source stays in raw, NULL from then on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aura_platform.sources.base import Column

_INTEGERS = ["smallint", "integer", "bigint"]
_FLOATS = ["real", "double precision"]
_STRING = re.compile(r"^(character varying|varchar|character|char)(\((\d+)\))?$")
_NUMERIC = re.compile(r"^numeric(\((\d+)(,(\d+))?\))?$")


@dataclass(frozen=True)
class TypeChange:
    column: str
    raw_type: str
    source_type: str


@dataclass
class DriftPlan:
    added: list[Column] = field(default_factory=list)
    widened: list[TypeChange] = field(default_factory=list)
    conflicts: list[TypeChange] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.widened or self.conflicts or self.removed)


def _normalise(pg_type: str) -> str:
    return " ".join(pg_type.lower().split())


def is_safe_widening(old: str, new: str) -> bool:
    """Whether every value of type ``old`` is represented exactly by type ``new``."""
    old, new = _normalise(old), _normalise(new)
    if old == new:
        return True
    if old in _INTEGERS and new in _INTEGERS:
        return _INTEGERS.index(new) >= _INTEGERS.index(old)
    if old in _INTEGERS and _NUMERIC.match(new):
        m = _NUMERIC.match(new)
        assert m is not None
        if m[2] is None:
            return True
        digits = int(m[2]) - int(m[4] or 0)
        return digits >= {"smallint": 5, "integer": 10, "bigint": 19}[old]
    if old == "real" and new == "double precision":
        return True
    if (o := _NUMERIC.match(old)) and (n := _NUMERIC.match(new)):
        if n[2] is None:
            return True
        if o[2] is None:
            return False
        old_scale, new_scale = int(o[4] or 0), int(n[4] or 0)
        return new_scale >= old_scale and int(n[2]) - new_scale >= int(o[2]) - old_scale
    if (o := _STRING.match(old)) and (new == "text" or _STRING.match(new)):
        if new == "text":
            return True
        n = _STRING.match(new)
        assert n is not None
        return n[3] is None or (o[3] is not None and int(n[3]) >= int(o[3]))
    if old == "date" and new.startswith("timestamp"):
        return True
    return old == "timestamp without time zone" and new == "timestamp with time zone"


def plan_drift(raw: dict[str, str], source: list[Column], metadata: set[str]) -> DriftPlan:
    """What to do about the differences between the raw mirror's columns and the source's."""
    plan = DriftPlan()
    if not raw:
        return plan
    for column in source:
        current = raw.get(column.name)
        if current is None:
            plan.added.append(column)
        elif _normalise(current) != _normalise(column.pg_type):
            change = TypeChange(column.name, current, column.pg_type)
            if is_safe_widening(current, column.pg_type):
                plan.widened.append(change)
            else:
                plan.conflicts.append(change)
    names = {c.name for c in source}
    plan.removed = [c for c in raw if c not in names and c not in metadata]
    return plan
