"""Change data capture from a PostgreSQL source: a publication, a logical slot, its changes.

Each CDC table owns one publication (just that table) and one ``pgoutput`` slot on its source,
so each raw asset keeps its own position and syncs, backfills and retries on its own, as in
cursor mode. The slot is created on a replication connection with an exported snapshot: the
initial copy is read in exactly that snapshot, so every change after it is in the slot and
none before it. Later syncs *peek* at the slot (nothing is consumed), and the slot is advanced
only once the warehouse has committed the changes with their position; see ``ingest/sync.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from aura_platform.sources import pgoutput
from aura_platform.sources.postgres import SqlSource
from aura_platform.warehouse.connection import connect

_PEEK_BATCH = 5000  # messages fetched per round trip from the peek cursor
# The slot's pending messages, none consumed; parameters: the slot and the publication (both
# named by ``cdc_name``). Messages (``pg_logical_emit_message``) carry the heartbeat.
PEEK_QUERY = (
    "select data from pg_logical_slot_peek_binary_changes(%s, null, null, "
    "'proto_version', '1', 'publication_names', %s, 'messages', 'true')"
)


class CdcSetupError(RuntimeError):
    """The source cannot publish this table's changes as configured; the message says why."""


@dataclass(frozen=True)
class SlotState:
    confirmed_lsn: int
    active: bool


def cdc_name(source_name: str, table: str) -> str:
    """The slot and publication name of a table: ``aura_<source>_<table>``, at most 63 bytes."""
    name = f"aura_{source_name}_{table}"
    if len(name) <= 63:
        return name
    return f"{name[:54]}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"


