"""A table's change stream folded into what raw must become, one row state per key.

Changes are folded in commit order: an insert or update makes the key's row its new values, a
delete makes it a tombstone, a truncate forgets everything folded so far and tombstones the whole
table. Only each key's last state is applied, so a row updated twice in one transaction (or
inserted and deleted between two syncs) costs one write. A transaction that committed before the
position raw already holds is skipped: it was applied by a sync that committed and then died
before acknowledging it to the source.

A relation message whose columns differ from those folded so far (an ALTER TABLE on the source)
closes a ``Segment``: the caller applies it with the old columns, runs drift handling on the new
ones, and goes on, so each row is loaded with the shape it had when it changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from aura_platform.sources import pgoutput
from aura_platform.sources.base import Column

Key = tuple[pgoutput.Value, ...]


@dataclass
class Segment:
    """Net changes to apply with one set of columns: rows by key (None = deleted)."""

    columns: list[Column]
    rows: dict[Key, list[pgoutput.Value] | None] = field(default_factory=dict)
    truncated: bool = False  # tombstone every live row before applying ``rows``

    @property
    def empty(self) -> bool:
        return not self.rows and not self.truncated


@dataclass
class FoldStats:
    transactions: int = 0
    skipped_transactions: int = 0  # committed in raw already, not yet acknowledged
    changes: int = 0
    truncates: int = 0
    last_commit_end: int = 0  # raw's next position: the end of the last commit seen


def fold(
    messages: Iterable[pgoutput.Message],
    *,
    schema: str,
    table: str,
    primary_key: Sequence[str],
    applied_until: int,
    type_names: Callable[[Sequence[pgoutput.RelationColumn]], list[str]],
    stats: FoldStats,
) -> Iterator[Segment]:
    """Segments of net changes, in commit order, from a slot's pgoutput messages.

    Args:
        messages: Decoded messages of whole transactions, as the slot returns them.
        schema: The source table's schema, to pick its relation out of the stream.
        table: The source table.
        primary_key: The configured key; the replica identity must cover it.
        applied_until: Raw's stored position; transactions committed before it are skipped.
        type_names: Resolves a relation's column types to PostgreSQL type names.
        stats: Counts filled in as messages are read.
    """
    ours: set[int] = set()
    shape: tuple[pgoutput.RelationColumn, ...] | None = None  # of the latest relation message
    segment: Segment | None = None
    segment_shape = shape
    key_at: list[int] = []
    skipping = False
    for message in messages:
        if isinstance(message, pgoutput.Begin):
            skipping = message.final_lsn < applied_until
            if skipping:
                stats.skipped_transactions += 1
            else:
                stats.transactions += 1
        elif isinstance(message, pgoutput.Relation):
            if (message.schema, message.name) == (schema, table):
                ours.add(message.oid)
                shape = message.columns
        elif isinstance(message, pgoutput.Commit):
            stats.last_commit_end = max(stats.last_commit_end, message.end_lsn)
        elif skipping or isinstance(message, pgoutput.Ignored):
            continue
        elif isinstance(message, pgoutput.Truncate):
            if ours & set(message.relations):
                stats.truncates += 1
                if segment is not None:
                    segment.rows.clear()
                    segment.truncated = True
                # A truncate before any row change still needs a segment (with the last shape).
                elif shape is not None:
                    segment, segment_shape = _new_segment(shape, type_names), shape
                    segment.truncated = True
                    key_at = _key_positions(shape, primary_key)
        elif message.relation in ours:
            assert shape is not None, "pgoutput sends a relation before its first change"
            if segment is None or shape != segment_shape:
                if segment is not None and not segment.empty:
                    yield segment
                segment, segment_shape = _new_segment(shape, type_names), shape
                key_at = _key_positions(shape, primary_key)
            stats.changes += 1
            _apply(segment, message, key_at)
    if segment is not None and not segment.empty:
        yield segment


def _new_segment(
    shape: tuple[pgoutput.RelationColumn, ...],
    type_names: Callable[[Sequence[pgoutput.RelationColumn]], list[str]],
) -> Segment:
    types = type_names(shape)
    return Segment([Column(c.name, t) for c, t in zip(shape, types, strict=True)])


def _key_positions(
    shape: tuple[pgoutput.RelationColumn, ...], primary_key: Sequence[str]
) -> list[int]:
    names = [c.name for c in shape]
    missing = [k for k in primary_key if k not in names]
    if missing:
        raise ValueError(f"the change stream lacks key column(s) {', '.join(missing)}")
    return [names.index(k) for k in primary_key]


def _apply(
    segment: Segment,
    change: pgoutput.Insert | pgoutput.Update | pgoutput.Delete,
    key_at: list[int],
) -> None:
    """Fold one row change into the segment (last state per key wins)."""
    if isinstance(change, pgoutput.Delete):
        segment.rows[tuple(change.old[i] for i in key_at)] = None
        return
    new = list(change.new)
    key = tuple(new[i] for i in key_at)
    if isinstance(change, pgoutput.Update) and change.old is not None:
        old_key = tuple(change.old[i] for i in key_at)
        if old_key != key:
            previous = segment.rows.get(old_key)
            segment.rows[old_key] = None  # the key changed: the old key's row is gone
            _fill_unchanged(new, previous)
    _fill_unchanged(new, segment.rows.get(key))
    segment.rows[key] = new


def _fill_unchanged(new: list[pgoutput.Value], previous: list[pgoutput.Value] | None) -> None:
    """An unsent TOASTed value is the one folded before, if this batch has it."""
    if previous is None:
        return
    for i, value in enumerate(new):
        if value is pgoutput.UNCHANGED:
            new[i] = previous[i]
