"""What the PostgreSQL catalog says about a table, for any PostgreSQL Aura talks to.

The same question is asked of a source database (which columns to mirror) and of the warehouse
(which columns raw already has), so it is written once here.
"""

from __future__ import annotations

import psycopg


def table_columns(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str]]:
    """``(name, type)`` of the table's live columns in order; empty when there is no such table.

    Types are ``format_type``'s, with modifiers (``numeric(12,2)``, ``character varying(64)``),
    so a mirror built from them is faithful.
    """
    rows = conn.execute(
        """
        select a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped
        order by a.attnum
        """,
        (schema, table),
    ).fetchall()
    return [(name, type_) for name, type_ in rows]