class ChangeFeed:
    """One source table's publication and slot, managed through ordinary SQL connections."""

    def __init__(self, source: SqlSource, name: str, table: str) -> None:
        self.source = source
        self.name = name
        self.table = table
        self._conn: psycopg.Connection | None = None  # the open peek's, for ``type_names``

    def slot(self, conn: psycopg.Connection) -> SlotState | None:
        """The slot's acknowledged position, or None when it does not exist (never or dropped)."""
        row = conn.execute(
            "select confirmed_flush_lsn::text, active from pg_replication_slots "
            "where slot_name = %s and database = current_database()",
            (self.name,),
        ).fetchone()
        return SlotState(pgoutput.parse_lsn(row[0]), row[1]) if row and row[0] else None

    def ensure_publication(self, conn: psycopg.Connection, primary_key: Sequence[str]) -> None:
        """Publish exactly this table, after making sure its deletes can be told apart by key.

        Publishing a table without a replica identity makes the *source's* UPDATEs and DELETEs
        fail, so that is refused here rather than discovered by the application.
        """
        relation = sql.Identifier(self.source.schema, self.table)
        identity = conn.execute(
            """
            select c.relreplident, coalesce(array_agg(a.attname::text) filter
                (where a.attname is not null), '{}')
            from pg_class c
            left join pg_index i on i.indrelid = c.oid and (
                (c.relreplident = 'd' and i.indisprimary)
                or (c.relreplident = 'i' and i.indisreplident))
            left join pg_attribute a on a.attrelid = c.oid and a.attnum = any(i.indkey)
            where c.oid = %s::regclass group by c.relreplident
            """,
            (relation.as_string(conn),),
        ).fetchone()
        assert identity is not None
        kind, columns = identity
        if kind != "f" and not set(primary_key) <= set(columns):
            raise CdcSetupError(
                f"{self.source.schema}.{self.table} has no replica identity covering "
                f"{', '.join(primary_key)} (its identity: {', '.join(columns) or 'none'}); give it "
                "that primary key, or ALTER TABLE ... REPLICA IDENTITY FULL, or use mode: cursor"
            )
        publication = sql.Identifier(self.name)
        exists = conn.execute(
            "select 1 from pg_publication where pubname = %s", (self.name,)
        ).fetchone()
        verb = (
            "alter publication {} set table {}" if exists else "create publication {} for table {}"
        )
        conn.execute(sql.SQL(verb).format(publication, relation))

    @contextmanager
    def create_slot(self) -> Iterator[tuple[int, str]]:
        """Create the slot; yield its start position and the exported snapshot's name.

        The snapshot stays importable (``SET TRANSACTION SNAPSHOT``) only while this replication
        connection is open and idle, so the initial copy runs inside this block.
        """
        with psycopg.connect(self.source.url, replication="database", autocommit=True) as repl:
            version = repl.info.server_version
            name = sql.Identifier(self.name).as_string(repl)
            options = "(SNAPSHOT 'export')" if version >= 150000 else "EXPORT_SNAPSHOT"
            result = repl.pgconn.exec_(
                f"CREATE_REPLICATION_SLOT {name} LOGICAL pgoutput {options}".encode()
            )
            if result.status != psycopg.pq.ExecStatus.TUPLES_OK:
                message = (result.error_message or b"").decode(errors="replace").strip()
                raise psycopg.OperationalError(f"could not create slot {self.name}: {message}")
            consistent = result.get_value(0, 1)
            snapshot = result.get_value(0, 2)
            assert consistent is not None and snapshot is not None
            yield pgoutput.parse_lsn(consistent.decode()), snapshot.decode()

    def drop(self, conn: psycopg.Connection) -> None:
        """Drop the slot (the source may then recycle its WAL) and the publication."""
        conn.execute(
            "select pg_drop_replication_slot(slot_name) from pg_replication_slots "
            "where slot_name = %s and database = current_database()",
            (self.name,),
        )
        conn.execute(sql.SQL("drop publication if exists {}").format(sql.Identifier(self.name)))

    def heartbeat(self, conn: psycopg.Connection) -> None:
        """Commit a tiny marker transaction on the source, so the next peek ends on a commit.

        Raw's position is the end of the last commit a sync has seen; without this, a table
        that does not change would never move its slot, which would hold the source's WAL back
        for as long (Debezium's heartbeat solves the same problem the same way).
        """
        conn.execute("select pg_logical_emit_message(true, 'aura_cdc', %s)", (self.name,))

    def advance(self, conn: psycopg.Connection, lsn: int) -> None:
        """Acknowledge everything before ``lsn``: the source may forget it from now on."""
        conn.execute(
            "select pg_replication_slot_advance(%s, %s::pg_lsn)",
            (self.name, pgoutput.format_lsn(lsn)),
        )

    def peek(self) -> Iterator[pgoutput.Message]:
        """Decoded messages of every transaction committed so far, without consuming them.

        Read through a server-side cursor so a large backlog streams instead of filling memory,
        in binary format so the messages arrive as bytes rather than as hex text to decode.
        ``type_names`` runs on this connection while it is open, to spare a second one.
        """
        with connect(self.source.url) as conn, conn.transaction():
            self._conn = conn
            try:
                cursor = conn.cursor(name="aura_cdc_peek")
                cursor.itersize = _PEEK_BATCH
                cursor.execute(PEEK_QUERY, (self.name, self.name), binary=True)
                decode = pgoutput.decode
                for (data,) in cursor:
                    yield decode(data)
            finally:
                self._conn = None

    def type_names(self, columns: Sequence[pgoutput.RelationColumn]) -> list[str]:
        """PostgreSQL's names of a relation message's column types, as the raw mirror uses them."""
        query = (
            "select format_type(t, m) from unnest(%s::oid[], %s::int[]) "
            "with ordinality as c(t, m, n) order by n"
        )
        params = ([c.type_oid for c in columns], [c.type_modifier for c in columns])
        if self._conn is not None:
            return [row[0] for row in self._conn.execute(query, params)]
        with connect(self.source.url, autocommit=True) as conn:
            return [row[0] for row in conn.execute(query, params)]
