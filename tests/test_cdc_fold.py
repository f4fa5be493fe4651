"""The pgoutput decoder and the folding of a change stream into one row state per key."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from aura_platform.ingest.cdc import FoldStats, fold
from aura_platform.sources import pgoutput

OID = 16400


def _tuple(*values: str | None) -> bytes:
    out = struct.pack("!h", len(values))
    for value in values:
        if value is None:
            out += b"n"
        elif value == "<toast>":
            out += b"u"
        else:
            out += b"t" + struct.pack("!i", len(value.encode())) + value.encode()
    return out


def _relation(*columns: str) -> bytes:
    body = struct.pack("!I", OID) + b"public\0lead\0d" + struct.pack("!h", len(columns))
    for name in columns:
        body += struct.pack("!b", name == "id") + name.encode() + b"\0" + struct.pack("!Ii", 23, -1)
    return b"R" + body


def _begin(lsn: int) -> bytes:
    return b"B" + struct.pack("!QqI", lsn, 0, 7)


def _commit(lsn: int) -> bytes:
    return b"C" + struct.pack("!bQQq", 0, lsn, lsn + 8, 0)


def _insert(*values: str | None) -> bytes:
    return b"I" + struct.pack("!I", OID) + b"N" + _tuple(*values)


def _update(new: Sequence[str | None], old_key: Sequence[str | None] | None = None) -> bytes:
    old = b"K" + _tuple(*old_key) if old_key else b""
    return b"U" + struct.pack("!I", OID) + old + b"N" + _tuple(*new)


def _delete(*key: str | None) -> bytes:
    return b"D" + struct.pack("!I", OID) + b"K" + _tuple(*key)


def _fold(raw: list[bytes], applied_until: int = 0) -> tuple[list[dict], FoldStats]:
    stats = FoldStats()
    segments = fold(
        (pgoutput.decode(m) for m in raw),
        schema="public",
        table="lead",
        primary_key=["id"],
        applied_until=applied_until,
        type_names=lambda cols: ["integer" if c.name == "id" else "text" for c in cols],
        stats=stats,
    )
    return [
        {"rows": s.rows, "truncated": s.truncated, "columns": s.columns} for s in segments
    ], stats


def test_lsns_are_written_and_read_as_postgresql_does() -> None:
    assert pgoutput.format_lsn(0x16B374D848) == "16/B374D848"
    assert pgoutput.parse_lsn("16/B374D848") == 0x16B374D848


def test_the_last_state_of_each_key_wins_and_an_unsent_toasted_value_is_carried_over() -> None:
    segments, stats = _fold(
        [
            _relation("id", "name", "notes"),
            _begin(100),
            _insert("1", "a", "long text"),
            _update(["1", "b", "<toast>"]),
            _insert("2", "x", None),
            _delete("2", None, None),
            _update(["4", "moved", "n"], old_key=["3", None, None]),
            _commit(100),
        ]
    )
    [segment] = segments
    assert segment["rows"] == {
        ("1",): ["1", "b", "long text"],
        ("2",): None,
        ("3",): None,
        ("4",): ["4", "moved", "n"],
    }
    assert (stats.transactions, stats.changes, stats.last_commit_end) == (1, 5, 108)


def test_transactions_raw_already_holds_are_skipped_and_a_truncate_forgets_what_came_before() -> (
    None
):
    segments, stats = _fold(
        [
            _relation("id", "name"),
            _begin(100),
            _insert("1", "applied before the crash"),
            _commit(100),
            _begin(200),
            _insert("2", "lost in the truncate"),
            b"T" + struct.pack("!ib", 1, 0) + struct.pack("!I", OID),
            _insert("3", "after"),
            _commit(200),
        ],
        applied_until=108,
    )
    [segment] = segments
    assert segment["truncated"] and segment["rows"] == {("3",): ["3", "after"]}
    assert (stats.skipped_transactions, stats.transactions, stats.truncates) == (1, 1, 1)


def test_a_new_relation_shape_closes_the_segment_so_each_row_keeps_its_columns() -> None:
    segments, _ = _fold(
        [
            _relation("id", "name"),
            _begin(100),
            _insert("1", "old shape"),
            _commit(100),
            _relation("id", "name", "added"),
            _begin(200),
            _insert("2", "new shape", "yes"),
            _commit(200),
        ]
    )
    assert [[c.name for c in s["columns"]] for s in segments] == [
        ["id", "name"],
        ["id", "name", "added"],
    ]
    assert segments[1]["rows"] == {("2",): ["2", "new shape", "yes"]}


def test_text_values_are_decoded_as_utf8_and_nulls_and_unsent_values_kept_apart() -> None:
    ascii_row = pgoutput.decode(_insert("1", "plain", None, "<toast>"))
    accented = pgoutput.decode(_insert("2", "Société Générale", "naïve", "\\x00"))
    assert isinstance(ascii_row, pgoutput.Insert) and isinstance(accented, pgoutput.Insert)
    assert ascii_row.new == ("1", "plain", None, pgoutput.UNCHANGED)
    assert accented.new == ("2", "Société Générale", "naïve", "\\x00")
