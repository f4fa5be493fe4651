"""Raw ingestion assets, one per table in ``assets_config/sources.yaml``; no per-table code."""

import dagster as dg

from aura_platform.config.loader import load_sources
from aura_platform.defs.resources import WarehouseResource
from aura_platform.lib.sync import SyncResult, TableSync, sync_table

# Connection failures are worth retrying with backoff; the sync is idempotent, so a retry is safe.
SOURCE_RETRY = dg.RetryPolicy(
    max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


class SyncConfig(dg.Config):
    full_refresh: bool = False


def _materialize_result(result: SyncResult) -> dg.MaterializeResult:
    """Dagster metadata for one sync: counts, watermark and the raw table's schema."""
    o = result.outcome
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(result.row_count),
            "records_processed": o.processed,
            "records_inserted": o.inserted,
            "records_updated": o.updated,
            "watermark_before": str(result.watermark_before) if result.watermark_before else "",
            "watermark_after": str(o.watermark_after) if o.watermark_after else "",
            "columns_added": ", ".join(result.columns_added),
            "sync_job_id": result.job_id,
            "sync_batch_id": result.batch_id,
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(name, type_) for name, type_ in result.columns.items()]
            ),
        }
    )


def build_raw_asset(spec: TableSync) -> dg.AssetsDefinition:
    """The raw asset of one configured table."""

    @dg.asset(
        key=["raw", spec.source_name, spec.table_name],
        group_name=f"raw_{spec.source_name}",
        kinds={"postgres", spec.source_name},
        owners=spec.source.owners,
        description=(
            f"{spec.table.description or spec.table_name} Mirrored into raw.{spec.raw_table} "
            f"from {spec.source_name} ({spec.source.transport}), upserted on "
            f"{', '.join(spec.table.primary_key)}."
        ),
        retry_policy=SOURCE_RETRY,
        tags={"aura/source": spec.source_name},
    )
    def _raw_asset(
        context: dg.AssetExecutionContext, config: SyncConfig, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        settings = warehouse.settings()
        result = sync_table(
            spec,
            warehouse_url=warehouse.url(),
            source_url=settings.source_url(spec.source.connection_env),
            full_refresh=config.full_refresh,
            run_id=context.run.run_id,
        )
        context.log.info(
            f"raw.{spec.raw_table}: {result.outcome.processed} read, "
            f"{result.outcome.inserted} inserted, {result.outcome.updated} updated"
        )
        return _materialize_result(result)

    return _raw_asset


def table_syncs() -> list[TableSync]:
    """Every configured table, in configuration order."""
    return [
        TableSync(source_name, source, table_name, table)
        for source_name, source in load_sources().sources.items()
        for table_name, table in source.tables.items()
    ]


raw_assets = [build_raw_asset(spec) for spec in table_syncs()]
