"""Raw ingestion assets, one per table in ``assets_config/sources.yaml``; no per-table code.

Every raw asset is unpartitioned: a run (the main job, the nightly schedule) syncs the whole
table incrementally from its watermark, so the UI shows each materialization as the table's
state. A backfill is the same asset run with the ``backfill`` resource's date range: it re-syncs
exactly the rows of a table with a cursor whose cursor falls in that range.
"""

import dagster as dg

from aura_platform.config.loader import load_sources
from aura_platform.defs.resources import BackfillWindow, WarehouseResource
from aura_platform.ingest.faults import is_permanent
from aura_platform.ingest.sync import SyncResult, TableSync, sync_table
from aura_platform.settings import mask_secrets
from aura_platform.sources.registry import transport

# Connection failures are retried with backoff and jitter (3 attempts in all); a sync is
# idempotent, so a retry is safe. Authentication errors are raised as non-retryable failures.
SOURCE_RETRY = dg.RetryPolicy(
    max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def raw_asset_key(source_name: str, table_name: str) -> dg.AssetKey:
    """``raw/<source>/<table>``: the key of a sources.yaml table's raw asset.

    The dbt translator keys each dbt source the same way, so a staging model's upstream is the
    raw asset that loads its table without the dbt YAML naming it.
    """
    return dg.AssetKey(["raw", source_name, table_name])


class SyncConfig(dg.Config):
    full_refresh: bool = False


def _materialize_result(result: SyncResult) -> dg.MaterializeResult:
    """Dagster metadata for one sync: counts, watermark and the raw table's schema."""
    o = result.outcome
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(result.row_count),
            "sync_mode": result.mode,
            # Integers, so that the asset's Plots tab charts them run after run.
            "records_processed": dg.MetadataValue.int(o.processed),
            "records_inserted": dg.MetadataValue.int(o.inserted),
            "records_updated": dg.MetadataValue.int(o.updated),
            "records_deleted": dg.MetadataValue.int(o.deleted),
            "records_quarantined": dg.MetadataValue.int(o.quarantined),
            "watermark_before": str(result.watermark_before or ""),
            "watermark_after": str(o.watermark_after or ""),
            "schema_changes": dg.MetadataValue.json(o.details.get("schema_changes", {})),
            "sync_job_id": result.job_id,
            "sync_batch_id": result.batch_id,
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(name, type_) for name, type_ in result.columns.items()]
            ),
        }
    )


def build_raw_asset(spec: TableSync) -> dg.AssetsDefinition:
    """The raw asset of one configured table."""
    source = spec.source

    @dg.asset(
        key=raw_asset_key(spec.source_name, spec.table_name),
        group_name=f"raw_{spec.source_name}",
        kinds={"postgres", transport(source).kind},
        owners=source.owners,
        description=(
            f"{spec.table.description or spec.table_name} Mirrored into raw.{spec.raw_table} "
            f"from {spec.source_name} ({source.transport}), upserted on "
            f"{', '.join(spec.table.primary_key)}"
            + (f", incremental on {spec.table.cursor}." if spec.table.cursor else ".")
        ),
        retry_policy=SOURCE_RETRY,
        pool=f"source_{spec.source_name}",
        tags={"aura/source": spec.source_name, "aura/transport": source.transport},
    )
    def _raw_asset(
        context: dg.AssetExecutionContext,
        config: SyncConfig,
        warehouse: WarehouseResource,
        backfill: BackfillWindow,
    ) -> dg.MaterializeResult:
        from aura_platform.sources.registry import open_source, source_secrets

        window = backfill.window()
        if window and spec.table.cursor is None:
            context.log.warning(f"raw.{spec.raw_table} has no cursor: synced whole, not backfilled")
            window = None
        settings = warehouse.settings()
        urls = source_secrets(source, settings)
        try:
            result = sync_table(
                spec,
                warehouse_url=warehouse.url(),
                source=open_source(spec.source_name, source, settings),
                mask_urls=urls,
                full_refresh=config.full_refresh,
                backfill=window,
                run_id=context.run.run_id,
            )
        except Exception as exc:
            # Re-raised masked and without its cause: libpq, pymongo and HTTP errors can echo a
            # DSN or password, and Dagster records an exception's whole chain in its event log.
            raise dg.Failure(
                description=mask_secrets(f"{type(exc).__name__}: {exc}", urls),
                allow_retries=not is_permanent(exc),
            ) from None
        o = result.outcome
        context.log.info(
            f"raw.{spec.raw_table} ({result.mode}): {o.processed} read, {o.inserted} inserted, "
            f"{o.updated} updated, {o.deleted} deleted, {o.quarantined} quarantined"
        )
        return _materialize_result(result)

    return _raw_asset


def build_landing_asset(spec: TableSync) -> dg.AssetsDefinition:
    """The CSV landing zone: every new file in the folder, loaded once, archived, quarantined."""

    @dg.asset(
        key=raw_asset_key(spec.source_name, spec.table_name),
        group_name=f"raw_{spec.source_name}",
        kinds={"postgres", transport(spec.source).kind},
        owners=spec.source.owners,
        description=(
            f"{spec.table.description} Files dropped in data/{spec.source.folder}/ are loaded "
            f"into raw.{spec.raw_table} once (by checksum), archived, and copied to Parquet."
        ),
        retry_policy=SOURCE_RETRY,
        tags={"aura/source": spec.source_name, "aura/transport": "csv_landing"},
    )
    def _landing_asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        from aura_platform.ingest.landing import load_landing_zone

        report = load_landing_zone(warehouse.settings(), warehouse.url(), context.run.run_id)
        quarantined = sum(f.rows_quarantined for f in report.loaded)
        context.log.info(
            f"{len(report.loaded)} files: {report.rows_read} rows read = {report.rows_loaded} "
            f"loaded + {quarantined} quarantined; {len(report.duplicates)} duplicate files"
        )
        return dg.MaterializeResult(
            metadata={
                "files_loaded": dg.MetadataValue.int(len(report.loaded)),
                "files_skipped_as_duplicates": dg.MetadataValue.int(len(report.duplicates)),
                "rows_read": dg.MetadataValue.int(report.rows_read),
                "rows_loaded": dg.MetadataValue.int(report.rows_loaded),
                "rows_quarantined": dg.MetadataValue.int(quarantined),
                "files": dg.MetadataValue.json(
                    [
                        {
                            "file": f.file_name,
                            "status": f.status,
                            "read": f.rows_read,
                            "loaded": f.rows_loaded,
                            "quarantined": f.rows_quarantined,
                        }
                        for f in report.loaded
                    ]
                ),
            }
        )

    return _landing_asset


def table_syncs() -> list[TableSync]:
    """Every configured table, in configuration order."""
    return [
        TableSync(source_name, source, table_name, table)
        for source_name, source in load_sources().sources.items()
        for table_name, table in source.tables.items()
    ]


raw_assets = [
    build_raw_asset(spec) if transport(spec.source).synced else build_landing_asset(spec)
    for spec in table_syncs()
]
