"""Tables described as data (CSV column lists) turned into DDL, COPY loads and foreign keys.

Both demo databases go through these helpers: a column list names each column's PostgreSQL type and
the table a many2one points to, so the DDL, the load order and the constraints all follow from it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

# Types the column lists may use; anything else is a typo in a CSV, not a new type.
PG_TYPES = frozenset(
    {
        "integer",
        "bigint",
        "varchar",
        "text",
        "boolean",
        "date",
        "numeric",
        "double precision",
        "jsonb",
        "timestamp without time zone",
        "timestamp with time zone",
    }
)


@dataclass(frozen=True)
class Column:
    table: str
    name: str
    pg_type: str
    relation_table: str | None


Tables = dict[str, list[Column]]
Row = Mapping[str, Any]


def read_columns(path: Path, tables: Iterable[str] | None = None) -> Tables:
    """Columns per table from a ``table,column,pg_type,relation_table,...`` CSV, in file order.

    Args:
        path: the CSV; extra columns (notes, Odoo field types) are ignored.
        tables: keep only these tables (all when None).
    """
    wanted = None if tables is None else set(tables)
    result: Tables = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            if wanted is not None and record["table"] not in wanted:
                continue
            if record["pg_type"] not in PG_TYPES:
                raise ValueError(
                    f"{path.name}: {record['table']}.{record['column']} has "
                    f"unknown pg_type {record['pg_type']!r}"
                )
            column = Column(
                record["table"],
                record["column"],
                record["pg_type"],
                record["relation_table"] or None,
            )
            result.setdefault(column.table, []).append(column)
    return result


def create_tables(conn: psycopg.Connection, tables: Tables) -> None:
    """Create each table; an integer ``id`` becomes a serial primary key, as the ORM makes it."""
    for table, columns in tables.items():
        parts = [_column_ddl(column) for column in columns]
        conn.execute(
            sql.SQL("create table {} ({})").format(sql.Identifier(table), sql.SQL(", ").join(parts))
        )


def copy_rows(
    conn: psycopg.Connection, table: str, columns: list[Column], rows: Iterable[Row]
) -> int:
    """COPY ``rows`` into ``table``; a column missing from a row is loaded as NULL."""
    names = [column.name for column in columns]
    known = set(names)
    json_columns = {column.name for column in columns if column.pg_type == "jsonb"}
    statement = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            if not known.issuperset(row):
                raise ValueError(f"{table}: unknown columns {sorted(set(row) - known)}")
            copy.write_row([_adapt(row.get(name), name in json_columns) for name in names])
            count += 1
    return count


def reset_sequences(conn: psycopg.Connection, tables: Tables) -> None:
    """Move each serial past the largest loaded id, so the next insert does not collide."""
    for table, columns in tables.items():
        if not any(c.name == "id" and c.pg_type == "integer" for c in columns):
            continue
        conn.execute(
            sql.SQL(
                "select setval(pg_get_serial_sequence(%s, 'id'), "
                "coalesce((select max(id) from {}), 0) + 1, false)"
            ).format(sql.Identifier(table)),
            (table,),
        )


def add_foreign_keys(conn: psycopg.Connection, tables: Tables) -> int:
    """Add a foreign key for every column whose relation table exists here; return how many.

    Relations to tables the demo does not build (res_company, account_journal...) stay plain
    integers, as they would in a database restored without those modules' data.
    """
    added = 0
    for table, columns in tables.items():
        for column in columns:
            if column.relation_table is None or column.relation_table not in tables:
                continue
            conn.execute(
                sql.SQL(
                    "alter table {} add constraint {} foreign key ({}) references {} (id) "
                    "on delete set null"
                ).format(
                    sql.Identifier(table),
                    sql.Identifier(f"{table}_{column.name}_fkey"),
                    sql.Identifier(column.name),
                    sql.Identifier(column.relation_table),
                )
            )
            added += 1
    return added


def load(conn: psycopg.Connection, tables: Tables, book: RowBook) -> dict[str, int]:
    """Create ``tables``, COPY their rows from ``book``, then fix sequences and add foreign keys.

    Constraints come last so rows can be loaded in any order (users and partners point at each
    other); returns the row count per table.
    """
    create_tables(conn, tables)
    counts = {
        table: copy_rows(conn, table, columns, book.rows(table))
        for table, columns in tables.items()
    }
    reset_sequences(conn, tables)
    add_foreign_keys(conn, tables)
    return counts


def _column_ddl(column: Column) -> sql.Composable:
    """``id`` is the only column with a constraint at creation; foreign keys come after the load."""
    if column.name == "id":
        kind = (
            "serial primary key" if column.pg_type == "integer" else f"{column.pg_type} primary key"
        )
        return sql.SQL("{} {}").format(sql.Identifier(column.name), sql.SQL(kind))
    return sql.SQL("{} {}").format(sql.Identifier(column.name), sql.SQL(column.pg_type))


def _adapt(value: Any, is_json: bool) -> Any:
    """jsonb values need psycopg's wrapper; a bare dict would not know its target type."""
    if is_json and value is not None:
        return Jsonb(value)
    return value


class RowBook:
    """Rows per table, numbered from 1 in insertion order, as a fresh serial would number them."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {}

    def add(self, table: str, row: dict[str, Any]) -> int:
        """Append ``row`` to ``table``, give it the next id and return that id."""
        rows = self.tables.setdefault(table, [])
        row["id"] = len(rows) + 1
        rows.append(row)
        return row["id"]

    def rows(self, table: str) -> list[dict[str, Any]]:
        return self.tables.get(table, [])
