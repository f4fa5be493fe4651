"""Schema-drift decisions, without a database: which type changes widen raw and which conflict."""

import pytest

from aura_platform.ingest.drift import is_safe_widening, plan_drift
from aura_platform.sources.base import Column


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("integer", "bigint"),
        ("smallint", "integer"),
        ("numeric(10,2)", "numeric(12,2)"),
        ("numeric(10,2)", "numeric"),
        ("integer", "numeric(10,0)"),
        ("character varying(10)", "text"),
        ("character varying(20)", "character varying(100)"),
        ("character varying(20)", "character varying"),
        ("date", "timestamp without time zone"),
        ("timestamp without time zone", "timestamp with time zone"),
        ("real", "double precision"),
        ("Integer", "  integer "),
    ],
)
def test_a_change_that_keeps_every_old_value_exactly_is_a_safe_widening(old: str, new: str) -> None:
    assert is_safe_widening(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("bigint", "integer"),
        ("numeric(12,4)", "numeric(12,2)"),
        ("numeric(12,2)", "numeric(12,4)"),
        ("numeric", "numeric(12,2)"),
        ("integer", "numeric(9,0)"),
        ("text", "character varying(10)"),
        ("character varying(100)", "character varying(20)"),
        ("character varying", "character varying(20)"),
        ("timestamp with time zone", "timestamp without time zone"),
        ("timestamp without time zone", "date"),
        ("integer", "text"),
        ("text", "integer"),
        ("double precision", "real"),
        ("bigint", "double precision"),
    ],
)
def test_a_change_that_could_lose_or_alter_a_value_is_not_a_safe_widening(
    old: str, new: str
) -> None:
    assert not is_safe_widening(old, new)


def test_a_drift_plan_sorts_each_difference_into_added_widened_conflicting_or_removed() -> None:
    raw = {
        "id": "integer",
        "qty": "integer",
        "code": "character varying(20)",
        "legacy": "text",
        "_raw_id": "bigint",
    }
    source = [
        Column("id", "integer"),
        Column("qty", "text"),
        Column("code", "character varying(100)"),
        Column("region", "text"),
    ]

    plan = plan_drift(raw, source, {"_raw_id"})

    assert [c.name for c in plan.added] == ["region"]
    assert [(c.column, c.raw_type, c.source_type) for c in plan.widened] == [
        ("code", "character varying(20)", "character varying(100)")
    ]
    assert [(c.column, c.raw_type, c.source_type) for c in plan.conflicts] == [
        ("qty", "integer", "text")
    ]
    assert plan.removed == ["legacy"]


def test_a_table_not_mirrored_yet_has_no_drift() -> None:
    assert plan_drift({}, [Column("id", "integer")], set()).empty
