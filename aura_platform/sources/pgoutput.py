"""Decoding of PostgreSQL's ``pgoutput`` logical replication messages, protocol version 1.

The format is PostgreSQL's own (chapter "Logical Replication Message Formats"); there is no
decoder in Aura's locked dependencies, and version 1 is small: a transaction is ``Begin``, the
``Relation`` of each table before its first change (and again after any schema change), then
``Insert``/``Update``/``Delete``/``Truncate``, then ``Commit``. Values arrive in PostgreSQL's text
form, which is what COPY and the raw tables take; ``UNCHANGED`` stands for a TOASTed value that
an UPDATE left untouched and therefore did not send.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final


class _Unchanged:
    """The marker of a TOASTed value the source did not resend (it did not change)."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = _Unchanged()
Value = str | None | _Unchanged


@dataclass(frozen=True)
class RelationColumn:
    name: str
    type_oid: int
    type_modifier: int
    is_key: bool


@dataclass(frozen=True)
class Relation:
    """A table's shape as the stream describes it: sent before its first change in a session."""

    oid: int
    schema: str
    name: str
    replica_identity: str
    columns: tuple[RelationColumn, ...]


@dataclass(frozen=True)
class Begin:
    final_lsn: int
    xid: int


@dataclass(frozen=True)
class Commit:
    commit_lsn: int  # where the commit record starts: what the server's skip rule compares
    end_lsn: int


@dataclass(frozen=True)
class Insert:
    relation: int
    new: tuple[Value, ...]


@dataclass(frozen=True)
class Update:
    relation: int
    new: tuple[Value, ...]
    old: tuple[Value, ...] | None  # the old key (or whole row) when it changed or is FULL


@dataclass(frozen=True)
class Delete:
    relation: int
    old: tuple[Value, ...]  # the replica identity: the key, or the whole row when FULL


@dataclass(frozen=True)
class Truncate:
    relations: tuple[int, ...]


@dataclass(frozen=True)
class Ignored:
    """Origin, Type and logical-decoding messages: nothing for a raw mirror to apply."""

    kind: str


Message = Begin | Commit | Relation | Insert | Update | Delete | Truncate | Ignored


_INT16 = struct.Struct("!h")
_INT32 = struct.Struct("!i")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def unpack(self, fmt: str) -> tuple[int, ...]:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def byte(self) -> str:
        self.pos += 1
        return chr(self.data[self.pos - 1])

    def string(self) -> str:
        end = self.data.index(b"\0", self.pos)
        text = self.data[self.pos : end].decode()
        self.pos = end + 1
        return text

    def tuple_data(self) -> tuple[Value, ...]:
        """A row's values; the hot loop of a sync, so written with locals, not helpers."""
        data, pos = self.data, self.pos
        (count,) = _INT16.unpack_from(data, pos)
        pos += 2
        values: list[Value] = []
        append = values.append
        unpack = _INT32.unpack_from
        for _ in range(count):
            kind = data[pos]
            pos += 1
            if kind == 0x74:  # 't'
                (length,) = unpack(data, pos)
                pos += 4
                end = pos + length
                append(data[pos:end].decode())
                pos = end
            elif kind == 0x6E:  # 'n'
                append(None)
            elif kind == 0x75:  # 'u'
                append(UNCHANGED)
            else:
                raise ValueError(f"pgoutput: unexpected tuple value kind {chr(kind)!r}")
        self.pos = pos
        return tuple(values)


def decode(data: bytes) -> Message:
    """One pgoutput message, as returned by ``pg_logical_slot_peek_binary_changes``."""
    r = _Reader(data)
    kind = r.byte()
    if kind == "B":
        final_lsn, _timestamp, xid = r.unpack("!QqI")
        return Begin(final_lsn, xid)
    if kind == "C":
        _flags, commit_lsn, end_lsn, _timestamp = r.unpack("!bQQq")
        return Commit(commit_lsn, end_lsn)
    if kind == "R":
        (oid,) = r.unpack("!I")
        schema, name = r.string(), r.string()
        identity = r.byte()
        (count,) = r.unpack("!h")
        columns = []
        for _ in range(count):
            (flags,) = r.unpack("!b")
            column = r.string()
            type_oid, modifier = r.unpack("!Ii")
            columns.append(RelationColumn(column, type_oid, modifier, bool(flags & 1)))
        return Relation(oid, schema, name, identity, tuple(columns))
    if kind == "I":
        (oid,) = r.unpack("!I")
        r.byte()  # 'N'
        return Insert(oid, r.tuple_data())
    if kind == "U":
        (oid,) = r.unpack("!I")
        old = None
        marker = r.byte()
        if marker in ("K", "O"):
            old = r.tuple_data()
            marker = r.byte()
        return Update(oid, r.tuple_data(), old)
    if kind == "D":
        (oid,) = r.unpack("!I")
        r.byte()  # 'K' or 'O'
        return Delete(oid, r.tuple_data())
    if kind == "T":
        count, _options = r.unpack("!ib")
        return Truncate(r.unpack(f"!{count}I"))
    return Ignored(kind)


def format_lsn(lsn: int) -> str:
    """An LSN as PostgreSQL writes it (``16/B374D848``)."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def parse_lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)
