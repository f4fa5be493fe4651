"""One ``sync_table`` of a PostgreSQL source table, in a process of its own so a test can kill it.

Usage: ``python tests/support/sync_process.py SOURCE_NAME TABLE SOURCE_URL [MODE [DIE_AT]]``.
The warehouse comes from the environment (``Settings.from_env()``), as in any Aura process.

``MODE`` is ``cursor`` (the default) or ``cdc``. ``DIE_AT`` makes the process SIGKILL itself at
one exact point of a CDC sync, for the crash tests: ``applied`` (every change applied to raw and
its position written, the warehouse transaction not yet committed) or ``committed`` (committed,
the source not yet told, i.e. before ``pg_replication_slot_advance``).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any, Literal

from aura_platform.config.models import SourceConfig, TableConfig
from aura_platform.ingest import sync
from aura_platform.ingest.sync import TableSync, sync_table
from aura_platform.settings import Settings
from aura_platform.sources.postgres import SqlSource
from aura_platform.sources.postgres_cdc import ChangeFeed


def sql_table_spec(
    source_name: str, table: str, mode: Literal["cursor", "cdc"] = "cursor"
) -> TableSync:
    """The spec both this process and the test use: a table synced incrementally on write_date."""
    source = SourceConfig(
        transport="sql",
        connection_env="AURA_FAULTS_SOURCE_URL",
        mode=mode,
        tables={table: TableConfig(cursor="write_date")},
    )
    return TableSync(source_name, source, table, source.tables[table])


def _die(*_: Any, **__: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _die_after(function: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        function(*args, **kwargs)
        _die()

    return wrapper


def main(argv: list[str]) -> None:
    source_name, table, source_url, *rest = argv
    mode = rest[0] if rest else "cursor"
    die_at = rest[1] if len(rest) > 1 else None
    if die_at == "applied":
        sync._store_position = _die_after(sync._store_position)  # type: ignore[assignment]
    elif die_at == "committed":
        ChangeFeed.advance = _die  # type: ignore[method-assign]
    sync_table(
        sql_table_spec(source_name, table, mode),  # type: ignore[arg-type]
        warehouse_url=Settings.from_env().warehouse_url,
        source=SqlSource(source_url),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
