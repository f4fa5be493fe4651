"""Embedding assets, one per table in ``assets_config/embeddings.yaml``, into ``search``."""

import dagster as dg
from psycopg import sql

from aura_platform.config.loader import load_embeddings
from aura_platform.config.models import EmbeddingTableConfig
from aura_platform.defs.resources import WarehouseResource
from aura_platform.warehouse.connection import connect


def texts_query(table: EmbeddingTableConfig, text_type: str) -> sql.Composed:
    """SELECT id, text for one text type: the configured columns joined, NULLs skipped."""
    parts: list[sql.Composable] = [
        sql.SQL("nullif(trim({}::text), '')").format(sql.Identifier(c))
        for c in table.texts[text_type]  # type: ignore[index]
    ]
    return sql.SQL("select {id}::text, nullif(concat_ws(' | ', {cols}), '') from {src}").format(
        id=sql.Identifier(table.id_column),
        cols=sql.SQL(", ").join(parts),
        src=sql.Identifier(table.schema_name, table.table_name),
    )


def build_embedding_asset(name: str, table: EmbeddingTableConfig) -> dg.AssetsDefinition:
    """The asset that keeps ``search.embeddings`` in step with one core table."""

    @dg.asset(
        key=["search", name],
        deps=[dg.AssetKey([table.schema_name, table.table_name])],
        group_name="search",
        kinds={"pgvector", "python"},
        owners=["team:data-platform"],
        description=(
            f"{table.description} Incremental: only new or changed texts of {table.source} are "
            "embedded; embeddings of deleted rows are removed."
        ),
    )
    def _embedding_asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        from aura_platform.lib.embedding import load_embedder
        from aura_platform.lib.vector_store import ensure_hnsw_index, sync_embeddings

        settings = warehouse.settings()
        embedder = load_embedder(settings.embedding_model, batch_size=settings.embedding_batch_size)
        metadata: dict[str, object] = {
            "model": embedder.model_name,
            "dimensions": embedder.dimensions,
        }
        with connect(warehouse.url()) as conn:
            for text_type in table.texts:
                texts: dict[str, str | None] = dict(
                    conn.execute(texts_query(table, text_type)).fetchall()
                )
                stats = sync_embeddings(
                    conn,
                    source_table=table.source,
                    embedding_type=text_type,  # type: ignore[arg-type]
                    texts=texts,
                    embedder=embedder,
                )
                context.log.info(f"{table.source} {text_type}: {stats}")
                for field in ("embedded", "skipped", "removed", "empty"):
                    metadata[f"{text_type}_{field}"] = getattr(stats, field)
            metadata["hnsw_index"] = ensure_hnsw_index(
                conn, model=embedder.model_name, dimensions=embedder.dimensions
            )
            conn.commit()
        metadata["model_calls"] = embedder.calls
        return dg.MaterializeResult(metadata=metadata)  # type: ignore[arg-type]

    return _embedding_asset


embedding_assets = [build_embedding_asset(n, t) for n, t in load_embeddings().tables.items()]
