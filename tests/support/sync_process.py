"""One ``sync_table`` of a PostgreSQL source table, in a process of its own so a test can kill it.

Usage: ``python tests/support/sync_process.py SOURCE_NAME TABLE SOURCE_URL``. The warehouse comes
from the environment (``Settings.from_env()``), as in any Aura process.
"""

from __future__ import annotations

import sys

from aura_platform.config.models import SourceConfig, TableConfig
from aura_platform.lib.sync import TableSync, sync_table
from aura_platform.settings import Settings
from aura_platform.sources.sql_database import SqlSource


def sql_table_spec(source_name: str, table: str) -> TableSync:
    """The spec both this process and the test use: a table synced incrementally on write_date."""
    source = SourceConfig(
        transport="sql",
        connection_env="AURA_FAULTS_SOURCE_URL",
        tables={table: TableConfig(cursor="write_date")},
    )
    return TableSync(source_name, source, table, source.tables[table])


def main(argv: list[str]) -> None:
    source_name, table, source_url = argv
    sync_table(
        sql_table_spec(source_name, table),
        warehouse_url=Settings.from_env().warehouse_url,
        source=SqlSource(source_url),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
